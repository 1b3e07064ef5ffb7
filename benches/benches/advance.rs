//! B3: the cost of one `Proxy::advance_time` call that passes exactly one timer, with `N`
//! far-future timers pending in the same proxy's queue, for `N` = 10³, 10⁴, 10⁵ and 10⁶.
//!
//! One side per `N`, each on a fresh current-thread [`Tokio`] runtime and a proxy on
//! virtual time (default settings). Inside the proxy's `block_on`, the root first makes
//! `N` sleeps with seeded random deadlines between 10⁶ s and 2·10⁶ s (whole
//! milliseconds) and polls each once with a no-op waker, so all `N` sit in the proxy's
//! timer queue. Then it makes `C` calls (default 2 000): each creates a one-second sleep
//! and polls it once (untimed), then times `advance_time(1s)`, which steps to that
//! sleep's deadline and fires it and nothing else (checked after the call). The figure
//! is the median over the runs of the mean cost of a call.
//!
//! There is no tokio side: the baseline of every line is the `N` = 10³ figure of the same
//! run set, so the summary lines are `B3/1000` (ratio 1.00), `B3/10000`, `B3/100000` and
//! `B3/1000000` (smoke runs use `N` = 1, 10, 100, 1000). Target: `B3/1000000` ratio ≤ 3
//! (O(log n) in the queue, SPEC R8).
//!
//! `LOOPTIME_BENCH_N` overrides `C`, `LOOPTIME_BENCH_RUNS` (default 7) the runs.

use std::pin::Pin;
use std::process::ExitCode;
use std::task::Poll;
use std::time::{Duration, Instant};

use looptime_api::{ClockExt, Proxy, ReactorExt, Settings, Sleep};
use looptime_benches::{
    Config, Filter, Short, SplitMix64, alternate, header, main_with, median, per_op, poll_once,
    summary, verdict,
};
use looptime_tokio::Tokio;

/// Pending timers, measured and in a smoke run.
const SIZES: ([u32; 4], [u32; 4]) = ([1_000, 10_000, 100_000, 1_000_000], [1, 10, 100, 1_000]);

/// `advance_time` calls per run, measured and in a smoke run.
const CALLS: (u32, u32) = (2_000, 20);

/// The shift of each call, and the distance to the one timer it passes.
const STEP: Duration = Duration::from_secs(1);

/// Target: the largest queue's per-call cost over the smallest's.
const TARGET: f64 = 3.0;

fn main() -> ExitCode {
    main_with("advance", run)
}

fn run(config: &Config, filter: &Filter) -> Result<(), String> {
    let sizes = if config.measure { SIZES.0 } else { SIZES.1 };
    let ids = sizes.map(|n| format!("B3/{n}"));
    if !ids.iter().any(|id| filter.matches(id)) {
        return Ok(());
    }
    let calls = config.size(CALLS.0, CALLS.1);
    println!(
        "{}",
        header(
            config,
            "B3",
            &format!(
                "advance_time past one timer with N pending, N in {sizes:?}; {calls} calls per run"
            )
        )
    );
    let [s0, s1, s2, s3] = sizes;
    let results = alternate(
        config,
        [
            &mut || side(s0, calls),
            &mut || side(s1, calls),
            &mut || side(s2, calls),
            &mut || side(s3, calls),
        ],
        |run, row| {
            let costs: Vec<String> = sizes
                .iter()
                .zip(row)
                .map(|(n, cost)| format!("N={n} {}", Short(*cost)))
                .collect();
            println!("run {run}: per call {}", costs.join(", "));
        },
    )?;
    let medians = results
        .iter()
        .map(|column| median(column).ok_or("no runs"))
        .collect::<Result<Vec<_>, _>>()?;
    let base = medians[0];
    let last = ids.len() - 1;
    println!("{}", verdict(&ids[last], medians[last], base, TARGET));
    for (id, cost) in ids.iter().zip(&medians) {
        println!("{}", summary(id, *cost, base));
    }
    Ok(())
}

/// `calls` timed `advance_time` calls with `n` far timers pending; returns the cost per
/// call.
fn side(n: u32, calls: u32) -> Result<Duration, String> {
    let runtime = Tokio::current_thread().map_err(|e| format!("tokio runtime: {e}"))?;
    let proxy = Proxy::new(&runtime);
    let _virtual_time = proxy
        .setup_looptime(Settings::new())
        .map_err(|e| format!("setup_looptime: {e}"))?;
    let far = SplitMix64::new(SplitMix64::SEED).durations(
        n,
        Duration::from_millis(1),
        1_000_000_000,
        2_000_000_000,
    );

    let outcome = proxy.block_on(async {
        let mut pending: Vec<Sleep> = Vec::with_capacity(far.len());
        for &delay in &far {
            let mut sleep = proxy.sleep(delay);
            if poll_once(Pin::new(&mut sleep)).is_ready() {
                return Err("a far timer fired at once".to_owned());
            }
            pending.push(sleep);
        }

        let mut spent = Duration::ZERO;
        for call in 0..calls {
            let mut near = proxy.sleep(STEP);
            if poll_once(Pin::new(&mut near)).is_ready() {
                return Err(format!("call {call}: the near timer fired at once"));
            }
            let start = Instant::now();
            proxy
                .advance_time(STEP)
                .await
                .map_err(|e| format!("advance_time: {e}"))?;
            spent += start.elapsed();
            if poll_once(Pin::new(&mut near)) != Poll::Ready(()) {
                return Err(format!("call {call}: the near timer did not fire"));
            }
        }
        if let Some(fired) = pending
            .iter_mut()
            .position(|sleep| poll_once(Pin::new(sleep)).is_ready())
        {
            return Err(format!("far timer {fired} fired"));
        }
        Ok(spent)
    });
    let spent = outcome.map_err(|e| format!("looptime block_on: {e}"))??;
    assert_eq!(
        proxy.looptime(),
        STEP * calls,
        "loop time after {calls} calls"
    );
    Ok(per_op(spent, calls))
}
