//! [`Clock`] for [`AsyncStd`]: async-io timers (the ones async-std's own timers are made
//! of), on the process-wide real-time origin.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::SystemTime;

use async_io::Timer;
use looptime_api::{Clock, Instant, Sleep, SleepImpl, TimeError};

use crate::AsyncStd;

/// An async-io timer as a looptime sleep: real clocks never fail.
struct TimerSleep {
    /// `None` once the timer has fired (an async-io timer must not be polled after that).
    timer: Option<Timer>,
}

impl SleepImpl for TimerSleep {
    fn poll_elapsed(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), TimeError>> {
        let Some(timer) = &mut self.timer else {
            return Poll::Ready(Ok(()));
        };
        match Pin::new(timer).poll(cx) {
            Poll::Ready(_) => {
                self.timer = None;
                Poll::Ready(Ok(()))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Clock for AsyncStd {
    /// The real monotonic time, `std::time::Instant::now()`: async-std has no clock of
    /// its own.
    fn now(&self) -> Instant {
        Instant::from_std(std::time::Instant::now())
    }

    /// An async-io timer at the absolute instant `deadline` (`async_io::Timer::at`): it
    /// completes once `std::time::Instant::now()` has reached the deadline, never before.
    /// [`Instant::MAX`] (or any deadline `std::time::Instant` cannot represent) never
    /// fires.
    #[track_caller]
    fn sleep_until(&self, deadline: Instant) -> Sleep {
        let Some(at) = deadline.to_std() else {
            return Sleep::never();
        };
        Sleep::new(
            deadline,
            TimerSleep {
                timer: Some(Timer::at(at)),
            },
        )
    }

    fn system_time(&self) -> SystemTime {
        SystemTime::now()
    }
}
