//! R8 `advance_time`: a proxy's time shifts forward, deadline by deadline; the parent's
//! time does not move.

use std::future::pending;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use looptime_api::{
    AdvanceError, CheckKind, Chronometer, Clock, ClockExt, Proxy, ReactorExt, Settings, SpawnerExt,
};

use crate::support::{ensure, ensure_eq, ms, real_below, real_proxy, secs, virtual_proxy};
use crate::{Backend, Ctx, Failure, Outcome, Report};

/// R8: `advance_time(15 min)` makes a task waiting in a 15-minute timeout fail at once;
/// the parent's time does not move.
pub fn advance_fails_a_15_minute_timeout<B: Backend>(ctx: &Ctx) -> Outcome {
    let proxy = real_proxy::<B>();
    let parent = proxy.parent().clone();
    let chrono = Chronometer::started();
    let (parent_before, proxy_before) = (parent.now(), proxy.now());
    let waited = proxy.block_on(async {
        let clock = proxy.clone();
        let task = proxy.spawn(async move { clock.timeout(secs(900), pending::<()>()).await });
        proxy.advance_time(secs(900)).await?;
        Ok::<_, Failure>(task.await?)
    })??;
    let (parent_after, proxy_after) = (parent.now(), proxy.now());
    let real = chrono.elapsed();
    ensure!(waited.is_err_and(|e| e.is_deadline()), "the timeout fired");
    let parent_moved = parent_after - parent_before;
    let proxy_moved = proxy_after - proxy_before;
    ensure!(
        parent_moved <= real,
        "the parent moved only by real time: {parent_moved:?}"
    );
    ensure!(
        proxy_moved >= secs(900),
        "the proxy moved 15 min: {proxy_moved:?}"
    );
    real_below(ctx, real, ms(100), "advance_time(15 min)")?;
    Ok(Report::real(real))
}

/// R8: absolute deadlines (`sleep_until`, `timeout_at`) honour the shift.
pub fn absolute_deadlines_honour_the_shift<B: Backend>(ctx: &Ctx) -> Outcome {
    let proxy = real_proxy::<B>();
    let chrono = Chronometer::started();
    let (slept, timed_out) = proxy.block_on(async {
        let deadline = proxy.now() + secs(600);
        let (a, b) = (proxy.clone(), proxy.clone());
        let sleeper = proxy.spawn(async move { a.sleep_until(deadline).await });
        let waiter = proxy.spawn(async move { b.timeout_at(deadline, pending::<()>()).await });
        proxy.advance_time(secs(600)).await?;
        Ok::<_, Failure>((sleeper.await?, waiter.await?))
    })??;
    let real = chrono.elapsed();
    ensure_eq!(slept, (), "sleep_until completed");
    ensure!(
        timed_out.is_err_and(|e| e.is_deadline()),
        "timeout_at fired"
    );
    real_below(ctx, real, ms(100), "advance_time(10 min)")?;
    Ok(Report::real(real))
}

/// R8: the shift steps deadline by deadline, letting tasks run in between: an interval of
/// 1 s ticks ten times during `advance_time(10s)`.
pub fn advance_steps_through_deadlines<B: Backend>(_: &Ctx) -> Outcome {
    let proxy = real_proxy::<B>();
    let ticks = Arc::new(AtomicU32::new(0));
    let chrono = Chronometer::started();
    proxy.block_on(async {
        let (clock, counter) = (proxy.clone(), ticks.clone());
        let (started_tx, started) = std::sync::mpsc::channel();
        let _ticker = proxy.spawn(async move {
            let mut every = clock.interval(secs(1));
            every.tick().await;
            let _ = started_tx.send(());
            loop {
                every.tick().await;
                counter.fetch_add(1, Ordering::SeqCst);
            }
        });
        while started.try_recv().is_err() {
            proxy.sleep(ms(1)).await;
        }
        proxy.advance_time(secs(10)).await
    })??;
    ensure_eq!(ticks.load(Ordering::SeqCst), 10, "ticks during the shift");
    let _ = proxy.block_on(proxy.check_and_shutdown(CheckKind::ALL));
    Ok(Report::real(chrono.elapsed()))
}

/// R8: on virtual time, `advance_time` steps through the deadlines exactly.
pub fn advance_on_virtual_time<B: Backend>(_: &Ctx) -> Outcome {
    let (proxy, _on) = virtual_proxy::<B>(Settings::new())?;
    let count = Arc::new(AtomicU32::new(0));
    let chrono = Chronometer::started();
    proxy.block_on(async {
        let (clock, counter) = (proxy.clone(), count.clone());
        let _looper = proxy.spawn(async move {
            loop {
                clock.sleep(secs(1)).await;
                counter.fetch_add(1, Ordering::SeqCst);
            }
        });
        proxy.advance_time(ms(10_500)).await
    })??;
    ensure_eq!(proxy.looptime(), ms(10_500), "loop time after the shift");
    ensure_eq!(count.load(Ordering::SeqCst), 10, "iterations of a 1 s loop");
    let _ = proxy.block_on(proxy.check_and_shutdown(CheckKind::ALL));
    Ok(Report::new(ms(10_500), chrono.elapsed()))
}

/// R6, R8: shifting a parent reaches the timers of its children.
pub fn advance_reaches_child_timers<B: Backend>(ctx: &Ctx) -> Outcome {
    let runtime = B::runtime();
    let parent = Proxy::new(&runtime);
    let child = Proxy::new(&parent);
    let chrono = Chronometer::started();
    let waited = parent.block_on(async {
        let clock = child.clone();
        let task = child.spawn(async move { clock.timeout(secs(3600), pending::<()>()).await });
        parent.advance_time(secs(3600)).await?;
        Ok::<_, Failure>(task.await?)
    })??;
    let real = chrono.elapsed();
    ensure!(
        waited.is_err_and(|e| e.is_deadline()),
        "the child's timeout fired"
    );
    real_below(ctx, real, ms(100), "advance_time(1 h) of the parent")?;
    Ok(Report::real(real))
}

/// R8: a shift that overflows the clock is rejected, and nothing moves.
pub fn overflowing_advance_is_rejected<B: Backend>(_: &Ctx) -> Outcome {
    let (proxy, _on) = virtual_proxy::<B>(Settings::new().start(secs(1)))?;
    let chrono = Chronometer::started();
    let (max, huge) = proxy.block_on(async {
        let max = proxy.advance_time(Duration::MAX).await;
        let huge = proxy.advance_time(Duration::from_nanos(u64::MAX)).await;
        (max, huge)
    })?;
    ensure!(
        matches!(max, Err(AdvanceError::Overflow { .. })),
        "Duration::MAX: {max:?}"
    );
    ensure!(
        matches!(huge, Err(AdvanceError::Overflow { .. })),
        "u64::MAX ns: {huge:?}"
    );
    ensure_eq!(proxy.looptime(), secs(1), "loop time unchanged");
    Ok(Report::new(proxy.looptime(), chrono.elapsed()))
}
