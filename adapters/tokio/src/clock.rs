//! [`Clock`] for [`Tokio`]: tokio's timers, on the process-wide real-time origin.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::SystemTime;

use looptime_api::{Clock, Instant, Sleep, SleepImpl, TimeError};

use crate::Tokio;

/// A tokio timer as a looptime sleep: real clocks never fail.
struct TokioSleep(Pin<Box<tokio::time::Sleep>>);

impl SleepImpl for TokioSleep {
    fn poll_elapsed(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), TimeError>> {
        self.0.as_mut().poll(cx).map(Ok)
    }
}

impl Clock for Tokio {
    /// tokio's `Instant::now()` (real time, or tokio's paused time if the runtime pauses).
    fn now(&self) -> Instant {
        Instant::from_std(tokio::time::Instant::now().into_std())
    }

    /// A tokio timer. [`Instant::MAX`] (or any deadline tokio cannot represent) never fires.
    #[track_caller]
    fn sleep_until(&self, deadline: Instant) -> Sleep {
        let Some(at) = deadline.to_std() else {
            return Sleep::never();
        };
        let _context = self.handle.enter();
        Sleep::new(
            deadline,
            TokioSleep(Box::pin(tokio::time::sleep_until(at.into()))),
        )
    }

    fn system_time(&self) -> SystemTime {
        SystemTime::now()
    }
}
