//! B6: B1 (one task, sequential `sleep(1s)`s through a [`Proxy`] on virtual time with
//! default settings, `noop_cycles = 42`) on the other bundled backends, against the tokio
//! adapter's B1 figure measured in the same run.
//!
//! | ID | runtime | sleeps per run | `alive_tasks` |
//! |---|---|---|---|
//! | baseline | [`Tokio::current_thread`] | 100 000 | `Some`: passes skipped |
//! | `B6smol` | [`Smol::new`] (its own executor, on the `block_on` thread) | 100 000 | `Some`: passes skipped |
//! | `B6async-std` | [`AsyncStd`] (the global runtime) | 2 000 | `None`: 42 passes per jump |
//! | `B6futures` | [`Futures::new`] (a 2-thread pool; the root on the `block_on` thread) | 20 000 | `Some`: passes skipped |
//!
//! Target ratio ≤ 1.5 where the runtime can report that nothing outside the scope is
//! alive (`Reactor::alive_tasks` returns `Some`, checked and printed at run time). async-std's
//! executor is global to the process, so its adapter cannot count the work on it
//! (`None`): every jump makes the full 42 passes, each a round trip through its worker
//! threads, and its figure is reported without a target. async-std and futures run fewer
//! sleeps per run, as each costs far more (a pass there is a round trip through worker
//! threads); the figures are per sleep.
//!
//! Each measured run builds a fresh runtime (async-std's is global and reused) and times
//! only the `block_on`; the four sides alternate (see [`alternate`]). `LOOPTIME_BENCH_N`
//! overrides the sleeps per run of every side, `LOOPTIME_BENCH_RUNS` (default 7) the
//! runs. Without `--bench` it makes one tiny run per side.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use looptime_api::{ClockExt, Proxy, Reactor, ReactorExt, Runtime, Settings};
use looptime_async_std::AsyncStd;
use looptime_benches::{
    Config, Filter, Short, alternate, header, main_with, median, per_op, summary, verdict,
};
use looptime_futures_timer::Futures;
use looptime_smol::Smol;
use looptime_tokio::Tokio;

/// The length of every sleep.
const SLEEP: Duration = Duration::from_secs(1);

/// Sleeps per run, measured and in a smoke run, on runtimes that skip passes.
const N: (u32, u32) = (100_000, 100);

/// Sleeps per run, measured and in a smoke run, on async-std (42 passes per sleep).
const N_ASYNC_STD: (u32, u32) = (2_000, 20);

/// Sleeps per run, measured and in a smoke run, on the futures executor.
const N_FUTURES: (u32, u32) = (20_000, 100);

/// The target ratio where `alive_tasks` is known.
const TARGET: f64 = 1.5;

fn main() -> ExitCode {
    main_with("backends", run)
}

fn run(config: &Config, filter: &Filter) -> Result<(), String> {
    let ids = ["B6smol", "B6async-std", "B6futures"];
    if !ids.iter().any(|id| filter.matches(id)) {
        return Ok(());
    }
    let n = config.size(N.0, N.1);
    let n_async_std = config.size(N_ASYNC_STD.0, N_ASYNC_STD.1);
    let n_futures = config.size(N_FUTURES.0, N_FUTURES.1);
    println!(
        "{}",
        header(
            config,
            "B6",
            &format!(
                "B1 on other backends: {n} sequential sleep(1s) ({n_async_std} on async-std, \
                 {n_futures} on futures), baseline the tokio adapter's B1"
            )
        )
    );

    let futures = Futures::new().map_err(|e| format!("futures runtime: {e}"))?;
    let counts = [
        ("B6smol", Smol::new().alive_tasks().is_some()),
        ("B6async-std", AsyncStd::new().alive_tasks().is_some()),
        ("B6futures", futures.alive_tasks().is_some()),
    ];
    drop(futures);
    for (id, known) in counts {
        if known {
            println!("{id}: alive_tasks is Some: passes that cannot matter are skipped");
        } else {
            println!(
                "{id}: alive_tasks is None: the runtime cannot tell that nothing outside \
                 the scope is alive, so every jump makes all 42 passes"
            );
        }
    }

    let [tokio, smol, async_std, futures] = alternate(
        config,
        [
            &mut || {
                let runtime = Tokio::current_thread().map_err(|e| format!("tokio: {e}"))?;
                b1_on(&runtime, n)
            },
            &mut || b1_on(&Smol::new(), n),
            &mut || b1_on(&AsyncStd::new(), n_async_std),
            &mut || {
                let runtime = Futures::new().map_err(|e| format!("futures: {e}"))?;
                b1_on(&runtime, n_futures)
            },
        ],
        |run, [tokio, smol, async_std, futures]| {
            println!(
                "run {run}: tokio {}/sleep, smol {}/sleep, async-std {}/sleep, futures {}/sleep",
                Short(*tokio),
                Short(*smol),
                Short(*async_std),
                Short(*futures)
            );
        },
    )?;
    let baseline = median(&tokio).ok_or("no runs")?;
    let figures = [
        ("B6smol", median(&smol).ok_or("no runs")?),
        ("B6async-std", median(&async_std).ok_or("no runs")?),
        ("B6futures", median(&futures).ok_or("no runs")?),
    ];
    for ((id, figure), (_, known)) in figures.iter().zip(counts) {
        if !filter.matches(id) {
            continue;
        }
        if known {
            println!("{}", verdict(id, *figure, baseline, TARGET));
        } else {
            println!("{id}: no target (alive_tasks is None)");
        }
    }
    for (id, figure) in figures {
        if filter.matches(id) {
            println!("{}", summary(id, figure, baseline));
        }
    }
    Ok(())
}

/// `n` sleeps through a proxy on virtual time (default settings) over `runtime`; returns
/// the cost per sleep (the real time of its `block_on`, divided by `n`).
fn b1_on<R: Runtime + Clone + 'static>(runtime: &R, n: u32) -> Result<Duration, String> {
    let proxy = Proxy::new(runtime);
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

    outcome.map_err(|e| format!("block_on: {e}"))?;
    assert_eq!(proxy.looptime(), SLEEP * n, "loop time after {n} sleeps");
    Ok(per_op(elapsed, n))
}
