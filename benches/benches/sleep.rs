//! B1: one task doing `N` sequential one-second sleeps and nothing else, on looptime's
//! virtual clock over a current-thread tokio runtime, against tokio's own paused time.
//!
//! Each measured run builds a fresh runtime and times only its `block_on`. The two sides
//! alternate (looptime, tokio, looptime, …); the result is the median cost per sleep of
//! each side and their ratio.
//!
//! `cargo bench -p looptime-benches` measures; `LOOPTIME_BENCH_RUNS` (default 7) and
//! `LOOPTIME_BENCH_N` (default 100 000) override the run count and the sleeps per run.
//! Without `--bench` (e.g. under `cargo test --all-targets`) it makes one tiny run per side.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use looptime_api::{ClockExt, Proxy, ReactorExt, Settings};
use looptime_benches::{Config, Short, median, per_op, ratio};
use looptime_tokio::Tokio;

/// The length of every sleep.
const SLEEP: Duration = Duration::from_secs(1);

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("B1: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let config = Config::from_env()?;
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    if !config.measure {
        looptime_side(config.n)?;
        tokio_side(config.n)?;
        println!(
            "B1: smoke run of {} sleeps per side passed (run `cargo bench` to measure)",
            config.n
        );
        return Ok(());
    }

    println!(
        "B1: one task, {} sequential sleep(1s); {} runs per side; {cores} cores",
        config.n, config.runs
    );
    let mut looptime = Vec::new();
    let mut baseline = Vec::new();
    for run in 1..=config.runs {
        let ours = per_op(looptime_side(config.n)?, config.n);
        let theirs = per_op(tokio_side(config.n)?, config.n);
        println!(
            "run {run}: looptime {}/sleep, baseline {}/sleep",
            Short(ours),
            Short(theirs)
        );
        looptime.push(ours);
        baseline.push(theirs);
    }

    let ours = median(&looptime).ok_or("no runs")?;
    let theirs = median(&baseline).ok_or("no runs")?;
    println!(
        "B1 looptime={} baseline={} ratio={:.2}",
        Short(ours),
        Short(theirs),
        ratio(ours, theirs)
    );
    Ok(())
}

/// `n` sleeps through a [`Proxy`] on virtual time with default settings; returns the real
/// time its `block_on` took.
fn looptime_side(n: u32) -> Result<Duration, String> {
    let runtime = Tokio::current_thread().map_err(|e| format!("tokio runtime: {e}"))?;
    let proxy = Proxy::new(&runtime);
    let _virtual_time = proxy
        .setup_looptime(Settings::new())
        .map_err(|e| format!("setup_looptime: {e}"))?;

    let start = Instant::now();
    let outcome = proxy.block_on(async {
        for _ in 0..n {
            proxy.sleep(SLEEP).await;
        }
    });
    let elapsed = start.elapsed();

    outcome.map_err(|e| format!("looptime block_on: {e}"))?;
    assert_eq!(proxy.looptime(), SLEEP * n, "loop time after {n} sleeps");
    Ok(elapsed)
}

/// `n` `tokio::time::sleep`s on a current-thread runtime started paused; returns the real
/// time its `block_on` took.
fn tokio_side(n: u32) -> Result<Duration, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;

    let start = Instant::now();
    let advanced = runtime.block_on(async {
        let origin = tokio::time::Instant::now();
        for _ in 0..n {
            tokio::time::sleep(SLEEP).await;
        }
        origin.elapsed()
    });
    let elapsed = start.elapsed();

    assert!(
        advanced >= SLEEP * n,
        "tokio's paused clock advanced {advanced:?} over {n} sleeps"
    );
    Ok(elapsed)
}
