//! [`JoinHandle`] and [`JoinError`]: the result side of a spawned task or blocking job.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::any::Any;
use std::panic::Location;
use std::sync::{Arc, Mutex};

use futures_util::task::AtomicWaker;

use super::header::{CancelReason, TaskHeader, panic_text};
use crate::{SpawnError, TimeError};

/// Where a task's result waits for its [`JoinHandle`].
pub(crate) struct JoinSlot<T> {
    state: Mutex<SlotState<T>>,
    waker: AtomicWaker,
}

enum SlotState<T> {
    Pending,
    Done(Result<T, JoinError>),
    Taken,
}

impl<T> JoinSlot<T> {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(JoinSlot {
            state: Mutex::new(SlotState::Pending),
            waker: AtomicWaker::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SlotState<T>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stores the result unless one is there already; wakes the handle.
    fn complete(&self, result: Result<T, JoinError>) {
        {
            let mut state = self.lock();
            if !matches!(*state, SlotState::Pending) {
                return;
            }
            *state = SlotState::Done(result);
        }
        self.waker.wake();
    }
}

/// The producing side of a [`JoinSlot`]: completes it, or cancels it when dropped unfinished.
pub(crate) struct SlotSender<T> {
    slot: Arc<JoinSlot<T>>,
    header: Arc<TaskHeader>,
    sent: bool,
}

impl<T> SlotSender<T> {
    pub(crate) fn new(slot: Arc<JoinSlot<T>>, header: Arc<TaskHeader>) -> Self {
        SlotSender {
            slot,
            header,
            sent: false,
        }
    }

    pub(crate) fn header(&self) -> &Arc<TaskHeader> {
        &self.header
    }

    pub(crate) fn send_output(&mut self, value: T) {
        self.header.set_completed();
        self.sent = true;
        self.slot.complete(Ok(value));
    }

    pub(crate) fn send_panic(&mut self, payload: Box<dyn Any + Send>) {
        let message = panic_text(&*payload);
        self.header.set_panicked(message.clone());
        self.sent = true;
        self.slot.complete(Err(JoinError {
            site: Some(self.header.site),
            repr: Repr::Panic(Mutex::new(Some(payload)), message),
        }));
    }

    pub(crate) fn send_cancelled(&mut self) {
        let reason = self.header.abort_reason();
        self.header.set_cancelled();
        self.sent = true;
        self.slot.complete(Err(JoinError {
            site: Some(self.header.site),
            repr: Repr::Cancelled(reason),
        }));
    }
}

impl<T> Drop for SlotSender<T> {
    fn drop(&mut self) {
        if !self.sent {
            self.send_cancelled();
        }
    }
}

/// An owned permission to await a spawned task or blocking job.
///
/// It is a future of `Result<T, JoinError>`. Dropping it *detaches* the task, which keeps
/// running; [`abort`](JoinHandle::abort) cancels it. A task that panics resolves to
/// [`JoinError::is_panic`]; a panic nobody receives through its handle is reported by the
/// owning proxy's [`check_and_shutdown`](crate::Proxy::check_and_shutdown).
///
/// # Panics
///
/// Polling it again after it returned `Ready` panics, as for most futures.
#[must_use = "dropping a JoinHandle detaches the task; bind it to `_handle` to keep it alive"]
pub struct JoinHandle<T> {
    slot: Arc<JoinSlot<T>>,
    header: Arc<TaskHeader>,
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(slot: Arc<JoinSlot<T>>, header: Arc<TaskHeader>) -> Self {
        JoinHandle { slot, header }
    }

    /// A handle that resolves at once to a refusal.
    pub(crate) fn refused(header: Arc<TaskHeader>, error: SpawnError) -> Self {
        let slot = JoinSlot::new();
        slot.complete(Err(JoinError {
            site: Some(header.site),
            repr: Repr::Refused(error),
        }));
        header.set_cancelled();
        JoinHandle { slot, header }
    }

    /// Cancels the task. A task that has not finished resolves to
    /// [`JoinError::is_cancelled`]; a blocking job that already started cannot be stopped,
    /// its result is discarded.
    pub fn abort(&self) {
        self.header.abort(CancelReason::Aborted);
    }

    /// Whether the task has finished (completed, panicked or been cancelled).
    pub fn is_finished(&self) -> bool {
        self.header.is_finished()
    }

    /// A process-unique id of the task.
    pub fn id(&self) -> u64 {
        self.header.id
    }

    /// Where the task was spawned.
    pub fn spawn_site(&self) -> &'static Location<'static> {
        self.header.site
    }
}

impl<T> Unpin for JoinHandle<T> {}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.slot.waker.register(cx.waker());
        let mut state = this.slot.lock();
        match std::mem::replace(&mut *state, SlotState::Taken) {
            SlotState::Pending => {
                *state = SlotState::Pending;
                Poll::Pending
            }
            SlotState::Done(result) => {
                if result.as_ref().is_err_and(JoinError::is_panic) {
                    this.header.set_observed();
                }
                Poll::Ready(result)
            }
            SlotState::Taken => panic!("JoinHandle polled after it returned Ready"),
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.header.id)
            .field("spawned_at", &format_args!("{}", self.header.site))
            .finish_non_exhaustive()
    }
}

/// A task did not produce its output: it was cancelled, it panicked, or it was never
/// accepted.
pub struct JoinError {
    site: Option<&'static Location<'static>>,
    repr: Repr,
}

enum Repr {
    Cancelled(CancelReason),
    /// The payload sits behind a mutex so that `JoinError` is `Sync`.
    Panic(Mutex<Option<Box<dyn Any + Send>>>, String),
    Refused(SpawnError),
}

impl JoinError {
    /// The task was cancelled: by [`JoinHandle::abort`], by its proxy's shutdown, by the end
    /// of time or an idle timeout, or because the runtime dropped it.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled(_))
    }

    /// The task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(..))
    }

    /// The spawner refused the task (for example, its proxy was shut down).
    pub fn is_refused(&self) -> bool {
        matches!(self.repr, Repr::Refused(_))
    }

    /// When the task was cancelled because its scope stopped waiting (end of time, idle
    /// timeout, shutdown), the reason.
    pub fn time_error(&self) -> Option<&TimeError> {
        match &self.repr {
            Repr::Cancelled(CancelReason::Time(e)) => Some(e),
            _ => None,
        }
    }

    /// The refusal, when the task was never accepted.
    pub fn spawn_error(&self) -> Option<&SpawnError> {
        match &self.repr {
            Repr::Refused(e) => Some(e),
            _ => None,
        }
    }

    /// The panic message, when the task panicked.
    pub fn panic_message(&self) -> Option<&str> {
        match &self.repr {
            Repr::Panic(_, message) => Some(message),
            _ => None,
        }
    }

    /// The panic payload (to resume it with `std::panic::resume_unwind`), or the error
    /// itself when the task did not panic.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send>, JoinError> {
        match self.repr {
            Repr::Panic(payload, message) => {
                match payload.into_inner().unwrap_or_else(|p| p.into_inner()) {
                    Some(payload) => Ok(payload),
                    None => Err(JoinError {
                        site: self.site,
                        repr: Repr::Panic(Mutex::new(None), message),
                    }),
                }
            }
            repr => Err(JoinError {
                site: self.site,
                repr,
            }),
        }
    }

    /// Where the task was spawned.
    pub fn spawn_site(&self) -> Option<&'static Location<'static>> {
        self.site
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.site {
            Some(site) => write!(f, "task spawned at {site} ")?,
            None => f.write_str("task ")?,
        }
        match &self.repr {
            Repr::Cancelled(CancelReason::Aborted) => f.write_str("was aborted"),
            Repr::Cancelled(CancelReason::Dropped) => {
                f.write_str("was dropped by its runtime before it finished")
            }
            Repr::Cancelled(CancelReason::Time(e)) => write!(f, "was cancelled: {e}"),
            Repr::Panic(_, message) => write!(f, "panicked: {message}"),
            Repr::Refused(e) => write!(f, "was refused: {e}"),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JoinError({self})")
    }
}

impl std::error::Error for JoinError {}
