//! What every task and blocking job carries: identity, spawn site, status, abort flag; and
//! the one allocation it lives in with its result slot and its first proxy's tracking.

use core::ops::Deref;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use futures_util::task::AtomicWaker;

use crate::TimeError;
use crate::proxy::tracking::TrackState;

/// Why a task was cancelled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CancelReason {
    /// `JoinHandle::abort`.
    Aborted,
    /// The runtime dropped the task without finishing it.
    Dropped,
    /// The owning scope stopped waiting for it: end of time, idle timeout or shutdown.
    Time(TimeError),
}

const RUNNING: u8 = 0;
const COMPLETED: u8 = 1;
const PANICKED: u8 = 2;
const CANCELLED: u8 = 3;

/// Shared by a task's join handle, its wrappers in every proxy, and leak reports.
pub(crate) struct TaskHeader {
    pub(crate) id: u64,
    pub(crate) site: &'static Location<'static>,
    pub(crate) name: Option<String>,
    /// Internal helpers of the library itself: cancelled at shutdown, never reported.
    pub(crate) internal: bool,
    status: AtomicU8,
    abort_requested: AtomicBool,
    abort_reason: Mutex<Option<CancelReason>>,
    /// The waker of the task's innermost layer, to wake it on abort, when no proxy took
    /// the task (otherwise the innermost layer is the cell's `track`, and abort wakes that).
    pub(crate) waker: AtomicWaker,
    panic_message: Mutex<Option<String>>,
    observed: AtomicBool,
}

/// One allocation per task or blocking job: its header, the tracking of the first proxy it
/// was spawned through, and the slot its result waits in for the join handle (`S`: a
/// [`JoinSlot`](super::join::JoinSlot) of the output type, or `dyn ErasedSlot` once the type is
/// erased).
pub(crate) struct TaskCell<S: ?Sized> {
    pub(crate) header: TaskHeader,
    /// The innermost proxy layer of a task, set when the first proxy takes the task: that
    /// proxy's view of the task, kept here rather than in an allocation of its own. The
    /// task's innermost future (`Joined`, in `task::work`) polls through it, with the cell as the
    /// layer's waker. Never set for blocking jobs.
    pub(crate) track: OnceLock<TrackState>,
    pub(crate) slot: S,
}

impl<S: ?Sized> TaskCell<S> {
    /// The task's innermost proxy layer, if a proxy took it.
    pub(crate) fn inline_track(&self) -> Option<&TrackState> {
        self.track.get()
    }

    /// Asks the task to stop; the first reason wins. Wakes it so it notices: through its
    /// innermost proxy layer, which is the waker its innermost layer polls with, or
    /// through the waker of its last poll.
    pub(crate) fn abort(&self, reason: CancelReason) {
        self.header.request_abort(reason);
        match self.track.get() {
            Some(track) => track.wake_ref(),
            None => self.header.waker.wake(),
        }
    }
}

/// A result slot whose output type is erased.
pub(crate) trait ErasedSlot: Send + Sync {}

/// A shared reference to a task's header, whatever its output type: what tasks, proxies'
/// registries and leak reports hold. Points into the task's [`TaskCell`], so it costs no
/// allocation of its own.
#[derive(Clone)]
pub(crate) struct TaskRef(Arc<TaskCell<dyn ErasedSlot>>);

impl TaskRef {
    pub(crate) fn new<S: ErasedSlot + 'static>(cell: Arc<TaskCell<S>>) -> Self {
        TaskRef(cell)
    }

    /// See [`TaskCell::abort`].
    pub(crate) fn abort(&self, reason: CancelReason) {
        self.0.abort(reason);
    }

    /// See [`TaskCell::inline_track`].
    pub(crate) fn inline_track(&self) -> Option<&TrackState> {
        self.0.inline_track()
    }
}

impl Deref for TaskRef {
    type Target = TaskHeader;

    fn deref(&self) -> &TaskHeader {
        &self.0.header
    }
}

/// The next id of a tracked object (tasks, jobs, I/O): one sequence, so creation order is
/// comparable across kinds.
pub(crate) fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl TaskHeader {
    pub(crate) fn new(
        site: &'static Location<'static>,
        name: Option<String>,
        internal: bool,
    ) -> Self {
        TaskHeader {
            id: next_id(),
            site,
            name,
            internal,
            status: AtomicU8::new(RUNNING),
            abort_requested: AtomicBool::new(false),
            abort_reason: Mutex::new(None),
            waker: AtomicWaker::new(),
            panic_message: Mutex::new(None),
            observed: AtomicBool::new(false),
        }
    }

    /// Asks the task to stop; the first reason wins. The caller wakes the task
    /// ([`TaskCell::abort`]).
    fn request_abort(&self, reason: CancelReason) {
        {
            let mut slot = self.abort_reason.lock().unwrap_or_else(|p| p.into_inner());
            if slot.is_none() {
                *slot = Some(reason);
            }
        }
        self.abort_requested.store(true, Ordering::Release);
    }

    pub(crate) fn abort_requested(&self) -> bool {
        self.abort_requested.load(Ordering::Acquire)
    }

    pub(crate) fn abort_reason(&self) -> CancelReason {
        self.abort_reason
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or(CancelReason::Dropped)
    }

    pub(crate) fn set_completed(&self) {
        self.status.store(COMPLETED, Ordering::Release);
    }

    pub(crate) fn set_cancelled(&self) {
        self.status.store(CANCELLED, Ordering::Release);
    }

    pub(crate) fn set_panicked(&self, message: String) {
        *self.panic_message.lock().unwrap_or_else(|p| p.into_inner()) = Some(message);
        self.status.store(PANICKED, Ordering::Release);
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.status.load(Ordering::Acquire) != RUNNING
    }

    /// The panic message, if the task panicked.
    pub(crate) fn panic_message(&self) -> Option<String> {
        if self.status.load(Ordering::Acquire) != PANICKED {
            return None;
        }
        self.panic_message
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Someone received this task's panic through its join handle.
    pub(crate) fn set_observed(&self) {
        self.observed.store(true, Ordering::Release);
    }

    /// A panic nobody received yet.
    pub(crate) fn unobserved_panic(&self) -> Option<String> {
        if self.observed.load(Ordering::Acquire) {
            return None;
        }
        self.panic_message()
    }
}

/// Renders a panic payload as text.
pub(crate) fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_owned()
    }
}
