//! `#[looptime_tokio::test]`: the attribute, its arguments, and what fails a test.

use std::future::pending;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use looptime_api::testing::{LeakPolicy, TestConfig, TestHandle, TimeMode, run_test};
use looptime_api::{CheckKind, ClockExt, Settings, SpawnerExt};
use looptime_tokio::Tokio;

/// The tests every backend's attribute passes, from the conformance suite.
mod shared {
    looptime_conformance::attribute_tests!(looptime_tokio);
}

#[looptime_tokio::test]
async fn the_scope_is_named_after_the_test_and_starts_at_zero(lt: TestHandle) {
    assert_eq!(lt.looptime(), Duration::ZERO);
    assert_eq!(lt.mode(), TimeMode::Virtual);
    assert!(lt.is_virtual());
    assert_eq!(
        lt.name(),
        "attribute::the_scope_is_named_after_the_test_and_starts_at_zero",
        "the scope is named after the test"
    );
}

#[looptime_tokio::test(noop_cycles = 1)]
async fn noop_cycles_are_set(lt: TestHandle) {
    assert_eq!(lt.settings().noop_cycles, 1);
    for _ in 0..100 {
        lt.sleep(Duration::from_secs(1)).await;
    }
    assert_eq!(lt.looptime(), Duration::from_secs(100));
}

#[looptime_tokio::test(start = "0.2s", resolution = "10ms")]
async fn start_and_resolution_are_set(lt: TestHandle) {
    assert_eq!(lt.looptime(), Duration::from_millis(200));
    lt.sleep(Duration::from_millis(85)).await;
    assert_eq!(
        lt.looptime(),
        Duration::from_millis(290),
        "the deadline rounds up to the 10 ms tick"
    );
}

#[looptime_tokio::test(
    start = "1m",
    end = "1h 30m",
    resolution = "1ms",
    noop_cycles = 7,
    idle_step = "10ms",
    idle_timeout = "none",
    io_patience = "250us",
    check = "TASKS | transports",
    leaks = "fail"
)]
async fn every_setting_is_passed_through(lt: TestHandle) {
    let expected = Settings::new()
        .start(Duration::from_secs(60))
        .end(Duration::from_secs(5400))
        .resolution(Duration::from_millis(1))
        .noop_cycles(7)
        .idle_step(Duration::from_millis(10))
        .idle_timeout(None)
        .io_patience(Some(Duration::from_micros(250)));
    assert_eq!(lt.settings(), expected);
    assert_eq!(lt.looptime(), Duration::from_secs(60));
}

#[looptime_tokio::test(idle_timeout = "2s", io_patience = "none", idle_step = "none")]
async fn optional_settings_take_durations_or_none(lt: TestHandle) {
    let settings = lt.settings();
    assert_eq!(settings.idle_timeout, Some(Duration::from_secs(2)));
    assert_eq!(settings.io_patience, None);
    assert_eq!(settings.idle_step, None);
}

#[looptime_tokio::test(check = "TRANSPORTS")]
async fn leaks_of_unchecked_kinds_pass(lt: TestHandle) {
    let _detached = lt.spawn(pending::<()>());
}

#[looptime_tokio::test]
#[should_panic(expected = "panicked: lost")]
async fn a_panic_nobody_received_fails_the_test(lt: TestHandle) {
    let _detached = lt.spawn(async { panic!("lost") });
    lt.sleep(Duration::from_secs(1)).await;
}

#[looptime_tokio::test]
#[should_panic(expected = "boom")]
async fn a_panic_in_the_body_propagates() {
    panic!("boom");
}

#[looptime_tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_thread_flavor(lt: TestHandle) {
    let handle = tokio::runtime::Handle::current();
    assert_eq!(
        handle.runtime_flavor(),
        tokio::runtime::RuntimeFlavor::MultiThread
    );
    assert_eq!(handle.metrics().num_workers(), 2);
    let clock = lt.proxy().clone();
    let workers: Vec<_> = (1..=4u64)
        .map(|i| {
            let clock = clock.clone();
            lt.spawn(async move { clock.sleep(Duration::from_secs(i)).await })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    assert_eq!(lt.looptime(), Duration::from_secs(4));
}

#[looptime_tokio::test(flavor = "multi_thread")]
async fn multi_thread_flavor_with_default_workers() {
    assert_eq!(
        tokio::runtime::Handle::current().runtime_flavor(),
        tokio::runtime::RuntimeFlavor::MultiThread
    );
}

#[looptime_tokio::test(flavor = "current_thread")]
async fn current_thread_flavor() {
    assert_eq!(
        tokio::runtime::Handle::current().runtime_flavor(),
        tokio::runtime::RuntimeFlavor::CurrentThread
    );
}

/// The message of a panic caught by `catch_unwind`.
fn message(panic: Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

#[test]
fn a_leak_report_names_the_test_and_the_line() {
    let runtime = Tokio::current_thread().unwrap();
    let config = TestConfig::new("suite::leaky").mode(TimeMode::Virtual);
    let spawned_at = std::cell::Cell::new(0);
    let spawned_at_ref = &spawned_at;
    let panic = catch_unwind(AssertUnwindSafe(|| {
        run_test(runtime, config, |lt| async move {
            spawned_at_ref.set(line!() + 1);
            let _detached = lt.spawn(pending::<()>());
        })
    }))
    .unwrap_err();
    let spawned_at = spawned_at.get();
    let report = message(panic);
    assert!(
        report.starts_with("looptime test `suite::leaky` failed: proxy 'suite::leaky' created at"),
        "{report}"
    );
    assert!(report.contains("leaked 1 resource:"), "{report}");
    assert!(
        report.contains(&format!("task spawned at {}:{spawned_at}:", file!())),
        "{report}"
    );
}

#[test]
fn the_policy_and_the_check_decide_what_fails() {
    let leak = |config: TestConfig| {
        catch_unwind(AssertUnwindSafe(|| {
            let runtime = Tokio::current_thread().unwrap();
            run_test(runtime, config.mode(TimeMode::Virtual), |lt| async move {
                let _detached = lt.spawn(pending::<()>());
            })
        }))
        .is_ok()
    };
    assert!(!leak(TestConfig::new("fails")));
    assert!(leak(TestConfig::new("warns").leaks(LeakPolicy::Warn)));
    assert!(leak(
        TestConfig::new("unchecked").check(CheckKind::BLOCKING)
    ));
    assert!(!leak(TestConfig::new("checked").check(CheckKind::TASKS)));
}

#[test]
fn invalid_settings_fail_the_test_with_the_reason() {
    let runtime = Tokio::current_thread().unwrap();
    let config = TestConfig::new("bad")
        .settings(Settings::new().noop_cycles(u32::MAX))
        .mode(TimeMode::Virtual);
    let panic = catch_unwind(AssertUnwindSafe(|| {
        run_test(runtime, config, |_| async {});
    }))
    .unwrap_err();
    assert!(message(panic).contains("noop_cycles"));
}

#[test]
fn real_time_mode_runs_on_the_runtimes_clock() {
    let runtime = Tokio::current_thread().unwrap();
    let config = TestConfig::new("real")
        .settings(Settings::new().start(Duration::from_secs(5)))
        .mode(TimeMode::Real);
    run_test(runtime, config, |lt| async move {
        assert!(!lt.is_virtual());
        assert_eq!(lt.mode(), TimeMode::Real);
        let before = lt.looptime();
        assert!(before >= Duration::from_secs(5) && before < Duration::from_secs(6));
        lt.sleep(Duration::from_millis(30)).await;
        let slept = lt.looptime() - before;
        assert!(slept >= Duration::from_millis(30), "{slept:?}");
        assert!(lt.chronometer().elapsed() >= Duration::from_millis(30));
        lt.advance_time(Duration::from_secs(60)).await.unwrap();
        assert!(lt.looptime() >= Duration::from_secs(65));
    });
}

/// Imported as `test`, the attribute replaces the built-in one in its module, as
/// `#[tokio::test]` does.
mod imported_as_test {
    use std::time::Duration;

    use looptime_api::ClockExt;
    use looptime_api::testing::TestHandle;
    use looptime_tokio::test;

    #[test(end = "1m")]
    async fn the_attribute_may_be_imported_as_test(lt: TestHandle) {
        lt.sleep(Duration::from_secs(59)).await;
        assert_eq!(lt.looptime(), Duration::from_secs(59));
    }
}
