#[looptime_smol::test(flavor = "multi_thread")]
async fn flavor_on_smol() {}

#[looptime_tokio::test(worker_threads = 2)]
async fn workers_without_multi_thread() {}

#[looptime_tokio::test(flavor = "many_threads")]
async fn unknown_flavor() {}

fn main() {}
