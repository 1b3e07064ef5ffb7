//! R13, R14 end of time: at `end`, fallible waits fail, blocked tasks are cancelled, and
//! every later wait needing time fails at once.

use std::future::pending;
use std::time::Duration;

use looptime_api::{Chronometer, ClockExt, Reactor, ReactorExt, Settings, SpawnerExt, TimeError};

use crate::support::{
    channel, ensure, ensure_eq, ms, real_at_least, real_below, secs, thread_cpu_time, virtual_proxy,
};
use crate::{Backend, Ctx, Failure, Outcome, Report};

/// R13: `end = 1s` and `sleep(10s)`: the run fails with the end of time at loop time 1 s,
/// in under 10 ms real.
pub fn end_stops_a_long_sleep<B: Backend>(ctx: &Ctx) -> Outcome {
    let (proxy, _on) = virtual_proxy::<B>(Settings::new().end(secs(1)))?;
    let chrono = Chronometer::started();
    let result = proxy.block_on(proxy.sleep(secs(10)));
    let real = chrono.elapsed();
    ensure!(
        result.as_ref().is_err_and(TimeError::is_end_of_time),
        "the run returns the end of time: {result:?}"
    );
    ensure_eq!(proxy.looptime(), secs(1), "loop time");
    real_below(ctx, real, ms(10), "end of time")?;
    Ok(Report::new(proxy.looptime(), real))
}

/// R13: the end is inclusive: with `end = 1s`, `sleep(1s)` fails too (999 ms is fine).
pub fn end_is_inclusive<B: Backend>(_: &Ctx) -> Outcome {
    let (proxy, _on) = virtual_proxy::<B>(Settings::new().end(secs(1)))?;
    let chrono = Chronometer::started();
    let result = proxy.block_on(async {
        proxy.sleep(ms(999)).await;
        let before = proxy.looptime();
        proxy.sleep(ms(1)).await;
        before
    });
    ensure!(
        result.as_ref().is_err_and(TimeError::is_end_of_time),
        "sleep up to the end fails: {result:?}"
    );
    ensure_eq!(proxy.looptime(), secs(1), "loop time");
    Ok(Report::new(proxy.looptime(), chrono.elapsed()))
}

/// R13, R14: the end of time is catchable through `timeout`; zero-time work still runs
/// after it; a later `timeout(0.1s, …)` fails at once.
pub fn end_is_catchable_and_zero_time_work_runs<B: Backend>(ctx: &Ctx) -> Outcome {
    let (proxy, _on) = virtual_proxy::<B>(Settings::new().end(secs(1)))?;
    let chrono = Chronometer::started();
    proxy.block_on(async {
        let caught = proxy.timeout(secs(10), proxy.sleep(secs(5))).await;
        ensure!(
            caught.as_ref().is_err_and(TimeError::is_end_of_time),
            "timeout hears the end: {caught:?}"
        );
        // Zero-time work.
        let five = proxy.spawn(async { 5 }).await?;
        ensure_eq!(five, 5, "a task of zero time");
        proxy.sleep(Duration::ZERO).await;
        proxy.yield_now().await;
        let three = proxy.interruptible(async { 3 }).await;
        ensure_eq!(three, Ok(3), "a ready future through interruptible");
        // Waits needing time fail at once.
        let later = proxy.timeout(ms(100), pending::<()>()).await;
        ensure!(
            later.is_err_and(|e| e.is_end_of_time()),
            "a later timeout fails at once"
        );
        Ok::<_, Failure>(())
    })??;
    let real = chrono.elapsed();
    ensure_eq!(proxy.looptime(), secs(1), "loop time");
    real_below(ctx, real, ms(10), "end of time and the work after it")?;
    Ok(Report::new(proxy.looptime(), real))
}

/// R13: `interruptible` hears the end; a task blocked on an infallible sleep is cancelled.
pub fn interruptible_hears_the_end<B: Backend>(_: &Ctx) -> Outcome {
    let settings = Settings::new().end(secs(1)).idle_timeout(None);
    let (proxy, _on) = virtual_proxy::<B>(settings)?;
    let chrono = Chronometer::started();
    let (root, background) = proxy.block_on(async {
        let clock = proxy.clone();
        let background = proxy.spawn(async move { clock.sleep(secs(10)).await });
        let root = proxy.interruptible(pending::<()>()).await;
        (root, background.await)
    })?;
    ensure!(
        root.is_err_and(|e| e.is_end_of_time()),
        "interruptible(pending) hears the end"
    );
    ensure!(
        background
            .as_ref()
            .is_err_and(|e| e.time_error().is_some_and(TimeError::is_end_of_time)),
        "the task in sleep(10s) is cancelled by the end of time: {background:?}"
    );
    ensure_eq!(proxy.looptime(), secs(1), "loop time");
    Ok(Report::new(proxy.looptime(), chrono.elapsed()))
}

/// R13: `end = 1s` with nothing scheduled: reaching the end costs real time (≥ 1 s).
pub fn end_with_nothing_scheduled_costs_real_time<B: Backend>(ctx: &Ctx) -> Outcome {
    let settings = Settings::new().end(secs(1)).idle_timeout(None);
    let (proxy, _on) = virtual_proxy::<B>(settings)?;
    let (_tx, mut rx) = channel::<()>();
    let chrono = Chronometer::started();
    let result = proxy.block_on(rx.recv());
    let real = chrono.elapsed();
    ensure!(
        result.is_err_and(|e| e.is_end_of_time()),
        "the run returns the end of time"
    );
    ensure_eq!(proxy.looptime(), secs(1), "loop time");
    real_at_least(real, secs(1), "reaching the end with only I/O pending")?;
    real_below(
        ctx,
        real,
        ms(1050),
        "reaching the end with only I/O pending",
    )?;
    Ok(Report::new(proxy.looptime(), real))
}

/// R12, R13: with both `end` and `idle_timeout`, whichever comes first is reported (a tie
/// goes to the end of time), with no busy spinning while waiting.
pub fn first_of_end_and_idle_timeout_wins<B: Backend>(ctx: &Ctx) -> Outcome {
    let mut total = Duration::ZERO;
    let cases = [
        (secs(1), ms(300), "idle timeout first"),
        (ms(300), secs(1), "end first"),
        (ms(300), ms(300), "a tie"),
    ];
    for (end, idle, case) in cases {
        let settings = Settings::new().end(end).idle_timeout(Some(idle));
        let (proxy, _on) = virtual_proxy::<B>(settings)?;
        let (_tx, mut rx) = channel::<()>();
        let chrono = Chronometer::started();
        let cpu_before = thread_cpu_time();
        let result = proxy.block_on(rx.recv());
        let cpu = thread_cpu_time()
            .zip(cpu_before)
            .map(|(after, before)| after - before);
        let real = chrono.elapsed();
        total += real;
        let Err(error) = result else {
            return Err(Failure::new(format!(
                "{case}: the wait ended without error"
            )));
        };
        if idle < end {
            ensure!(
                error.is_idle_timeout(),
                "{case}: expected the idle timeout, got {error}"
            );
            ensure_eq!(proxy.looptime(), Duration::ZERO, "{case}: loop time");
        } else {
            ensure!(
                error.is_end_of_time(),
                "{case}: expected the end of time, got {error}"
            );
            ensure_eq!(proxy.looptime(), end, "{case}: loop time");
        }
        real_at_least(real, ms(300), case)?;
        real_below(ctx, real, ms(350), case)?;
        if let Some(cpu) = cpu {
            ensure!(
                cpu * 10 < real,
                "{case}: the wait used {cpu:?} of CPU in {real:?} of real time (spinning)"
            );
        }
    }
    Ok(Report::real(total))
}

/// R14: error messages name their clock: virtual for deadlines and the end, real for the
/// idle timeout.
pub fn errors_name_their_clock<B: Backend>(_: &Ctx) -> Outcome {
    let settings = Settings::new().end(secs(10)).idle_timeout(Some(ms(20)));
    let (proxy, _on) = virtual_proxy::<B>(settings)?;
    let chrono = Chronometer::started();
    let (deadline, idle, end) = proxy.block_on(async {
        let deadline = proxy.timeout(secs(1), pending::<()>()).await;
        let idle = proxy.interruptible(pending::<()>()).await;
        let end = proxy.timeout(secs(60), pending::<()>()).await;
        (deadline, idle, end)
    })?;
    let text = |r: Result<(), TimeError>| r.err().map(|e| e.to_string()).unwrap_or_default();
    let (deadline, idle, end) = (text(deadline), text(idle), text(end));
    ensure!(deadline.contains("virtual"), "deadline message: {deadline}");
    ensure!(
        end.contains("virtual") && end.contains("end"),
        "end message: {end}"
    );
    ensure!(
        idle.contains("real") && idle.contains("idle"),
        "idle message: {idle}"
    );
    Ok(Report::new(proxy.looptime(), chrono.elapsed()))
}
