//! B2 and B5: many tasks through a [`Proxy`] against the same on tokio directly, both on a
//! current-thread tokio runtime with all drivers.
//!
//! - **`B2`**: 10 000 tasks, each sleeping a seeded random duration between 1 ms and
//!   1000 s (whole microseconds, [`SplitMix64`] with a fixed seed, the same list on both
//!   sides); the root spawns them all, then joins them all in spawn order. looptime spawns
//!   with `proxy.spawn` inside `proxy.block_on` on virtual time (default settings); the
//!   baseline uses `tokio::spawn` and `tokio::time::sleep` under `start_paused`. Figures
//!   are per task. Target ratio ≤ 1.0.
//! - **`B5`**: 100 000 trivial tasks (`async { 1 }`), each spawned and awaited before the
//!   next (the same sequential pattern on both sides). looptime's side spawns through a
//!   `Proxy` **without** `setup_looptime`: the proxy's own cost (tracking layer, registry,
//!   join slot) on parent time, which is what a proxy adds to every spawn whether or not
//!   its time is virtual. The baseline is `tokio::spawn` on the same kind of runtime
//!   (current thread, all drivers, not paused). Figures are per spawn + join. Target
//!   ratio ≤ 1.3. A third side, the same through a proxy on virtual time, is printed as
//!   a note for reference (while tasks keep the scope busy the driver makes no passes,
//!   so it should cost about the same).
//!
//! Each measured run builds a fresh runtime and times only its `block_on`; the sides
//! alternate (see [`alternate`]). `LOOPTIME_BENCH_N` overrides the number of tasks (of
//! both benchmarks), `LOOPTIME_BENCH_RUNS` (default 7) the runs. Without `--bench` it
//! makes one tiny run per side.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use looptime_api::{ClockExt, Proxy, ReactorExt, Settings, SpawnerExt};
use looptime_benches::{
    Config, Filter, Short, SplitMix64, alternate, header, main_with, median, per_op, ratio,
    summary, verdict,
};
use looptime_tokio::Tokio;

/// B2's tasks per run when measuring, and in a smoke run.
const B2_N: (u32, u32) = (10_000, 100);

/// B5's spawns per run when measuring, and in a smoke run.
const B5_N: (u32, u32) = (100_000, 100);

fn main() -> ExitCode {
    main_with("tasks", run)
}

fn run(config: &Config, filter: &Filter) -> Result<(), String> {
    if filter.matches("B2") {
        b2(config)?;
    }
    if filter.matches("B5") {
        b5(config)?;
    }
    Ok(())
}

fn b2(config: &Config) -> Result<(), String> {
    let n = config.size(B2_N.0, B2_N.1);
    println!(
        "{}",
        header(
            config,
            "B2",
            &format!("{n} tasks with seeded random sleeps of 1ms..=1000s, spawn all then join all")
        )
    );
    let delays = SplitMix64::new(SplitMix64::SEED).durations(
        n,
        Duration::from_micros(1),
        1_000,
        1_000_000_000,
    );
    let longest = delays.iter().copied().max().unwrap_or_default();
    let [looptime, baseline] = alternate(
        config,
        [&mut || b2_looptime(&delays, longest), &mut || {
            b2_tokio(&delays, longest)
        }],
        |run, [ours, theirs]| {
            println!(
                "run {run}: looptime {}/task, baseline {}/task",
                Short(*ours),
                Short(*theirs)
            );
        },
    )?;
    let ours = median(&looptime).ok_or("no runs")?;
    let theirs = median(&baseline).ok_or("no runs")?;
    println!("{}", verdict("B2", ours, theirs, 1.0));
    println!("{}", summary("B2", ours, theirs));
    Ok(())
}

/// B2 on looptime; returns the cost per task.
fn b2_looptime(delays: &[Duration], longest: Duration) -> Result<Duration, String> {
    let runtime = Tokio::current_thread().map_err(|e| format!("tokio runtime: {e}"))?;
    let proxy = Proxy::new(&runtime);
    let _virtual_time = proxy
        .setup_looptime(Settings::new())
        .map_err(|e| format!("setup_looptime: {e}"))?;

    let start = Instant::now();
    let outcome = proxy.block_on(async {
        let tasks: Vec<_> = delays
            .iter()
            .map(|&delay| {
                let clock = proxy.clone();
                proxy.spawn(async move { clock.sleep(delay).await })
            })
            .collect();
        for task in tasks {
            task.await.map_err(|e| format!("a task failed: {e}"))?;
        }
        Ok::<_, String>(())
    });
    let elapsed = start.elapsed();

    outcome.map_err(|e| format!("looptime block_on: {e}"))??;
    assert_eq!(
        proxy.looptime(),
        longest,
        "loop time after the longest sleep"
    );
    Ok(per_op(elapsed, count(delays)))
}

/// B2 on tokio's paused time; returns the cost per task.
fn b2_tokio(delays: &[Duration], longest: Duration) -> Result<Duration, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;

    let start = Instant::now();
    let advanced = runtime.block_on(async {
        let origin = tokio::time::Instant::now();
        let tasks: Vec<_> = delays
            .iter()
            .map(|&delay| tokio::spawn(tokio::time::sleep(delay)))
            .collect();
        for task in tasks {
            task.await.map_err(|e| format!("a task failed: {e}"))?;
        }
        Ok::<_, String>(origin.elapsed())
    })?;
    let elapsed = start.elapsed();

    assert!(
        advanced >= longest,
        "tokio's paused clock advanced {advanced:?}, less than the longest sleep {longest:?}"
    );
    Ok(per_op(elapsed, count(delays)))
}

fn b5(config: &Config) -> Result<(), String> {
    let n = config.size(B5_N.0, B5_N.1);
    println!(
        "{}",
        header(
            config,
            "B5",
            &format!("{n} sequential spawn + join of `async {{ 1 }}`, proxy on parent time")
        )
    );
    let [looptime, baseline, on_virtual_time] = alternate(
        config,
        [&mut || b5_proxy(n, false), &mut || b5_tokio(n), &mut || {
            b5_proxy(n, true)
        }],
        |run, [ours, theirs, virtual_time]| {
            println!(
                "run {run}: proxy {}/spawn, tokio {}/spawn, proxy on virtual time {}/spawn",
                Short(*ours),
                Short(*theirs),
                Short(*virtual_time)
            );
        },
    )?;
    let ours = median(&looptime).ok_or("no runs")?;
    let theirs = median(&baseline).ok_or("no runs")?;
    let virtual_time = median(&on_virtual_time).ok_or("no runs")?;
    println!(
        "B5: through a proxy on virtual time: {}/spawn (ratio {:.2} to tokio)",
        Short(virtual_time),
        ratio(virtual_time, theirs)
    );
    println!("{}", verdict("B5", ours, theirs, 1.3));
    println!("{}", summary("B5", ours, theirs));
    Ok(())
}

/// B5 through a proxy (on virtual time if `virtual_time`); returns the cost per spawn.
fn b5_proxy(n: u32, virtual_time: bool) -> Result<Duration, String> {
    let runtime = Tokio::current_thread().map_err(|e| format!("tokio runtime: {e}"))?;
    let proxy = Proxy::new(&runtime);
    let _virtual_time = if virtual_time {
        let guard = proxy
            .setup_looptime(Settings::new())
            .map_err(|e| format!("setup_looptime: {e}"))?;
        Some(guard)
    } else {
        None
    };

    let start = Instant::now();
    let outcome = proxy.block_on(async {
        let mut sum = 0u32;
        for _ in 0..n {
            sum += proxy
                .spawn(async { 1 })
                .await
                .map_err(|e| format!("a task failed: {e}"))?;
        }
        Ok::<_, String>(sum)
    });
    let elapsed = start.elapsed();

    let sum = outcome.map_err(|e| format!("looptime block_on: {e}"))??;
    assert_eq!(sum, n, "every task ran once");
    Ok(per_op(elapsed, n))
}

/// B5 with `tokio::spawn` on a current-thread runtime with all drivers (not paused, as
/// [`Tokio::current_thread`] builds it); returns the cost per spawn.
fn b5_tokio(n: u32) -> Result<Duration, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;

    let start = Instant::now();
    let sum = runtime.block_on(async {
        let mut sum = 0u32;
        for _ in 0..n {
            sum += tokio::spawn(async { 1 })
                .await
                .map_err(|e| format!("a task failed: {e}"))?;
        }
        Ok::<_, String>(sum)
    })?;
    let elapsed = start.elapsed();

    assert_eq!(sum, n, "every task ran once");
    Ok(per_op(elapsed, n))
}

/// The length of `items` as a `u32` (the sizes here come from a `u32`).
fn count<T>(items: &[T]) -> u32 {
    u32::try_from(items.len()).unwrap_or(u32::MAX)
}
