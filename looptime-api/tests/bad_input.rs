//! Bad input: one test per row of the "Bad input" table of the crate docs. Each input
//! gets a clear error or a documented saturation, never a panic, a hang or an abort.

use std::future::pending;
use std::time::Duration;

use looptime_api::{
    AdvanceError, CheckKind, Chronometer, Clock, ClockExt, Instant, MAX_NOOP_CYCLES, Proxy,
    ReactorExt, Settings, SetupError, SpawnerExt,
};
use looptime_tokio::Tokio;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

fn proxy() -> Proxy {
    Proxy::new(&Tokio::current_thread().unwrap())
}

/// A setup that must fail: the error, whose message starts with "invalid looptime
/// settings"; the proxy stays off its virtual clock.
fn rejected(settings: Settings) -> SetupError {
    let proxy = proxy();
    let error = proxy.setup_looptime(settings).unwrap_err();
    assert!(
        error.to_string().starts_with("invalid looptime settings"),
        "a clear message: {error}"
    );
    assert!(!proxy.is_virtual(), "a failed setup changes nothing");
    error
}

#[test]
fn duration_max_sleep_never_fires() {
    // Virtual time: no deadline to jump to; the wait ends by the idle timeout.
    let proxy = proxy();
    let _on = proxy
        .setup_looptime(Settings::new().idle_timeout(Some(ms(20))))
        .unwrap();
    let chrono = Chronometer::started();
    let waited = proxy
        .block_on(proxy.interruptible(proxy.sleep(Duration::MAX)))
        .unwrap();
    assert!(
        waited.as_ref().is_err_and(|e| e.is_idle_timeout()),
        "{waited:?}"
    );
    assert_eq!(proxy.looptime(), Duration::ZERO, "time did not jump");
    assert!(chrono.elapsed() < secs(5));

    // Real time: the sleep's deadline saturates to `Instant::MAX`, "never".
    let proxy = self::proxy();
    let sleep = proxy.sleep(Duration::MAX);
    assert_eq!(sleep.deadline(), Instant::MAX);
    let raced = proxy
        .block_on(proxy.timeout(ms(20), sleep))
        .unwrap()
        .unwrap_err();
    assert!(raced.is_deadline(), "{raced}");
}

#[test]
fn duration_max_timeout_is_no_timeout() {
    let proxy = proxy();
    let _on = proxy.setup_looptime(Settings::new()).unwrap();
    let (ready, slept) = proxy
        .block_on(async {
            let ready = proxy.timeout(Duration::MAX, async { 7 }).await;
            let slept = proxy.timeout(Duration::MAX, proxy.sleep(secs(3))).await;
            (ready, slept)
        })
        .unwrap();
    assert_eq!(ready, Ok(7));
    assert_eq!(slept, Ok(()));
    assert_eq!(proxy.looptime(), secs(3));
}

#[test]
fn instant_overflow_saturates_or_is_none() {
    let proxy = proxy();
    let _on = proxy
        .setup_looptime(Settings::new().start(secs(1)))
        .unwrap();
    let now = proxy.now();
    assert_eq!(now + Duration::MAX, Instant::MAX);
    assert_eq!(now.checked_add(Duration::MAX), None);
    assert_eq!(Instant::MAX.checked_add(Duration::from_nanos(1)), None);
    assert_eq!(Instant::ZERO - secs(1), Instant::ZERO);
    assert_eq!(Instant::ZERO.checked_sub(secs(1)), None);
    assert_eq!(Instant::ZERO - now, Duration::ZERO);
    assert_eq!(now.checked_duration_since(Instant::MAX), None);
    assert_eq!(Instant::MAX.to_std(), None);
    // A deadline of `Instant::MAX` is "never": no deadline for a timeout to hit.
    let until_max = proxy
        .block_on(proxy.timeout_at(Instant::MAX, proxy.sleep(secs(1))))
        .unwrap();
    assert_eq!(until_max, Ok(()));
    assert_eq!(proxy.looptime(), secs(2));
}

#[test]
fn end_before_start_is_rejected() {
    let error = rejected(Settings::new().start(secs(5)).end(secs(1)));
    assert_eq!(
        error,
        SetupError::EndBeforeStart {
            start: secs(5),
            end: secs(1)
        }
    );
    assert!(error.to_string().contains("is before the start"), "{error}");

    // On a repeated setup, the start is the current loop time.
    let proxy = proxy();
    let on = proxy.setup_looptime(Settings::new()).unwrap();
    proxy.block_on(proxy.sleep(secs(10))).unwrap();
    drop(on);
    let error = proxy
        .setup_looptime(Settings::new().end(secs(5)))
        .unwrap_err();
    assert!(
        matches!(error, SetupError::EndBeforeStart { start, .. } if start == secs(10)),
        "{error:?}"
    );
    assert_eq!(proxy.looptime(), secs(10), "a failed setup changes nothing");

    // `end == start` is allowed: time is over from the start.
    let proxy = self::proxy();
    let _on = proxy
        .setup_looptime(Settings::new().start(secs(1)).end(secs(1)))
        .unwrap();
    let waited = proxy
        .block_on(proxy.timeout(secs(1), pending::<()>()))
        .unwrap();
    assert!(waited.is_err_and(|e| e.is_end_of_time()));
}

#[test]
fn zero_resolution_is_rejected() {
    let error = rejected(Settings::new().resolution(Duration::ZERO));
    assert_eq!(error, SetupError::ZeroResolution);
    assert!(error.to_string().contains("resolution"), "{error}");
}

#[test]
fn huge_resolution_is_rejected_or_rounds_up() {
    let error = rejected(Settings::new().resolution(Duration::MAX));
    assert!(
        matches!(
            error,
            SetupError::TooLarge {
                field: "resolution",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("does not fit the clock"));

    // A huge but representable resolution is accepted: deadlines round up to it.
    let proxy = proxy();
    let _on = proxy
        .setup_looptime(Settings::new().resolution(secs(3600)))
        .unwrap();
    proxy.block_on(proxy.sleep(ms(1))).unwrap();
    assert_eq!(proxy.looptime(), secs(3600));
}

#[test]
fn durations_beyond_the_clock_are_rejected() {
    for (settings, field) in [
        (Settings::new().start(Duration::MAX), "start"),
        (Settings::new().end(Duration::MAX), "end"),
        (Settings::new().idle_step(Duration::MAX), "idle_step"),
    ] {
        let error = rejected(settings);
        assert!(
            matches!(error, SetupError::TooLarge { field: f, .. } if f == field),
            "{field}: {error:?}"
        );
        assert!(error.to_string().contains(field), "{error}");
    }
}

#[test]
fn zero_idle_step_is_rejected() {
    let error = rejected(Settings::new().idle_step(Duration::ZERO));
    assert_eq!(error, SetupError::ZeroIdleStep);
    assert!(error.to_string().contains("idle_step"), "{error}");
}

#[test]
fn huge_noop_cycles_is_rejected() {
    let error = rejected(Settings::new().noop_cycles(u32::MAX));
    assert_eq!(error, SetupError::TooManyNoopCycles(u32::MAX));
    assert!(error.to_string().contains("noop_cycles"), "{error}");
    let error = rejected(Settings::new().noop_cycles(MAX_NOOP_CYCLES + 1));
    assert_eq!(error, SetupError::TooManyNoopCycles(MAX_NOOP_CYCLES + 1));
    assert!(
        Settings::new()
            .noop_cycles(MAX_NOOP_CYCLES)
            .validate()
            .is_ok()
    );
}

#[test]
fn overflowing_advance_time_is_rejected() {
    let proxy = proxy();
    let _on = proxy
        .setup_looptime(Settings::new().start(secs(1)))
        .unwrap();
    let (too_long, past_the_clock) = proxy
        .block_on(async {
            let too_long = proxy.advance_time(Duration::MAX).await;
            let past_the_clock = proxy.advance_time(Duration::from_nanos(u64::MAX)).await;
            (too_long, past_the_clock)
        })
        .unwrap();
    assert_eq!(too_long, Err(AdvanceError::Overflow { by: Duration::MAX }));
    assert_eq!(
        past_the_clock,
        Err(AdvanceError::Overflow {
            by: Duration::from_nanos(u64::MAX)
        })
    );
    let message = too_long.unwrap_err().to_string();
    assert!(message.contains("overflows the clock"), "{message}");
    assert_eq!(proxy.looptime(), secs(1), "nothing moved");
    // The proxy is still usable.
    proxy
        .block_on(proxy.advance_time(secs(1)))
        .unwrap()
        .unwrap();
    assert_eq!(proxy.looptime(), secs(2));
}

#[test]
fn spawn_after_shutdown_is_refused() {
    let proxy = proxy();
    let chrono = Chronometer::started();
    let (spawned, tried, blocking, slept, advanced) = proxy
        .block_on(async {
            proxy.check_and_shutdown(CheckKind::ALL).await.unwrap();
            let spawned = proxy.spawn(async { 1 }).await;
            let tried = proxy.try_spawn(async { 1 }).map(drop);
            let blocking = proxy.spawn_blocking(|| 1).await;
            let slept = proxy.interruptible(proxy.sleep(secs(1))).await;
            let advanced = proxy.advance_time(secs(1)).await;
            (spawned, tried, blocking, slept, advanced)
        })
        .unwrap();
    let spawned = spawned.unwrap_err();
    assert!(spawned.is_refused(), "{spawned}");
    assert!(spawned.to_string().contains("shut down"), "{spawned}");
    let tried = tried.unwrap_err();
    assert!(tried.is_shut_down(), "{tried}");
    assert!(tried.to_string().contains("refuses work"), "{tried}");
    assert!(blocking.is_err_and(|e| e.is_refused()));
    assert!(slept.is_err_and(|e| e.is_shut_down()));
    assert_eq!(advanced, Err(AdvanceError::ShutDown));
    let run = proxy.block_on(async { 1 }).unwrap_err();
    assert!(run.is_shut_down(), "{run}");
    assert!(matches!(
        proxy.setup_looptime(Settings::new()),
        Err(SetupError::ShutDown)
    ));
    assert!(chrono.elapsed() < secs(1), "refusals are immediate");
}

#[test]
fn shutdown_twice_is_harmless() {
    let proxy = proxy();
    let parent = proxy.parent().clone();
    let (first, second) = parent
        .block_on(async {
            let _leak = proxy.spawn(pending::<()>());
            let first = proxy.check_and_shutdown(CheckKind::ALL).await;
            (first, proxy.check_and_shutdown(CheckKind::ALL).await)
        })
        .unwrap();
    assert_eq!(first.unwrap_err().len(), 1);
    assert_eq!(second, Ok(()));
    assert!(proxy.is_shut_down());
}

#[test]
fn shutdown_of_parent_before_child() {
    let runtime = Tokio::current_thread().unwrap();
    let parent = Proxy::named(&runtime, "parent");
    let child = Proxy::named(&parent, "child");
    let line = line!() + 1;
    let handle = child.spawn(pending::<()>());
    let (of_parent, of_child, joined, refused) = runtime
        .block_on(async {
            let of_parent = parent.check_and_shutdown(CheckKind::ALL).await;
            let of_child = child.check_and_shutdown(CheckKind::ALL).await;
            let refused = child.spawn(async {}).await;
            (of_parent, of_child, handle.await, refused)
        })
        .unwrap();
    let leaks = of_parent.unwrap_err();
    assert_eq!(leaks.len(), 1, "{leaks}");
    let leak = leaks.iter().next().unwrap();
    assert_eq!(leak.kind(), CheckKind::TASKS);
    assert_eq!((leak.site().file(), leak.site().line()), (file!(), line));
    assert_eq!(of_child, Ok(()), "the child was shut down with its parent");
    assert!(child.is_shut_down());
    assert!(joined.is_err_and(|e| e.is_cancelled()));
    assert!(refused.is_err_and(|e| e.is_refused()));
}
