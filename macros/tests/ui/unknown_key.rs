#[looptime_tokio::test(ends = "10s")]
async fn misspelt_end() {}

#[looptime_smol::test(multi_thread)]
async fn not_a_key_value_pair() {}

fn main() {}
