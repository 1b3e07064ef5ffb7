use looptime_api::testing::TestHandle;

#[looptime_tokio::test]
fn not_async() {}

#[looptime_smol::test]
async fn two_arguments(lt: TestHandle, extra: u32) {
    let _ = (lt, extra);
}

#[looptime_tokio::test]
async fn generic<T>() {}

#[looptime_tokio::test]
#[test]
async fn a_second_test_attribute() {}

fn main() {}
