//! [`FuturesTimerClock`]: a real [`Clock`] on futures-timer, for any executor.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::SystemTime;

use futures_timer::Delay;
use looptime_api::{Clock, Instant, Sleep, SleepImpl, TimeError};

use crate::Futures;

/// A real-time [`Clock`] built on [`futures_timer::Delay`].
///
/// It needs no runtime: futures-timer drives its timers from a helper thread of its own,
/// so this clock works under any executor (`futures::executor::block_on`, a thread pool,
/// smol, tokio, …). It is a zero-sized value; copies are interchangeable.
///
/// - [`now`](Clock::now) is the process-wide real time, `Instant::from_std(std::time::Instant::now())`,
///   so its instants compare with those of every other real clock of looptime.
/// - [`sleep_until`](Clock::sleep_until) honours its *absolute* deadline. A `Delay` is
///   relative, so the sleep arms one for the time remaining and, should it fire before the
///   deadline (timer wheels round), re-arms it for what is left: the sleep never
///   completes before `now()` has reached its deadline. A deadline already reached
///   completes at the first poll; [`Instant::MAX`], or any deadline that has no
///   `std::time::Instant`, never fires.
/// - [`system_time`](Clock::system_time) is `SystemTime::now()`.
///
/// ```
/// use looptime_api::{Clock, ClockExt};
/// use looptime_futures_timer::FuturesTimerClock;
/// use std::time::Duration;
///
/// let clock = FuturesTimerClock::new();
/// let start = clock.now();
/// futures::executor::block_on(clock.sleep(Duration::from_millis(5)));
/// assert!(clock.now() - start >= Duration::from_millis(5));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FuturesTimerClock {
    _private: (),
}

impl FuturesTimerClock {
    /// The clock. All values are equal: there is one real time.
    pub const fn new() -> FuturesTimerClock {
        FuturesTimerClock { _private: () }
    }
}

/// The current real time on the process-wide origin.
fn real_now() -> Instant {
    Instant::from_std(std::time::Instant::now())
}

impl Clock for FuturesTimerClock {
    fn now(&self) -> Instant {
        real_now()
    }

    /// A futures-timer wait until `deadline`, re-armed until the deadline is reached.
    #[track_caller]
    fn sleep_until(&self, deadline: Instant) -> Sleep {
        let Some(at) = deadline.to_std() else {
            return Sleep::never();
        };
        if real_now() >= deadline {
            return Sleep::finished(deadline, Ok(()));
        }
        Sleep::new(deadline, TimerSleep(DelayUntil::new(at)))
    }

    fn system_time(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// The clock's sleep: a [`DelayUntil`] that real clocks never fail.
struct TimerSleep(DelayUntil);

impl SleepImpl for TimerSleep {
    fn poll_elapsed(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), TimeError>> {
        Pin::new(&mut self.0).poll(cx).map(Ok)
    }
}

/// A wait until an absolute real instant on futures-timer's relative `Delay`: armed at
/// the first poll for the time remaining, and re-armed for what is left whenever it
/// fires before the deadline. It completes only once `std::time::Instant::now()` has
/// reached the deadline.
///
/// Comparing `std` instants is the same as comparing the clock's own: `Instant::from_std`
/// and `Instant::to_std` convert exactly, in whole nanoseconds on one origin.
pub(crate) struct DelayUntil {
    deadline: std::time::Instant,
    delay: Option<Delay>,
}

impl DelayUntil {
    pub(crate) fn new(deadline: std::time::Instant) -> DelayUntil {
        DelayUntil {
            deadline,
            delay: None,
        }
    }

    /// A wait whose first timer is `delay` instead of one armed for the time remaining.
    #[cfg(test)]
    fn with_delay(deadline: std::time::Instant, delay: Delay) -> DelayUntil {
        DelayUntil {
            deadline,
            delay: Some(delay),
        }
    }
}

impl Future for DelayUntil {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        loop {
            let now = std::time::Instant::now();
            if now >= this.deadline {
                this.delay = None;
                return Poll::Ready(());
            }
            let remaining = this.deadline - now;
            match &mut this.delay {
                None => this.delay = Some(Delay::new(remaining)),
                Some(delay) => match Pin::new(&mut *delay).poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    // Fired before the deadline: armed again for what is left, then polled
                    // again (at the top of the loop) to register the waker with it.
                    Poll::Ready(()) => delay.reset(remaining),
                },
            }
        }
    }
}

impl Clock for Futures {
    /// The real time of [`FuturesTimerClock`].
    fn now(&self) -> Instant {
        self.inner.clock.now()
    }

    /// A [`FuturesTimerClock`] sleep.
    #[track_caller]
    fn sleep_until(&self, deadline: Instant) -> Sleep {
        self.inner.clock.sleep_until(deadline)
    }

    fn system_time(&self) -> SystemTime {
        self.inner.clock.system_time()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures::executor::block_on;
    use looptime_api::{ClockExt, Sleep};

    use super::*;

    #[test]
    fn sleeps_never_complete_before_their_deadline() {
        let clock = FuturesTimerClock::new();
        for micros in (0..3_000).step_by(97) {
            let deadline = clock.now() + Duration::from_micros(micros);
            block_on(clock.sleep_until(deadline));
            let now = clock.now();
            assert!(now >= deadline, "woke at {now:?}, before {deadline:?}");
        }
    }

    #[test]
    fn an_early_timer_is_rearmed_until_the_deadline() {
        let clock = FuturesTimerClock::new();
        let deadline = clock.now() + Duration::from_millis(20);
        // A first timer that fires far too early, as a rounding timer might.
        let at = deadline.to_std().unwrap();
        let sleep = Sleep::new(
            deadline,
            TimerSleep(DelayUntil::with_delay(at, Delay::new(Duration::ZERO))),
        );
        block_on(sleep);
        assert!(clock.now() >= deadline);
    }

    #[test]
    fn past_deadlines_complete_at_once_and_max_never_does() {
        let clock = FuturesTimerClock::new();
        let past = clock.now();
        let mut sleep = clock.sleep_until(past);
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert_eq!(sleep.poll_elapsed(&mut cx), Poll::Ready(Ok(())));

        let mut never = clock.sleep_until(Instant::MAX);
        assert!(never.poll_elapsed(&mut cx).is_pending());
        let mut forever = clock.sleep(Duration::MAX);
        assert!(forever.poll_elapsed(&mut cx).is_pending());
    }

    #[test]
    fn timeout_elapses_in_real_time() {
        let clock = FuturesTimerClock::new();
        let start = clock.now();
        let result =
            block_on(clock.timeout(Duration::from_millis(10), std::future::pending::<()>()));
        assert!(result.is_err_and(|e| e.is_deadline()));
        assert!(clock.now() - start >= Duration::from_millis(10));
    }

    #[test]
    fn sleeps_on_a_pool_of_another_executor() {
        let pool = futures::executor::ThreadPool::builder()
            .pool_size(1)
            .create()
            .unwrap();
        let clock = FuturesTimerClock::new();
        let (tx, rx) = futures::channel::oneshot::channel();
        let deadline = clock.now() + Duration::from_millis(3);
        pool.spawn_ok(async move {
            clock.sleep_until(deadline).await;
            let _ = tx.send(clock.now());
        });
        let woke = block_on(rx).unwrap();
        assert!(woke >= deadline);
    }

    #[test]
    fn works_as_a_dyn_clock_and_tells_wall_time() {
        let clock: std::sync::Arc<dyn Clock> = std::sync::Arc::new(FuturesTimerClock::new());
        let before = SystemTime::now();
        block_on(clock.sleep(Duration::from_millis(2)));
        assert!(clock.system_time() >= before);
    }
}
