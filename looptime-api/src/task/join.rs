//! [`JoinHandle`] and [`JoinError`]: the result side of a spawned task or blocking job.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use std::any::Any;
use std::panic::Location;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::Wake;

use super::header::{CancelReason, ErasedSlot, TaskCell, TaskHeader, TaskRef, panic_text};
use crate::{SpawnError, TimeError};

/// Where a task's result waits for its [`JoinHandle`], beside the task's header in its
/// [`TaskCell`]; the handle's waker waits under the same lock.
pub(crate) struct JoinSlot<T> {
    state: Mutex<SlotState<T>>,
}

enum SlotState<T> {
    /// No result yet; the waker of the handle's last poll, if any.
    Pending(Option<Waker>),
    Done(Result<T, JoinError>),
    Taken,
    /// The handle was dropped first: a result is dropped on arrival.
    Detached,
}

impl<T: Send + 'static> ErasedSlot for JoinSlot<T> {}

/// A task's cell with a slot for an output of type `T`.
pub(crate) type Cell<T> = Arc<TaskCell<JoinSlot<T>>>;

/// The cell of a new task or job described by `header`.
pub(crate) fn new_cell<T>(header: TaskHeader) -> Cell<T> {
    Arc::new(TaskCell {
        header,
        track: OnceLock::new(),
        slot: JoinSlot {
            state: Mutex::new(SlotState::Pending(None)),
        },
    })
}

/// The waker of a task's innermost proxy layer (the cell's `track`): a wake of the task as
/// that proxy sees it.
impl<T: Send + 'static> Wake for TaskCell<JoinSlot<T>> {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if let Some(track) = self.track.get() {
            track.wake_ref();
        }
    }
}

impl<T> JoinSlot<T> {
    fn lock(&self) -> MutexGuard<'_, SlotState<T>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stores the result unless one is there already (or nobody can receive it); wakes
    /// the handle.
    fn complete(&self, result: Result<T, JoinError>) {
        let waker = {
            let mut state = self.lock();
            let SlotState::Pending(waker) = &mut *state else {
                drop(state);
                // A result nobody can receive is dropped here, outside the lock.
                drop(result);
                return;
            };
            let waker = waker.take();
            *state = SlotState::Done(result);
            waker
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// Delivers a task's output to its handle.
pub(crate) fn deliver_output<T>(cell: &TaskCell<JoinSlot<T>>, value: T) {
    cell.header.set_completed();
    cell.slot.complete(Ok(value));
}

/// Delivers a task's panic to its handle.
pub(crate) fn deliver_panic<T>(cell: &TaskCell<JoinSlot<T>>, payload: Box<dyn Any + Send>) {
    let header = &cell.header;
    let message = panic_text(&*payload);
    header.set_panicked(message.clone());
    cell.slot.complete(Err(JoinError {
        site: Some(header.site),
        repr: Repr::Panic(Mutex::new(Some(payload)), message),
    }));
}

/// Delivers a task's cancellation to its handle.
pub(crate) fn deliver_cancelled<T>(cell: &TaskCell<JoinSlot<T>>) {
    let header = &cell.header;
    let reason = header.abort_reason();
    header.set_cancelled();
    cell.slot.complete(Err(JoinError {
        site: Some(header.site),
        repr: Repr::Cancelled(reason),
    }));
}

/// The producing side of a [`JoinSlot`]: completes it, or cancels it when dropped unfinished.
///
/// It also stands for the task's innermost proxy layer in that proxy's registry: when it is
/// dropped (after the task's future, which is dropped first), the task leaves the registry
/// of the proxy whose tracking lives in the cell.
pub(crate) struct SlotSender<T> {
    cell: Cell<T>,
    sent: bool,
    /// The task's index in the registry of the proxy of the cell's `track`.
    registered: Option<usize>,
}

impl<T> SlotSender<T> {
    pub(crate) fn new(cell: Cell<T>) -> Self {
        SlotSender {
            cell,
            sent: false,
            registered: None,
        }
    }

    pub(crate) fn header(&self) -> &TaskHeader {
        &self.cell.header
    }

    pub(crate) fn cell(&self) -> &Cell<T> {
        &self.cell
    }

    /// The cell, and whether a result was sent (to set it when sending one).
    pub(crate) fn parts(&mut self) -> (&TaskCell<JoinSlot<T>>, &mut bool) {
        (&self.cell, &mut self.sent)
    }

    /// The task is in the registry of the proxy of the cell's `track`, at `index`.
    pub(crate) fn set_registered(&mut self, index: usize) {
        self.registered = Some(index);
    }

    pub(crate) fn send_output(&mut self, value: T) {
        self.sent = true;
        deliver_output(&self.cell, value);
    }

    pub(crate) fn send_panic(&mut self, payload: Box<dyn Any + Send>) {
        self.sent = true;
        deliver_panic(&self.cell, payload);
    }

    pub(crate) fn send_cancelled(&mut self) {
        self.sent = true;
        deliver_cancelled(&self.cell);
    }
}

impl<T: Send + 'static> SlotSender<T> {
    /// The task's header, shared.
    pub(crate) fn task_ref(&self) -> TaskRef {
        TaskRef::new(self.cell.clone())
    }
}

impl<T> Drop for SlotSender<T> {
    fn drop(&mut self) {
        if !self.sent {
            self.send_cancelled();
        }
        if let Some(index) = self.registered
            && let Some(track) = self.cell.track.get()
        {
            track.scope().task_finished(index, self.cell.header.id);
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
    cell: Cell<T>,
    /// The handle returned `Ready`: nothing of the task's result is left in the cell.
    received: bool,
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(cell: Cell<T>) -> Self {
        JoinHandle {
            cell,
            received: false,
        }
    }

    /// This handle, resolving at once to a refusal: the spawner did not accept the task
    /// (whatever the task's own side stored when the spawner dropped it is replaced; nobody
    /// has seen it, the handle was not returned yet).
    pub(crate) fn refused(self, error: SpawnError) -> Self {
        let header = &self.cell.header;
        let refusal = SlotState::Done(Err(JoinError {
            site: Some(header.site),
            repr: Repr::Refused(error),
        }));
        let previous = std::mem::replace(&mut *self.cell.slot.lock(), refusal);
        header.set_cancelled();
        drop(previous);
        self
    }

    /// Cancels the task. A task that has not finished resolves to
    /// [`JoinError::is_cancelled`]; a blocking job that already started cannot be stopped,
    /// its result is discarded.
    pub fn abort(&self) {
        self.cell.abort(CancelReason::Aborted);
    }

    /// Whether the task has finished (completed, panicked or been cancelled).
    pub fn is_finished(&self) -> bool {
        self.cell.header.is_finished()
    }

    /// A process-unique id of the task.
    pub fn id(&self) -> u64 {
        self.cell.header.id
    }

    /// Where the task was spawned.
    pub fn spawn_site(&self) -> &'static Location<'static> {
        self.cell.header.site
    }
}

impl<T> Unpin for JoinHandle<T> {}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let mut state = this.cell.slot.lock();
        match &mut *state {
            SlotState::Pending(waker) => {
                match waker {
                    Some(waker) if waker.will_wake(cx.waker()) => {}
                    _ => *waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
            SlotState::Done(_) => {
                let SlotState::Done(result) = std::mem::replace(&mut *state, SlotState::Taken)
                else {
                    unreachable!()
                };
                drop(state);
                this.received = true;
                if result.as_ref().is_err_and(JoinError::is_panic) {
                    this.cell.header.set_observed();
                }
                Poll::Ready(result)
            }
            SlotState::Taken | SlotState::Detached => {
                panic!("JoinHandle polled after it returned Ready")
            }
        }
    }
}

impl<T> Drop for JoinHandle<T> {
    /// Detaches the task. Its result is dropped now if it is there, or when it arrives
    /// (the cell itself may outlive the handle: proxies' registries and wakers hold it).
    fn drop(&mut self) {
        if self.received {
            return;
        }
        let previous = std::mem::replace(&mut *self.cell.slot.lock(), SlotState::Detached);
        drop(previous);
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.cell.header.id)
            .field("spawned_at", &format_args!("{}", self.cell.header.site))
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
