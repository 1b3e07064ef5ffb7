//! R11 slow executors: while blocking work is in flight, time steps along with real time.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use looptime_api::{Chronometer, ClockExt, ReactorExt, Settings, SpawnerExt};

use crate::support::{ensure, ensure_eq, ms, real_at_least, real_below, secs, virtual_proxy};
use crate::{Backend, Ctx, Outcome, Report};

/// R11: `timeout(9s, spawn_blocking(set a flag))` completes with the flag set, time unmoved.
pub fn blocking_job_sets_flag_within_timeout<B: Backend>(_: &Ctx) -> Outcome {
    let (proxy, _on) = virtual_proxy::<B>(Settings::new())?;
    let flag = Arc::new(AtomicBool::new(false));
    let chrono = Chronometer::started();
    let setter = flag.clone();
    let result = proxy.block_on(proxy.timeout(
        secs(9),
        proxy.spawn_blocking(move || setter.store(true, Ordering::SeqCst)),
    ))?;
    ensure!(
        matches!(result, Ok(Ok(()))),
        "the job completed within the timeout: {result:?}"
    );
    ensure!(flag.load(Ordering::SeqCst), "the flag is set");
    ensure_eq!(proxy.looptime(), Duration::ZERO, "loop time");
    Ok(Report::new(proxy.looptime(), chrono.elapsed()))
}

/// R11: a 100 ms blocking job with `idle_step = 10ms` ends at loop time 0.1 s (0.11 s
/// tolerated), real time 0.1–0.11 s.
pub fn blocking_100ms_with_idle_step_10ms<B: Backend>(ctx: &Ctx) -> Outcome {
    let (proxy, _on) = virtual_proxy::<B>(Settings::new().idle_step(ms(10)))?;
    let chrono = Chronometer::started();
    let result = proxy.block_on(proxy.timeout(
        secs(9),
        proxy.spawn_blocking(|| std::thread::sleep(ms(100))),
    ))?;
    let real = chrono.elapsed();
    ensure!(
        matches!(result, Ok(Ok(()))),
        "the job completed: {result:?}"
    );
    let loop_time = proxy.looptime();
    real_at_least(real, ms(100), "100 ms job")?;
    real_below(ctx, real, ms(110), "100 ms job")?;
    // Loop time moves with real time in whole steps: 0.1 s (0.11 s tolerated) when the
    // job runs on time. With headroom for a loaded machine, where the pool may start the
    // job late, it is whole steps that follow the real time measured.
    let step = ms(10);
    let steps_of_real = real.as_nanos().div_ceil(step.as_nanos());
    let allowed = if ctx.is_strict() {
        ms(110)
    } else {
        step * (steps_of_real as u32 + 1)
    };
    ensure!(
        loop_time >= ms(100) && loop_time <= allowed && loop_time.as_nanos() % step.as_nanos() == 0,
        "loop time: expected whole 10 ms steps from 100ms to {allowed:?} (real time {real:?}), got {loop_time:?}"
    );
    Ok(Report::new(loop_time, real))
}

/// R11: without `idle_step`, a short job finishes with loop time unchanged.
pub fn short_job_without_idle_step_keeps_time<B: Backend>(ctx: &Ctx) -> Outcome {
    let (proxy, _on) = virtual_proxy::<B>(Settings::new())?;
    let chrono = Chronometer::started();
    let result = proxy
        .block_on(proxy.timeout(secs(9), proxy.spawn_blocking(|| std::thread::sleep(ms(50)))))?;
    let real = chrono.elapsed();
    ensure!(
        matches!(result, Ok(Ok(()))),
        "the job completed: {result:?}"
    );
    ensure_eq!(proxy.looptime(), Duration::ZERO, "loop time");
    real_at_least(real, ms(50), "50 ms job")?;
    real_below(ctx, real, ms(60), "50 ms job")?;
    Ok(Report::new(proxy.looptime(), real))
}

/// R11: a job that outlives its timeout: the step to the deadline is waited in real time,
/// then the deadline fires at exactly its loop time.
pub fn job_outliving_its_timeout<B: Backend>(ctx: &Ctx) -> Outcome {
    let (proxy, _on) = virtual_proxy::<B>(Settings::new())?;
    proxy.set_shutdown_grace(secs(2));
    let chrono = Chronometer::started();
    let result = proxy.block_on(proxy.timeout(
        ms(100),
        proxy.spawn_blocking(|| std::thread::sleep(ms(300))),
    ))?;
    let real = chrono.elapsed();
    ensure!(
        result.is_err_and(|e| e.is_deadline()),
        "the deadline fired first"
    );
    ensure_eq!(proxy.looptime(), ms(100), "loop time");
    real_at_least(real, ms(100), "the step to the deadline")?;
    real_below(ctx, real, ms(150), "the step to the deadline")?;
    // The job is still running: shutdown waits for it and reports it.
    let leaks = proxy.block_on(proxy.check_and_shutdown(looptime_api::CheckKind::ALL));
    ensure!(
        leaks
            .as_ref()
            .is_ok_and(|r| r.as_ref().is_err_and(|l| l.len() == 1)),
        "the unfinished job is reported: {leaks:?}"
    );
    Ok(Report::new(proxy.looptime(), real))
}
