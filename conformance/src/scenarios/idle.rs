//! R12 I/O idle: when only outside events can wake the scope, it waits in real time, up to
//! `idle_timeout` without a wake.

use std::time::Duration;

use looptime_api::{Chronometer, ClockExt, ReactorExt, Settings, SpawnerExt};

use crate::support::{
    channel, ensure, ensure_eq, ms, real_at_least, real_below, secs, virtual_proxy,
};
use crate::{Backend, Ctx, Outcome, Report};

/// R12: a task waiting on a channel nobody sends to, `idle_timeout = 1s`, `idle_step =
/// 0.1s`: an idle-timeout error at loop time 1 s, real 1.0–1.05 s.
pub fn idle_timeout_with_idle_step<B: Backend>(ctx: &Ctx) -> Outcome {
    let (proxy, _on) = virtual_proxy::<B>(Settings::new().idle_step(ms(100)))?;
    let (_tx, mut rx) = channel::<()>();
    let chrono = Chronometer::started();
    let result = proxy.block_on(rx.recv());
    let real = chrono.elapsed();
    ensure!(
        result.as_ref().is_err_and(|e| e.is_idle_timeout()),
        "expected an idle timeout, got {result:?}"
    );
    ensure_eq!(proxy.looptime(), secs(1), "loop time (ten steps of 0.1 s)");
    real_at_least(real, secs(1), "idle wait")?;
    real_below(ctx, real, ms(1050), "idle wait")?;
    Ok(Report::new(proxy.looptime(), real))
}

/// R12: without `idle_step`, loop time does not move while waiting for the idle timeout.
pub fn idle_timeout_without_idle_step<B: Backend>(ctx: &Ctx) -> Outcome {
    let (proxy, _on) = virtual_proxy::<B>(Settings::new().idle_timeout(Some(ms(200))))?;
    let (_tx, mut rx) = channel::<()>();
    let chrono = Chronometer::started();
    let result = proxy.block_on(proxy.interruptible(rx.recv()))?;
    let real = chrono.elapsed();
    ensure!(
        result.as_ref().is_err_and(|e| e.is_idle_timeout()),
        "interruptible(recv) hears the idle timeout: {result:?}"
    );
    ensure_eq!(proxy.looptime(), Duration::ZERO, "loop time");
    real_at_least(real, ms(200), "idle wait")?;
    real_below(ctx, real, ms(250), "idle wait")?;
    Ok(Report::new(proxy.looptime(), real))
}

/// R12: any wake resets the countdown: three messages 150 ms apart pass a 250 ms idle
/// timeout; a fourth wait then times out 250 ms after the last message.
pub fn outside_wakes_reset_the_countdown<B: Backend>(ctx: &Ctx) -> Outcome {
    let (proxy, _on) = virtual_proxy::<B>(Settings::new().idle_timeout(Some(ms(250))))?;
    let (tx, mut rx) = channel::<u32>();
    let chrono = Chronometer::started();
    let sender = std::thread::spawn(move || {
        for i in 0..3 {
            std::thread::sleep(ms(150));
            tx.send(i);
        }
        // Keep the channel open, silent.
        std::thread::sleep(ms(600));
        drop(tx);
    });
    let received = proxy.block_on(async {
        let mut got = Vec::new();
        for _ in 0..3 {
            got.push(proxy.interruptible(rx.recv()).await);
        }
        let after_last = Chronometer::started();
        let last = proxy.interruptible(rx.recv()).await;
        (got, last, after_last.elapsed())
    })?;
    let real = chrono.elapsed();
    let _ = sender.join();
    let (got, last, after_last) = received;
    ensure_eq!(
        got,
        vec![Ok(Some(0)), Ok(Some(1)), Ok(Some(2))],
        "the three messages"
    );
    ensure!(
        last.is_err_and(|e| e.is_idle_timeout()),
        "the fourth wait timed out"
    );
    real_at_least(after_last, ms(250), "idle countdown after the last message")?;
    real_below(
        ctx,
        after_last,
        ms(300),
        "idle countdown after the last message",
    )?;
    ensure_eq!(proxy.looptime(), Duration::ZERO, "loop time");
    Ok(Report::new(proxy.looptime(), real))
}

/// R12, R13: the idle timeout reaches every waiter: fallible waits get the error, tasks
/// blocked on infallible waits are cancelled, and the root returns the error if blocked.
pub fn idle_timeout_reaches_every_waiter<B: Backend>(_: &Ctx) -> Outcome {
    let (proxy, _on) = virtual_proxy::<B>(Settings::new().idle_timeout(Some(ms(100))))?;
    let (_tx_a, mut rx_a) = channel::<()>();
    let (_tx_b, mut rx_b) = channel::<()>();
    let (_tx_c, mut rx_c) = channel::<()>();
    let chrono = Chronometer::started();
    let (fallible, infallible, root) = proxy.block_on(async {
        let clock = proxy.clone();
        let fallible = proxy.spawn(async move { clock.interruptible(rx_a.recv()).await });
        let infallible = proxy.spawn(async move { rx_b.recv().await });
        let root = proxy.interruptible(rx_c.recv()).await;
        (fallible.await, infallible.await, root)
    })?;
    ensure!(
        root.is_err_and(|e| e.is_idle_timeout()),
        "the root's interruptible wait"
    );
    ensure!(
        matches!(&fallible, Ok(Err(e)) if e.is_idle_timeout()),
        "the task's interruptible wait returns the error: {fallible:?}"
    );
    ensure!(
        infallible
            .as_ref()
            .is_err_and(|e| e.time_error().is_some_and(|t| t.is_idle_timeout())),
        "the task blocked on an infallible wait is cancelled: {infallible:?}"
    );
    Ok(Report::new(proxy.looptime(), chrono.elapsed()))
}
