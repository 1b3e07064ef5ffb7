//! Running a test body in a fresh scope on virtual time: the harness behind each
//! adapter's `#[test]` attribute (`#[looptime_tokio::test]`, `#[looptime_smol::test]`,
//! `#[looptime_async_std::test]`, `#[looptime_futures_timer::test]`; SPEC R23).
//!
//! [`run_test`] does what the attribute does, with any [`Runtime`]:
//!
//! 1. makes a [`Proxy`] named after the test over the runtime;
//! 2. sets up its virtual clock with the test's [`Settings`] — unless the environment says
//!    `LOOPTIME=off` ([`TimeMode`]), in which case the test runs on real time;
//! 3. runs the body with `block_on`, giving it a [`TestHandle`];
//! 4. shuts the scope down with [`check_and_shutdown`](Proxy::check_and_shutdown), and
//!    fails the test (panics with the report) when leaks of the kinds in
//!    [`TestConfig::check`] are found, or prints the report to stderr with
//!    [`LeakPolicy::Warn`].
//!
//! A panic in the body propagates. A [`TimeError`](crate::TimeError) that stopped the body
//! (the end of time or an idle timeout the body did not catch) fails the test with that
//! error. Otherwise the body's output is returned, so a body returning `Result` works
//! as a `#[test]` returning `Result` does.
//!
//! ```
//! use looptime_api::testing::{TestConfig, run_test};
//! use looptime_api::{ClockExt, Settings, SpawnerExt};
//! use std::time::Duration;
//!
//! let runtime = looptime_tokio::Tokio::current_thread().unwrap();
//! let config = TestConfig::new("docs::a_day").settings(Settings::new().end(Duration::from_secs(86_400)));
//! let answer = run_test(runtime, config, |lt| async move {
//!     let clock = lt.proxy().clone();
//!     let worker = lt.spawn(async move {
//!         clock.sleep(Duration::from_secs(3600)).await;
//!         42
//!     });
//!     let answer = worker.await.unwrap();
//!     assert_eq!(lt.looptime(), Duration::from_secs(3600)); // exact, at once
//!     assert!(lt.chronometer().elapsed() < Duration::from_secs(1));
//!     answer
//! });
//! assert_eq!(answer, 42);
//! ```

use core::fmt;
use core::future::Future;
use core::ops::Deref;
use core::time::Duration;
use std::sync::Arc;

use crate::{CheckKind, Chronometer, Clock, Instant, Proxy, ReactorExt, Runtime, Settings};

/// Whether tests run on virtual time or on real time; read from the `LOOPTIME`
/// environment variable by [`run_test`].
///
/// | `LOOPTIME` | mode |
/// |---|---|
/// | unset, empty, `on` | [`Virtual`](TimeMode::Virtual) |
/// | `off` | [`Real`](TimeMode::Real) |
/// | anything else | an error: the test fails with a message saying so |
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimeMode {
    /// The scope runs on a virtual clock set up with the test's settings.
    Virtual,
    /// The scope runs on its runtime's real time; the settings are not applied.
    Real,
}

impl TimeMode {
    /// The environment variable that selects the mode.
    pub const VAR: &'static str = "LOOPTIME";

    /// The mode a value of `LOOPTIME` selects (`on`, `off`, or empty; any ASCII case), or
    /// `None` for any other value.
    pub fn parse(value: &str) -> Option<TimeMode> {
        let value = value.trim();
        if value.is_empty() || value.eq_ignore_ascii_case("on") {
            Some(TimeMode::Virtual)
        } else if value.eq_ignore_ascii_case("off") {
            Some(TimeMode::Real)
        } else {
            None
        }
    }

    /// The mode the environment selects: [`Virtual`](TimeMode::Virtual) unless
    /// `LOOPTIME=off`.
    ///
    /// # Panics
    ///
    /// When `LOOPTIME` is set to anything but `on`, `off` or nothing: a typo must not
    /// silently run a suite on the wrong clock.
    pub fn from_env() -> TimeMode {
        match std::env::var_os(TimeMode::VAR) {
            None => TimeMode::Virtual,
            Some(value) => match value.to_str().and_then(TimeMode::parse) {
                Some(mode) => mode,
                None => panic!(
                    "the environment variable {}={value:?} is not understood: \
                     use LOOPTIME=on (virtual time, the default) or LOOPTIME=off (real time)",
                    TimeMode::VAR
                ),
            },
        }
    }
}

/// What [`run_test`] does with the leaks it finds at the end of a test.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum LeakPolicy {
    /// Fail the test: panic with the leak report.
    #[default]
    Fail,
    /// Print the leak report to stderr and let the test pass.
    Warn,
}

/// How [`run_test`] runs one test: its name, its virtual clock's [`Settings`], which kinds
/// of leaks to look for, and what to do with them.
///
/// ```
/// use looptime_api::testing::{LeakPolicy, TestConfig};
/// use looptime_api::{CheckKind, Settings};
/// use std::time::Duration;
///
/// let config = TestConfig::new("my_tests::retries")
///     .settings(Settings::new().end(Duration::from_secs(10)))
///     .check(CheckKind::TASKS | CheckKind::TRANSPORTS)
///     .leaks(LeakPolicy::Warn);
/// assert_eq!(config.settings.end, Some(Duration::from_secs(10)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TestConfig {
    /// The test's name, given to its [`Proxy`] (leak reports show it).
    pub name: String,
    /// The virtual clock's settings (ignored on real time).
    pub settings: Settings,
    /// The kinds of leaks that count ([`CheckKind::ALL`] by default: every kind but
    /// timers). Everything else is shut down silently.
    pub check: CheckKind,
    /// What to do with the leaks found ([`LeakPolicy::Fail`] by default).
    pub leaks: LeakPolicy,
    /// The time mode; `None` (the default) reads `LOOPTIME` ([`TimeMode::from_env`]).
    pub mode: Option<TimeMode>,
}

impl TestConfig {
    /// The defaults for a test named `name`: default settings, every kind of leak but
    /// timers checked, leaks fail, the mode taken from `LOOPTIME`.
    pub fn new(name: impl Into<String>) -> Self {
        TestConfig {
            name: name.into(),
            settings: Settings::new(),
            check: CheckKind::ALL,
            leaks: LeakPolicy::Fail,
            mode: None,
        }
    }

    /// Sets the virtual clock's settings.
    pub fn settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }

    /// Sets the kinds of leaks that count.
    pub fn check(mut self, check: CheckKind) -> Self {
        self.check = check;
        self
    }

    /// Sets what to do with leaks.
    pub fn leaks(mut self, policy: LeakPolicy) -> Self {
        self.leaks = policy;
        self
    }

    /// Sets the time mode, whatever `LOOPTIME` says.
    pub fn mode(mut self, mode: TimeMode) -> Self {
        self.mode = Some(mode);
        self
    }
}

/// What a test body gets from [`run_test`] (and from the adapters' `#[test]` attribute):
/// its scope, its loop time, and a chronometer of real time.
///
/// It dereferences to the test's [`Proxy`], so the scope's whole API is at hand:
/// `lt.sleep(…)` and `lt.timeout(…)` ([`ClockExt`](crate::ClockExt)), `lt.spawn(…)`
/// ([`SpawnerExt`](crate::SpawnerExt)), `lt.advance_time(…)`, `lt.connect_tcp(…)`, …
/// Generic code that takes `&impl Runtime` (or `&impl Clock`) gets [`proxy`](Self::proxy).
///
/// Cheap to clone; every clone is the same scope.
#[derive(Clone)]
pub struct TestHandle {
    proxy: Proxy,
    name: Arc<str>,
    mode: TimeMode,
    /// The proxy's `now()` when the test began.
    began: Instant,
    /// The loop time reported at `began` on real time: the `start` setting.
    start: Duration,
    chronometer: Chronometer,
}

impl TestHandle {
    /// The test's scope.
    pub fn proxy(&self) -> &Proxy {
        &self.proxy
    }

    /// The loop time. On virtual time, the proxy's exact
    /// [`looptime`](Proxy::looptime) (`start`, 0 by default, when the test begins). On real
    /// time (`LOOPTIME=off`), `start` plus the time the proxy's clock moved since the test
    /// began (real time, plus any [`advance_time`](Proxy::advance_time)), so assertions on
    /// loop time compare alike in both modes.
    pub fn looptime(&self) -> Duration {
        match self.mode {
            TimeMode::Virtual => self.proxy.looptime(),
            TimeMode::Real => self
                .start
                .saturating_add(self.proxy.now().saturating_duration_since(self.began)),
        }
    }

    /// A chronometer of real time, started when the test began.
    pub fn chronometer(&self) -> &Chronometer {
        &self.chronometer
    }

    /// Whether the test runs on virtual or on real time.
    pub fn mode(&self) -> TimeMode {
        self.mode
    }

    /// The test's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Deref for TestHandle {
    type Target = Proxy;

    fn deref(&self) -> &Proxy {
        &self.proxy
    }
}

impl From<TestHandle> for Proxy {
    /// The test's scope: a test body may take a `Proxy` instead of the handle.
    fn from(handle: TestHandle) -> Proxy {
        handle.proxy
    }
}

impl fmt::Debug for TestHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestHandle")
            .field("name", &self.name)
            .field("mode", &self.mode)
            .field("looptime", &self.looptime())
            .field("real_time", &self.chronometer.elapsed())
            .finish_non_exhaustive()
    }
}

/// Runs one test: `body` in a fresh [`Proxy`] over `runtime`, on virtual time (unless
/// `LOOPTIME=off`), then a leak check. See the [module docs](self).
///
/// Returns the body's output.
///
/// # Panics
///
/// When the body panics; when the end of time or an idle timeout stopped the body; when
/// leaks of the kinds in `config.check` are found and `config.leaks` is
/// [`LeakPolicy::Fail`] (the message is the leak report, which says the scope "leaked");
/// when the settings are invalid; when `LOOPTIME` has a value other than `on` or `off`.
#[track_caller]
pub fn run_test<R, F, Fut>(runtime: R, config: TestConfig, body: F) -> Fut::Output
where
    R: Runtime + Clone + 'static,
    F: FnOnce(TestHandle) -> Fut,
    Fut: Future,
{
    let mode = config.mode.unwrap_or_else(TimeMode::from_env);
    let name = config.name.as_str();
    let proxy = Proxy::named(&runtime, name);
    let guard = match mode {
        TimeMode::Virtual => match proxy.setup_looptime(config.settings.clone()) {
            Ok(guard) => Some(guard),
            Err(error) => panic!("looptime test `{name}`: {error}"),
        },
        TimeMode::Real => None,
    };
    let handle = TestHandle {
        name: name.into(),
        mode,
        began: proxy.now(),
        start: config.settings.start.unwrap_or(Duration::ZERO),
        chronometer: Chronometer::started(),
        proxy: proxy.clone(),
    };

    let outcome = proxy.block_on(body(handle));
    let leaks = runtime
        .block_on(proxy.check_and_shutdown(config.check))
        .unwrap_or_else(|error| panic!("looptime test `{name}`: shutdown stopped: {error}"));
    drop(guard);

    let mut failures = Vec::new();
    let output = match outcome {
        Ok(output) => Some(output),
        Err(error) => {
            failures.push(format!("the test body was stopped: {error}"));
            None
        }
    };
    if let Err(leaks) = leaks {
        match config.leaks {
            LeakPolicy::Fail => failures.push(leaks.to_string()),
            LeakPolicy::Warn => eprintln!("looptime test `{name}`: warning: {leaks}"),
        }
    }
    match output {
        Some(output) if failures.is_empty() => output,
        _ => panic!("looptime test `{name}` failed: {}", failures.join("\n")),
    }
}
