#[looptime_tokio::test(
    start = "1m",
    end = "1h 30m",
    resolution = "1ms",
    noop_cycles = 7,
    idle_step = "10ms",
    idle_timeout = "none",
    io_patience = "250µs",
    check = "TASKS | TRANSPORTS",
    leaks = "warn",
    flavor = "multi_thread",
    worker_threads = 2,
)]
async fn every_argument(lt: looptime_api::testing::TestHandle) {
    let _ = lt.looptime();
}

#[looptime_smol::test(check = "NONE", idle_timeout = "1.5s", io_patience = "none")]
async fn smol_arguments() {}

fn main() {}
