//! Fallible waits: [`Timeout`] and [`Interruptible`].

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use pin_project_lite::pin_project;

use crate::{Sleep, TimeError};

pin_project! {
    /// A future with a deadline; made by [`ClockExt::timeout`](crate::ClockExt::timeout)
    /// and [`ClockExt::timeout_at`](crate::ClockExt::timeout_at).
    ///
    /// The inner future is polled first, so one that is ready at the deadline wins.
    ///
    /// # Cancellation
    ///
    /// Dropping the `Timeout` drops the inner future and cancels the timer.
    #[must_use = "futures do nothing unless awaited"]
    pub struct Timeout<F> {
        #[pin]
        future: F,
        sleep: Sleep,
    }
}

impl<F> Timeout<F> {
    pub(crate) fn new(future: F, sleep: Sleep) -> Self {
        Timeout { future, sleep }
    }

    /// The inner future.
    pub fn get_ref(&self) -> &F {
        &self.future
    }

    /// Consumes the timeout, returning the inner future.
    pub fn into_inner(self) -> F {
        self.future
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, TimeError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(out) = this.future.poll(cx) {
            return Poll::Ready(Ok(out));
        }
        match this.sleep.poll_elapsed(cx) {
            Poll::Ready(Ok(())) => Poll::Ready(Err(TimeError::deadline(this.sleep.is_virtual()))),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

pin_project! {
    /// A future that hears the end of time and the idle timeout of its scope; made by
    /// [`ClockExt::interruptible`](crate::ClockExt::interruptible).
    ///
    /// It has no deadline of its own: it resolves `Ok(output)` when the inner future does,
    /// or `Err(e)` (`e.is_end_of_time()`, `e.is_idle_timeout()`, `e.is_shut_down()`) when
    /// the scope stops waiting for it.
    #[must_use = "futures do nothing unless awaited"]
    pub struct Interruptible<F> {
        #[pin]
        inner: Timeout<F>,
    }
}

impl<F> Interruptible<F> {
    pub(crate) fn new(future: F, never: Sleep) -> Self {
        Interruptible {
            inner: Timeout::new(future, never),
        }
    }
}

impl<F: Future> Future for Interruptible<F> {
    type Output = Result<F::Output, TimeError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx)
    }
}
