#[looptime_tokio::test(end = "10 parsecs")]
async fn unknown_unit() {}

#[looptime_tokio::test(idle_step = "10")]
async fn no_unit() {}

#[looptime_tokio::test(start = 10)]
async fn not_a_string() {}

#[looptime_tokio::test(resolution = "0.5ns")]
async fn finer_than_a_nanosecond() {}

fn main() {}
