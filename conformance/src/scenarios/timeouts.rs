//! R1, R10: fallible waits (`timeout`, `timeout_at`), preliminary execution, intervals and
//! the wall clock on virtual time.

use looptime_api::{Chronometer, Clock, ClockExt, ReactorExt, Settings, SpawnerExt};

use crate::support::{ensure, ensure_eq, ms, real_below, secs, virtual_proxy};
use crate::{Backend, Ctx, Failure, Outcome, Report};

/// R1: `timeout(10s, sleep(1s))` is `Ok` at loop time 1 s, in under 10 ms real.
pub fn timeout_completes_first<B: Backend>(ctx: &Ctx) -> Outcome {
    let (proxy, _on) = virtual_proxy::<B>(Settings::new())?;
    let chrono = Chronometer::started();
    let result = proxy.block_on(proxy.timeout(secs(10), proxy.sleep(secs(1))))?;
    let real = chrono.elapsed();
    ensure!(
        result.is_ok(),
        "timeout(10s, sleep(1s)): expected Ok, got {result:?}"
    );
    ensure_eq!(proxy.looptime(), secs(1), "loop time");
    real_below(ctx, real, ms(10), "timeout(10s, sleep(1s))")?;
    Ok(Report::new(proxy.looptime(), real))
}

/// R1, R14: `timeout(1s, sleep(10s))` is a deadline error at loop time 1 s, in under
/// 10 ms real, whose message says the time was virtual.
pub fn timeout_elapses_first<B: Backend>(ctx: &Ctx) -> Outcome {
    let (proxy, _on) = virtual_proxy::<B>(Settings::new())?;
    let chrono = Chronometer::started();
    let result = proxy.block_on(proxy.timeout(secs(1), proxy.sleep(secs(10))))?;
    let real = chrono.elapsed();
    let Err(error) = result else {
        return Err(Failure::new(
            "timeout(1s, sleep(10s)): expected a deadline error, got Ok",
        ));
    };
    ensure!(
        error.is_deadline(),
        "expected a deadline error, got {error}"
    );
    ensure!(
        error.to_string().contains("virtual"),
        "the message names virtual time: {error}"
    );
    ensure_eq!(proxy.looptime(), secs(1), "loop time");
    real_below(ctx, real, ms(10), "timeout(1s, sleep(10s))")?;
    Ok(Report::new(proxy.looptime(), real))
}

/// R1: `timeout_at` takes an absolute deadline.
pub fn timeout_at_is_absolute<B: Backend>(_: &Ctx) -> Outcome {
    let (proxy, _on) = virtual_proxy::<B>(Settings::new())?;
    let chrono = Chronometer::started();
    let result = proxy.block_on(async {
        proxy.sleep(secs(2)).await;
        let deadline = proxy.now() + secs(5);
        proxy.sleep(secs(1)).await;
        proxy.timeout_at(deadline, proxy.sleep(secs(10))).await
    })?;
    ensure!(result.is_err_and(|e| e.is_deadline()), "timeout_at elapsed");
    ensure_eq!(
        proxy.looptime(),
        secs(7),
        "loop time (2 s + the absolute 5 s)"
    );
    Ok(Report::new(proxy.looptime(), chrono.elapsed()))
}

/// R10: `timeout(9s, …)` around a `sleep(1s)` in a task not yet polled succeeds at 1 s.
pub fn preliminary_execution<B: Backend>(_: &Ctx) -> Outcome {
    let (proxy, _on) = virtual_proxy::<B>(Settings::new())?;
    let chrono = Chronometer::started();
    let result = proxy.block_on(async {
        let clock = proxy.clone();
        let task = proxy.spawn(async move {
            clock.sleep(secs(1)).await;
            42
        });
        proxy.timeout(secs(9), task).await
    })?;
    ensure!(
        matches!(result, Ok(Ok(42))),
        "timeout(9s, spawn(sleep(1s))): expected Ok(Ok(42)), got {result:?}"
    );
    ensure_eq!(proxy.looptime(), secs(1), "loop time");
    Ok(Report::new(proxy.looptime(), chrono.elapsed()))
}

/// R1: an interval ticks at start, start + period, … exactly; the first tick is immediate.
pub fn interval_ticks_on_schedule<B: Backend>(_: &Ctx) -> Outcome {
    let (proxy, _on) = virtual_proxy::<B>(Settings::new())?;
    let chrono = Chronometer::started();
    let ticks = proxy.block_on(async {
        let mut every = proxy.interval(secs(5));
        let mut ticks = Vec::new();
        for _ in 0..4 {
            ticks.push(every.tick().await.since_origin());
        }
        ticks
    })?;
    ensure_eq!(
        ticks,
        vec![secs(0), secs(5), secs(10), secs(15)],
        "tick instants"
    );
    ensure_eq!(proxy.looptime(), secs(15), "loop time");
    Ok(Report::new(proxy.looptime(), chrono.elapsed()))
}

/// R1: the wall clock moves with loop time, exactly.
pub fn wall_clock_moves_with_loop_time<B: Backend>(_: &Ctx) -> Outcome {
    let (proxy, _on) = virtual_proxy::<B>(Settings::new())?;
    let chrono = Chronometer::started();
    let before = proxy.system_time();
    proxy.block_on(proxy.sleep(secs(3600)))?;
    let moved = proxy.system_time().duration_since(before);
    ensure_eq!(moved.ok(), Some(secs(3600)), "wall-clock time moved");
    Ok(Report::new(proxy.looptime(), chrono.elapsed()))
}
