//! [`Sleep`]: the future a [`Clock`](crate::Clock) returns for a deadline.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use crate::engine::clock::EngineSleep;
use crate::{Instant, TimeError};

/// How a clock implements waiting for a deadline; wrapped by [`Sleep`].
///
/// Implementations MUST:
/// - resolve `Ok(())` from [`poll_elapsed`](SleepImpl::poll_elapsed) once the clock's
///   `now()` has reached the deadline, and not before;
/// - resolve `Err(_)` only when the clock can no longer reach the deadline (the end of
///   virtual time, an idle timeout, a shut-down scope); real clocks never do;
/// - register `cx`'s waker whenever they return `Pending`, as any future does.
///
/// [`poll_sleep`](SleepImpl::poll_sleep) is the *infallible* form behind
/// `Sleep: Future<Output = ()>`: a wait that can no longer complete stays pending, and the
/// scope that ended time cancels the task blocked on it (SPEC R13). Implementations that
/// tell fallible and infallible waiters apart (the virtual-time engine does) override it.
pub trait SleepImpl: Send + 'static {
    /// Polls for the deadline; `Err` when it can never be reached.
    fn poll_elapsed(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), TimeError>>;

    /// Polls for the deadline as an infallible wait: completes only on `Ok`.
    fn poll_sleep(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match self.poll_elapsed(cx) {
            Poll::Ready(Ok(())) => Poll::Ready(()),
            Poll::Ready(Err(_)) | Poll::Pending => Poll::Pending,
        }
    }

    /// Whether the clock behind this sleep is virtual (used for error messages).
    fn is_virtual(&self) -> bool {
        false
    }
}

/// A future that completes at a deadline of the [`Clock`](crate::Clock) that made it.
///
/// As a `Future` it is infallible (`Output = ()`): if its clock can no longer reach the
/// deadline (the end of virtual time), it stays pending and the owning scope cancels the
/// waiting task. To *observe* such endings, wait through
/// [`ClockExt::timeout`](crate::ClockExt::timeout) or
/// [`ClockExt::interruptible`](crate::ClockExt::interruptible), or call
/// [`Sleep::poll_elapsed`] directly.
///
/// Dropping a `Sleep` cancels its timer.
#[must_use = "a Sleep does nothing unless awaited"]
pub struct Sleep {
    deadline: Instant,
    virtual_clock: bool,
    state: State,
}

enum State {
    /// A proxy's own wait, held inline: no allocation on the hot path of every sleep.
    Engine(EngineSleep),
    Waiting(Pin<Box<dyn SleepImpl>>),
    Done(Option<Result<(), TimeError>>),
    Never,
}

impl Sleep {
    /// Wraps a clock's implementation of a wait until `deadline`.
    pub fn new(deadline: Instant, imp: impl SleepImpl) -> Self {
        Sleep {
            deadline,
            virtual_clock: imp.is_virtual(),
            state: State::Waiting(Box::pin(imp)),
        }
    }

    /// A proxy's wait, held without boxing.
    pub(crate) fn engine(deadline: Instant, imp: EngineSleep) -> Self {
        Sleep {
            deadline,
            virtual_clock: imp.is_virtual(),
            state: State::Engine(imp),
        }
    }

    /// A sleep whose outcome is already known: it resolves with `outcome` on first poll.
    pub fn finished(deadline: Instant, outcome: Result<(), TimeError>) -> Self {
        Sleep {
            deadline,
            virtual_clock: false,
            state: State::Done(Some(outcome)),
        }
    }

    /// A sleep that never completes and is never interrupted (a real clock's wait until
    /// [`Instant::MAX`]).
    pub fn never() -> Self {
        Sleep {
            deadline: Instant::MAX,
            virtual_clock: false,
            state: State::Never,
        }
    }

    /// The deadline this sleep waits for.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the clock behind this sleep is virtual.
    pub fn is_virtual(&self) -> bool {
        self.virtual_clock
    }

    /// Polls as a fallible wait: `Ok(())` at the deadline, `Err` when the clock can no
    /// longer reach it (end of time, idle timeout, shut-down scope).
    ///
    /// Once it returned `Ready`, further polls return the same outcome: a `Sleep` latches,
    /// whatever its implementation does when polled again.
    pub fn poll_elapsed(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), TimeError>> {
        match &mut self.state {
            State::Engine(imp) => {
                let outcome = std::task::ready!(Pin::new(imp).poll_elapsed(cx));
                self.state = State::Done(Some(outcome.clone()));
                Poll::Ready(outcome)
            }
            State::Waiting(imp) => {
                let outcome = std::task::ready!(imp.as_mut().poll_elapsed(cx));
                self.state = State::Done(Some(outcome.clone()));
                Poll::Ready(outcome)
            }
            State::Done(outcome) => Poll::Ready(outcome.clone().unwrap_or(Ok(()))),
            State::Never => Poll::Pending,
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        match &mut this.state {
            State::Engine(imp) => {
                std::task::ready!(Pin::new(imp).poll_sleep(cx));
                this.state = State::Done(Some(Ok(())));
                Poll::Ready(())
            }
            State::Waiting(imp) => {
                std::task::ready!(imp.as_mut().poll_sleep(cx));
                this.state = State::Done(Some(Ok(())));
                Poll::Ready(())
            }
            State::Done(outcome) => match outcome {
                Some(Err(_)) => Poll::Pending,
                _ => Poll::Ready(()),
            },
            State::Never => Poll::Pending,
        }
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}
