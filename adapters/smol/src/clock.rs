//! [`Clock`] for [`Smol`]: async-io timers, on the process-wide real-time origin.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::SystemTime;

use async_io::Timer;
use looptime_api::{Clock, Instant, Sleep, SleepImpl, TimeError};

use crate::Smol;

/// An async-io timer that stays complete once it fired (an async-io `Timer` made with
/// `Timer::at` is pending again after its one event).
pub(crate) struct RealTimer {
    timer: Timer,
    fired: bool,
}

impl RealTimer {
    /// A timer firing at the real instant `at`.
    pub(crate) fn at(at: std::time::Instant) -> Self {
        RealTimer {
            timer: Timer::at(at),
            fired: false,
        }
    }
}

impl Future for RealTimer {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if !self.fired {
            if Pin::new(&mut self.timer).poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.fired = true;
        }
        Poll::Ready(())
    }
}

/// An async-io timer as a looptime sleep: real clocks never fail.
struct SmolSleep(RealTimer);

impl SleepImpl for SmolSleep {
    fn poll_elapsed(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), TimeError>> {
        Pin::new(&mut self.0).poll(cx).map(Ok)
    }
}

impl Clock for Smol {
    /// `std::time::Instant::now()`, the clock of async-io's timers.
    fn now(&self) -> Instant {
        Instant::from_std(std::time::Instant::now())
    }

    /// An `async_io::Timer`. [`Instant::MAX`] (or any deadline `std::time::Instant` cannot
    /// represent) never fires.
    #[track_caller]
    fn sleep_until(&self, deadline: Instant) -> Sleep {
        match deadline.to_std() {
            Some(at) => Sleep::new(deadline, SmolSleep(RealTimer::at(at))),
            None => Sleep::never(),
        }
    }

    fn system_time(&self) -> SystemTime {
        SystemTime::now()
    }
}
