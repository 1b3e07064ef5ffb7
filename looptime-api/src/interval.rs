//! [`Interval`]: periodic ticks on any [`Clock`].

use core::fmt;
use core::future::{Future, poll_fn};
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use crate::{Clock, Instant, Sleep};

/// Periodic ticks of a clock; made by [`ClockExt::interval`](crate::ClockExt::interval).
///
/// Ticks are scheduled at `start`, `start + period`, `start + 2·period`, … on the clock's
/// own time, so they never drift. If a tick is late (the task was busy past the next one),
/// the missed ticks complete at once, one per call — tokio's default "burst" behaviour.
///
/// ```
/// use looptime_api::{Clock, ClockExt};
/// use std::time::Duration;
///
/// async fn heartbeat(clock: &impl Clock, beats: u32) {
///     let mut every = clock.interval(Duration::from_secs(5));
///     for _ in 0..beats {
///         every.tick().await;
///     }
/// }
/// ```
pub struct Interval<'c, C: ?Sized> {
    clock: &'c C,
    next: Instant,
    period: Duration,
    sleep: Option<Sleep>,
}

impl<'c, C: Clock + ?Sized> Interval<'c, C> {
    pub(crate) fn new(clock: &'c C, start: Instant, period: Duration) -> Self {
        let period = period.max(Duration::from_nanos(1));
        Interval {
            clock,
            next: start,
            period,
            sleep: None,
        }
    }

    /// The period between ticks.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Waits for the next tick and returns its scheduled instant.
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick; returns its scheduled instant.
    #[track_caller]
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        let sleep = match &mut self.sleep {
            Some(sleep) => sleep,
            None => self.sleep.insert(self.clock.sleep_until(self.next)),
        };
        match Pin::new(sleep).poll(cx) {
            Poll::Ready(()) => {
                let tick = self.next;
                self.next = tick.saturating_add(self.period);
                self.sleep = None;
                Poll::Ready(tick)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// Restarts the schedule: the next tick is one period from now.
    pub fn reset(&mut self) {
        self.next = self.clock.now().saturating_add(self.period);
        self.sleep = None;
    }
}

impl<C: ?Sized> fmt::Debug for Interval<'_, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interval")
            .field("next", &self.next)
            .field("period", &self.period)
            .finish_non_exhaustive()
    }
}
