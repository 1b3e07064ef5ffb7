//! R16 start and restarts, R17 observation.

use std::future::poll_fn;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use looptime_api::{
    Chronometer, Clock, ClockExt, Latch, LooptimeGuard, ReactorExt, Settings, SetupError, TimeError,
};

use crate::support::{
    WarnCounter, ensure, ensure_eq, ms, real_at_least, real_below, real_proxy, secs, virtual_proxy,
};
use crate::{Backend, Ctx, Failure, Outcome, Report};

/// R16: a repeated setup keeps the current loop time.
pub fn repeated_setup_keeps_time<B: Backend>(_: &Ctx) -> Outcome {
    let (proxy, on) = virtual_proxy::<B>(Settings::new())?;
    let chrono = Chronometer::started();
    proxy.block_on(proxy.sleep(secs(5)))?;
    drop(on);
    let _on = proxy.setup_looptime(Settings::new())?;
    ensure_eq!(
        proxy.looptime(),
        secs(5),
        "loop time after a repeated setup"
    );
    proxy.block_on(proxy.sleep(secs(1)))?;
    ensure_eq!(proxy.looptime(), secs(6), "loop time");
    Ok(Report::new(proxy.looptime(), chrono.elapsed()))
}

/// R16: virtual time switched on, off and on again by another thread while a run waits
/// inside. The run had nothing to drive when time was switched on, and again while it was
/// off (its root asleep on a clock that stands still); switched on again, the sleep ends
/// at its exact loop time, at no cost beyond the switches' own delays.
pub fn switching_while_a_run_waits<B: Backend>(ctx: &Ctx) -> Outcome {
    let proxy = real_proxy::<B>();
    let chrono = Chronometer::started();
    let go = Arc::new(Latch::new());
    let switcher = {
        let (proxy, go) = (proxy.clone(), go.clone());
        std::thread::spawn(move || -> Result<LooptimeGuard, SetupError> {
            std::thread::sleep(ms(20));
            drop(proxy.setup_looptime(Settings::new())?);
            go.set();
            std::thread::sleep(ms(50));
            proxy.looptime_enabled()
        })
    };
    let slept = proxy.block_on(async {
        poll_fn(|cx| go.poll_wait(cx)).await;
        let at = proxy.looptime();
        proxy.sleep(secs(60)).await;
        (at, proxy.looptime())
    })?;
    let real = chrono.elapsed();
    let _on = switcher
        .join()
        .map_err(|_| Failure::new("the switching thread panicked".to_owned()))??;
    ensure_eq!(slept.0, Duration::ZERO, "loop time when the sleep began");
    ensure_eq!(slept.1, secs(60), "loop time when the sleep ended");
    real_at_least(real, ms(70), "the sleep ends only once time is on again")?;
    real_below(ctx, real, secs(1), "the run follows the switches")?;
    Ok(Report::new(proxy.looptime(), real))
}

/// R16: a `start` below the current loop time is honoured, with a logged warning.
pub fn start_below_current_time_warns<B: Backend>(_: &Ctx) -> Outcome {
    let (proxy, on) = virtual_proxy::<B>(Settings::new())?;
    let chrono = Chronometer::started();
    proxy.block_on(proxy.sleep(secs(5)))?;
    drop(on);
    let warnings = WarnCounter::default();
    let on = tracing::subscriber::with_default(warnings.clone(), || {
        proxy.setup_looptime(Settings::new().start(secs(2)))
    })?;
    ensure!(
        warnings.count() >= 1,
        "a warning was logged for time going backwards"
    );
    ensure_eq!(proxy.looptime(), secs(2), "loop time after setup");
    proxy.block_on(proxy.sleep(secs(1)))?;
    ensure_eq!(proxy.looptime(), secs(3), "loop time");
    drop(on);
    Ok(Report::new(proxy.looptime(), chrono.elapsed()))
}

/// R16: every setup resets the end of time.
pub fn setup_resets_the_end<B: Backend>(_: &Ctx) -> Outcome {
    let (proxy, on) = virtual_proxy::<B>(Settings::new().end(secs(1)))?;
    let chrono = Chronometer::started();
    let ended = proxy.block_on(proxy.sleep(secs(2)));
    ensure!(
        ended.is_err_and(|e| e.is_end_of_time()),
        "time ended at 1 s"
    );
    drop(on);
    let _on = proxy.setup_looptime(Settings::new())?;
    let result = proxy.block_on(proxy.timeout(secs(5), proxy.sleep(secs(1))))?;
    ensure!(
        result.is_ok(),
        "time runs again after a new setup: {result:?}"
    );
    ensure_eq!(proxy.looptime(), secs(2), "loop time");
    Ok(Report::new(proxy.looptime(), chrono.elapsed()))
}

/// R16: enabling virtual time twice is an error; after the guard drops it works again.
pub fn enabling_twice_is_an_error<B: Backend>(_: &Ctx) -> Outcome {
    let (proxy, on) = virtual_proxy::<B>(Settings::new())?;
    let chrono = Chronometer::started();
    let again = proxy.setup_looptime(Settings::new());
    ensure!(
        matches!(again, Err(SetupError::AlreadyEnabled)),
        "a second setup while enabled: {again:?}"
    );
    let enabled = proxy.looptime_enabled();
    ensure!(
        matches!(enabled, Err(SetupError::AlreadyEnabled)),
        "looptime_enabled while enabled: {enabled:?}"
    );
    drop(on);
    let _on = proxy.looptime_enabled()?;
    proxy.block_on(proxy.sleep(secs(1)))?;
    ensure_eq!(proxy.looptime(), secs(1), "loop time");
    Ok(Report::new(proxy.looptime(), chrono.elapsed()))
}

/// R17: `looptime()` is the clock's `now()` as an exact duration, and cheap; a
/// `Chronometer` measures real time, around a future too.
pub fn observation_is_exact<B: Backend>(ctx: &Ctx) -> Outcome {
    let (proxy, _on) = virtual_proxy::<B>(Settings::new())?;
    let chrono = Chronometer::started();
    proxy.block_on(proxy.sleep(ms(1500)))?;
    ensure_eq!(
        proxy.looptime(),
        proxy.now().since_origin(),
        "looptime() is now()"
    );
    let reads = Chronometer::started();
    for _ in 0..100_000 {
        black_box(proxy.looptime());
    }
    real_below(ctx, reads.elapsed(), ms(50), "100 000 looptime() reads")?;
    let mut measured = Chronometer::new();
    let result: Result<(), TimeError> = proxy.block_on(measured.measure(async {
        std::thread::sleep(ms(20));
    }));
    result?;
    real_at_least(
        measured.elapsed(),
        ms(20),
        "the chronometer around a 20 ms future",
    )?;
    ensure_eq!(
        proxy.looptime(),
        ms(1500),
        "virtual time did not move during real work"
    );
    ensure!(!measured.is_running(), "measure stops the chronometer");
    Ok(Report::new(proxy.looptime(), chrono.elapsed()))
}
