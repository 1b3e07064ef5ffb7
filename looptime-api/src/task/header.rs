//! What every task and blocking job carries: identity, spawn site, status, abort flag.

use std::panic::Location;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};

use futures_util::task::AtomicWaker;

use crate::TimeError;

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
    /// The waker of the task's innermost layer, to wake it on abort.
    pub(crate) waker: AtomicWaker,
    panic_message: Mutex<Option<String>>,
    observed: AtomicBool,
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

    /// Asks the task to stop; the first reason wins. Wakes it so it notices.
    pub(crate) fn abort(&self, reason: CancelReason) {
        {
            let mut slot = self.abort_reason.lock().unwrap_or_else(|p| p.into_inner());
            if slot.is_none() {
                *slot = Some(reason);
            }
        }
        self.abort_requested.store(true, Ordering::Release);
        self.waker.wake();
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
