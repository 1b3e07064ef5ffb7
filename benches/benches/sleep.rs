//! B1 and B1u: one task doing `N` sequential one-second sleeps (`N` = 100 000 for B1 and
//! 20 000 for B1u; the figures are per sleep), on looptime's virtual clock (default
//! [`Settings`], so `noop_cycles = 42`) over a current-thread tokio runtime with all
//! drivers ([`Tokio::current_thread`]), against tokio's own paused time (`start_paused`,
//! `enable_all`, current thread).
//!
//! - **`B1`**: nothing else is alive on the runtime, so the driver may skip all but one of
//!   its scheduler passes before each jump (SPEC R9, `passes_needed` in
//!   `looptime-api/src/engine/quiescence.rs`). Target ratio ≤ 0.5.
//! - **`B1u`**: the same with one idle task spawned directly on the tokio runtime,
//!   outside the proxy (it awaits a future that never completes). The runtime then
//!   reports more work alive than the scope owns, so no pass may be skipped: every jump
//!   costs the full 42 passes. The baseline is tokio's paused time with the same idle
//!   task. No target.
//!
//!   The cost of one pass is measured directly, as
//!   `(B1u − B1u at noop_cycles = 1) / 41`: two looptime sides that differ only in how
//!   many passes each jump makes (42 or 1), with the idle task in both. For reference the
//!   benchmark also prints the pass cost derived from B1 (`(B1u − B1) / 41`, which also
//!   includes what B1's skipping saves beyond the passes) and the cost of one bare
//!   `tokio::task::yield_now` on the same kind of runtime (what a pass is made of).
//!
//! Each measured run builds a fresh runtime and times only its `block_on`. The sides
//! alternate (see [`alternate`]); the figures are the median cost per sleep of each side
//! and their ratio.
//!
//! `cargo bench -p looptime-benches -- B1` measures both (`-- --exact B1` only B1);
//! `LOOPTIME_BENCH_RUNS` (default 7) and `LOOPTIME_BENCH_N` (default 100 000 for B1,
//! 20 000 for B1u, whose sleeps cost 42 passes each) override the run count and the
//! sleeps per run. Without `--bench` (e.g. under `cargo test --all-targets`) it makes one
//! tiny run per side.

use std::future::pending;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use looptime_api::{ClockExt, Proxy, ReactorExt, Settings};
use looptime_benches::{
    Config, Filter, Short, alternate, header, main_with, median, per_op, summary, verdict,
};
use looptime_tokio::Tokio;

/// The length of every sleep.
const SLEEP: Duration = Duration::from_secs(1);

/// B1's sleeps per run, measured and in a smoke run.
const B1_N: (u32, u32) = (100_000, 100);

/// B1u's sleeps per run, measured and in a smoke run: fewer, as each costs 42 passes.
const B1U_N: (u32, u32) = (20_000, 100);

/// B1's target: looptime at most half of tokio's cost.
const B1_TARGET: f64 = 0.5;

fn main() -> ExitCode {
    main_with("sleep", run)
}

fn run(config: &Config, filter: &Filter) -> Result<(), String> {
    let b1 = if filter.matches("B1") {
        Some(b1(config, config.size(B1_N.0, B1_N.1))?)
    } else {
        None
    };
    if filter.matches("B1u") {
        b1u(config, config.size(B1U_N.0, B1U_N.1), b1)?;
    }
    Ok(())
}

/// B1; returns looptime's median cost per sleep.
fn b1(config: &Config, n: u32) -> Result<Duration, String> {
    println!(
        "{}",
        header(
            config,
            "B1",
            &format!("one task, {n} sequential sleep(1s), nothing else alive")
        )
    );
    let [looptime, baseline] = alternate(
        config,
        [
            &mut || looptime_side(n, Settings::new(), false),
            &mut || tokio_side(n, false),
        ],
        |run, [ours, theirs]| {
            println!(
                "run {run}: looptime {}/sleep, baseline {}/sleep",
                Short(*ours),
                Short(*theirs)
            );
        },
    )?;
    let ours = median(&looptime).ok_or("no runs")?;
    let theirs = median(&baseline).ok_or("no runs")?;
    println!("{}", verdict("B1", ours, theirs, B1_TARGET));
    println!("{}", summary("B1", ours, theirs));
    Ok(ours)
}

/// B1u; `b1` is B1's looptime figure when B1 ran too.
fn b1u(config: &Config, n: u32, b1: Option<Duration>) -> Result<(), String> {
    println!(
        "{}",
        header(
            config,
            "B1u",
            &format!("one task, {n} sequential sleep(1s), one idle task outside the proxy")
        )
    );
    let one_pass = Settings::new().noop_cycles(1);
    let [looptime, baseline, looptime_one_pass, tokio_yield] = alternate(
        config,
        [
            &mut || looptime_side(n, Settings::new(), true),
            &mut || tokio_side(n, true),
            &mut || looptime_side(n, one_pass.clone(), true),
            &mut || tokio_yields(n),
        ],
        |run, [ours, theirs, one, yields]| {
            println!(
                "run {run}: looptime {}/sleep, baseline {}/sleep, \
                 looptime with noop_cycles=1 {}/sleep, tokio yield_now {}/yield",
                Short(*ours),
                Short(*theirs),
                Short(*one),
                Short(*yields)
            );
        },
    )?;
    let ours = median(&looptime).ok_or("no runs")?;
    let theirs = median(&baseline).ok_or("no runs")?;
    let one = median(&looptime_one_pass).ok_or("no runs")?;
    let yields = median(&tokio_yield).ok_or("no runs")?;
    let passes = Settings::new().noop_cycles - 1;
    println!(
        "B1u: cost per pass {} = (B1u {} - B1u at noop_cycles=1 {}) / {passes}; \
         a bare tokio yield_now costs {}",
        Short(ours.saturating_sub(one) / passes),
        Short(ours),
        Short(one),
        Short(yields)
    );
    if let Some(b1) = b1 {
        println!(
            "B1u: (B1u - B1) / {passes} = {} per pass",
            Short(ours.saturating_sub(b1) / passes)
        );
    }
    println!("B1u: no target");
    println!("{}", summary("B1u", ours, theirs));
    Ok(())
}

/// `n` sleeps through a [`Proxy`] on virtual time with `settings`, with an idle task
/// spawned directly on the runtime if `idle`; returns the cost per sleep (the real time
/// its `block_on` took, divided by `n`).
fn looptime_side(n: u32, settings: Settings, idle: bool) -> Result<Duration, String> {
    let runtime = Tokio::current_thread().map_err(|e| format!("tokio runtime: {e}"))?;
    if idle {
        drop(runtime.handle().spawn(pending::<()>()));
    }
    let proxy = Proxy::new(&runtime);
    let _virtual_time = proxy
        .setup_looptime(settings)
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
    Ok(per_op(elapsed, n))
}

/// A current-thread tokio runtime with all drivers and paused time, as `#[tokio::test]`
/// with `start_paused = true` builds it; with an idle task on it if `idle`.
fn paused_runtime(idle: bool) -> Result<tokio::runtime::Runtime, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    if idle {
        drop(runtime.spawn(pending::<()>()));
    }
    Ok(runtime)
}

/// `n` `tokio::time::sleep`s on a paused runtime (with an idle task if `idle`); returns
/// the cost per sleep.
fn tokio_side(n: u32, idle: bool) -> Result<Duration, String> {
    let runtime = paused_runtime(idle)?;
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
    Ok(per_op(elapsed, n))
}

/// `n` `tokio::task::yield_now`s on a paused runtime with an idle task: the cost of one
/// bare scheduler pass, which each of the driver's passes is made of.
fn tokio_yields(n: u32) -> Result<Duration, String> {
    let runtime = paused_runtime(true)?;
    let start = Instant::now();
    runtime.block_on(async {
        for _ in 0..n {
            tokio::task::yield_now().await;
        }
    });
    Ok(per_op(start.elapsed(), n))
}
