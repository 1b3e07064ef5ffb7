//! [`Clock`] (SPEC R1) and its generic helpers, [`ClockExt`].

use core::future::IntoFuture;
use core::time::Duration;
use std::sync::Arc;
use std::time::SystemTime;

use crate::{Instant, Interruptible, Interval, Sleep, Timeout};

/// A source of time that can wait: the one dependency generic code needs to be testable
/// with virtual time.
///
/// Write code against `impl Clock` (or `&dyn Clock`, `Arc<dyn Clock>`); production passes
/// a runtime adapter, tests pass a [`Proxy`](crate::Proxy) on virtual time. The helpers
/// (`sleep`, `timeout`, `timeout_at`, `interval`, `interruptible`) come from [`ClockExt`],
/// which every `Clock`, including `dyn Clock`, has.
///
/// # Contract
///
/// Implementations MUST guarantee:
/// - **Monotonic `now()`**: successive calls never go backwards, except across an explicit
///   restart of a virtual clock with an earlier `start` (which logs a warning).
/// - **Deadlines are honoured**: the [`Sleep`] from `sleep_until(d)` completes once `now()`
///   has reached `d`, never before; a deadline at or before `now()` completes at its first
///   poll.
/// - **Never panics** on any deadline: [`Instant::MAX`] means "never".
/// - **Two timelines**: [`system_time`](Clock::system_time) is wall-clock time, separate
///   from the monotonic `now()`; under virtual time both move together.
/// - Thread safety: `Send + Sync`, so one clock serves every task.
///
/// ```
/// use looptime_api::{Clock, ClockExt, Instant};
/// use std::time::Duration;
///
/// /// Generic code: waits, then reports how long it waited on `clock`.
/// async fn pause(clock: &impl Clock) -> Duration {
///     let start = clock.now();
///     clock.sleep(Duration::from_secs(2)).await;
///     clock.now() - start
/// }
/// ```
pub trait Clock: Send + Sync {
    /// The current monotonic time of this clock.
    fn now(&self) -> Instant;

    /// A future that completes when `now()` reaches `deadline`.
    ///
    /// The caller's location is recorded (for leak reports of pending timers).
    #[track_caller]
    fn sleep_until(&self, deadline: Instant) -> Sleep;

    /// Wall-clock time. Under virtual time it moves with the loop time.
    fn system_time(&self) -> SystemTime;
}

/// Generic helpers available on every [`Clock`], including `dyn Clock`.
///
/// ```
/// use looptime_api::{Clock, ClockExt, TimeError};
/// use std::time::Duration;
///
/// async fn fetch_with_deadline(clock: &dyn Clock) -> Result<u32, TimeError> {
///     clock.timeout(Duration::from_secs(9), async { 42 }).await
/// }
/// # let _ = fetch_with_deadline;
/// ```
pub trait ClockExt: Clock {
    /// Waits for `duration` of this clock's time. Saturates: `Duration::MAX` waits forever.
    #[track_caller]
    fn sleep(&self, duration: Duration) -> Sleep {
        self.sleep_until(self.now().saturating_add(duration))
    }

    /// Runs `future` with a deadline `duration` from now.
    ///
    /// Resolves `Ok(output)` if the future completes first, `Err(e)` with
    /// [`e.is_deadline()`](crate::TimeError::is_deadline) when the deadline passes, or with
    /// the end of time / idle timeout of the scope when that comes first.
    #[track_caller]
    fn timeout<F: IntoFuture>(&self, duration: Duration, future: F) -> Timeout<F::IntoFuture> {
        Timeout::new(future.into_future(), self.sleep(duration))
    }

    /// Like [`timeout`](ClockExt::timeout), with an absolute deadline.
    #[track_caller]
    fn timeout_at<F: IntoFuture>(&self, deadline: Instant, future: F) -> Timeout<F::IntoFuture> {
        Timeout::new(future.into_future(), self.sleep_until(deadline))
    }

    /// Runs `future` with no deadline of its own, but makes it hear the scope's end of time
    /// and idle timeout: resolves `Err(e)` with `e.is_end_of_time()` or
    /// `e.is_idle_timeout()` at its await point instead of being cancelled.
    #[track_caller]
    fn interruptible<F: IntoFuture>(&self, future: F) -> Interruptible<F::IntoFuture> {
        Interruptible::new(future.into_future(), self.sleep_until(Instant::MAX))
    }

    /// Ticks every `period`, the first tick at once (like `tokio::time::interval`).
    ///
    /// A zero period is treated as one nanosecond.
    fn interval(&self, period: Duration) -> Interval<'_, Self> {
        Interval::new(self, self.now(), period)
    }

    /// Ticks every `period`, the first tick at `start`.
    fn interval_at(&self, start: Instant, period: Duration) -> Interval<'_, Self> {
        Interval::new(self, start, period)
    }
}

impl<C: Clock + ?Sized> ClockExt for C {}

macro_rules! forward_clock {
    ($($ty:ty),*) => {$(
        impl<C: Clock + ?Sized> Clock for $ty {
            fn now(&self) -> Instant {
                (**self).now()
            }
            #[track_caller]
            fn sleep_until(&self, deadline: Instant) -> Sleep {
                (**self).sleep_until(deadline)
            }
            fn system_time(&self) -> SystemTime {
                (**self).system_time()
            }
        }
    )*};
}

forward_clock!(&C, Box<C>, Arc<C>);
