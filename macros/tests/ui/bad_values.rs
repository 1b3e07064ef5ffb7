#[looptime_tokio::test(resolution = "0s")]
async fn zero_resolution() {}

#[looptime_tokio::test(start = "10s", end = "5s")]
async fn end_before_start() {}

#[looptime_tokio::test(noop_cycles = "1")]
async fn noop_cycles_as_a_string() {}

#[looptime_tokio::test(check = "TASKS | THREADS")]
async fn unknown_check_kind() {}

#[looptime_tokio::test(leaks = "ignore")]
async fn unknown_leak_policy() {}

#[looptime_tokio::test(end = "1s", end = "2s")]
async fn given_twice() {}

fn main() {}
