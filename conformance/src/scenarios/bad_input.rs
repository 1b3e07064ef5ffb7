//! Bad input gets a clear error or a documented saturation, never a panic or a hang.

use std::time::Duration;

use looptime_api::{Chronometer, Clock, ClockExt, Instant, ReactorExt, Settings, SetupError};

use crate::support::{ensure, ensure_eq, ms, secs, virtual_proxy};
use crate::{Backend, Ctx, Outcome, Report};

/// R2: waits of `Duration::MAX` (or until `Instant::MAX`) never fire and are no deadline
/// to jump to: they end by the idle timeout instead, and a timeout of `Duration::MAX` is
/// no timeout.
pub fn duration_max_waits_never_fire<B: Backend>(_: &Ctx) -> Outcome {
    let (proxy, _on) = virtual_proxy::<B>(Settings::new().idle_timeout(Some(ms(20))))?;
    let chrono = Chronometer::started();
    let (forever, no_timeout, until_max) = proxy.block_on(async {
        let forever = proxy.interruptible(proxy.sleep(Duration::MAX)).await;
        let no_timeout = proxy.timeout(Duration::MAX, async { 7 }).await;
        let until_max = proxy.timeout_at(Instant::MAX, proxy.sleep(secs(1))).await;
        (forever, no_timeout, until_max)
    })?;
    ensure!(
        forever.is_err_and(|e| e.is_idle_timeout()),
        "sleep(Duration::MAX) never fires"
    );
    ensure_eq!(no_timeout, Ok(7), "timeout(Duration::MAX, ready)");
    ensure!(
        until_max.is_ok(),
        "timeout_at(Instant::MAX, sleep(1s)) completes"
    );
    ensure_eq!(proxy.looptime(), secs(1), "loop time");
    Ok(Report::new(proxy.looptime(), chrono.elapsed()))
}

/// R15, R16: invalid settings are errors at setup; the proxy stays usable.
pub fn invalid_settings_are_errors<B: Backend>(_: &Ctx) -> Outcome {
    let proxy = looptime_api::Proxy::new(&B::runtime());
    let chrono = Chronometer::started();
    let cases = [
        (
            Settings::new().start(secs(5)).end(secs(1)),
            "end before start",
        ),
        (
            Settings::new().resolution(Duration::ZERO),
            "zero resolution",
        ),
        (Settings::new().resolution(Duration::MAX), "huge resolution"),
        (Settings::new().idle_step(Duration::ZERO), "zero idle_step"),
        (Settings::new().noop_cycles(u32::MAX), "huge noop_cycles"),
        (Settings::new().end(Duration::MAX), "end beyond the clock"),
    ];
    for (settings, case) in cases {
        let result = proxy.setup_looptime(settings);
        ensure!(result.is_err(), "{case}: expected an error");
        let message = result.err().map(|e| e.to_string()).unwrap_or_default();
        ensure!(
            message.contains("invalid"),
            "{case}: a clear message: {message}"
        );
    }
    ensure!(
        !proxy.is_virtual(),
        "failed setups leave the proxy as it was"
    );
    let _on = proxy.setup_looptime(Settings::new())?;
    proxy.block_on(proxy.sleep(secs(1)))?;
    ensure_eq!(proxy.looptime(), secs(1), "loop time after a valid setup");
    let repeated = proxy.setup_looptime(Settings::new().end(ms(1)));
    ensure!(
        matches!(repeated, Err(SetupError::AlreadyEnabled)),
        "a setup while enabled: {repeated:?}"
    );
    Ok(Report::new(proxy.looptime(), chrono.elapsed()))
}

/// R2: instant arithmetic saturates or reports overflow, never panics.
pub fn instant_arithmetic_saturates<B: Backend>(_: &Ctx) -> Outcome {
    let (proxy, _on) = virtual_proxy::<B>(Settings::new().start(secs(1)))?;
    let now = proxy.now();
    ensure_eq!(now + Duration::MAX, Instant::MAX, "now + Duration::MAX");
    ensure_eq!(now.checked_add(Duration::MAX), None, "checked_add");
    ensure_eq!(Instant::ZERO - secs(1), Instant::ZERO, "ZERO - 1 s");
    ensure_eq!(Instant::ZERO - now, Duration::ZERO, "earlier - later");
    ensure_eq!(
        now.checked_duration_since(Instant::MAX),
        None,
        "checked_duration_since"
    );
    Ok(Report::new(proxy.looptime(), Duration::ZERO))
}
