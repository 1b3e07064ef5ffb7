//! [`Smol`]: an executor of smol's stack, its count of alive work, and its passes.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_executor::Executor;

use crate::passes::Passes;

/// smol's stack as a looptime [`Runtime`](looptime_api::Runtime): an
/// [`async_executor::Executor`] for tasks, the [`async_io`] reactor for timers and I/O,
/// and the [`blocking`] thread pool for blocking jobs.
///
/// Cheap to clone: every clone drives and spawns on the same executor, which lives as long
/// as the last clone (or the last task holding one).
///
/// The executor belongs to the `Smol` and is never handed out, so every task on it was
/// spawned through a `Smol` (usually through a [`Proxy`](looptime_api::Proxy) over it).
/// That is what makes [`alive_tasks`](looptime_api::Reactor::alive_tasks) exact.
///
/// The executor runs only while a [`block_on`](looptime_api::ReactorExt::block_on) of
/// some clone is in progress, on the thread that calls it: with one such call at a time,
/// every task runs on that one thread, in a deterministic order (SPEC R18). Work spawned
/// between runs waits, queued, for the next one.
#[derive(Clone)]
pub struct Smol {
    pub(crate) shared: Arc<Shared>,
}

/// What every clone of a [`Smol`] shares.
pub(crate) struct Shared {
    pub(crate) executor: Executor<'static>,
    /// Tasks and blocking jobs started through the `Smol` and not finished yet. Tasks hold
    /// a guard on the counter, not on `Shared`: a task that never ends must not keep the
    /// executor alive through its own count.
    pub(crate) alive: Arc<AtomicUsize>,
    pub(crate) passes: Arc<Passes>,
}

/// One unit of [`Shared::alive`], given back on drop.
pub(crate) struct AliveGuard {
    alive: Arc<AtomicUsize>,
}

impl Drop for AliveGuard {
    fn drop(&mut self) {
        self.alive.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Smol {
    /// A fresh executor, driven by [`block_on`](looptime_api::ReactorExt::block_on) on the
    /// calling thread: single-threaded and deterministic.
    pub fn new() -> Smol {
        Smol {
            shared: Arc::new(Shared {
                executor: Executor::new(),
                alive: Arc::new(AtomicUsize::new(0)),
                passes: Arc::new(Passes::default()),
            }),
        }
    }

    /// Counts one more unit of alive work, until the guard is dropped.
    pub(crate) fn alive_guard(&self) -> AliveGuard {
        self.shared.alive.fetch_add(1, Ordering::AcqRel);
        AliveGuard {
            alive: self.shared.alive.clone(),
        }
    }

    /// The tasks and blocking jobs started through this `Smol` (any clone) that have not
    /// finished yet.
    pub(crate) fn alive(&self) -> usize {
        self.shared.alive.load(Ordering::Acquire)
    }
}

impl Default for Smol {
    fn default() -> Self {
        Smol::new()
    }
}

impl fmt::Debug for Smol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Smol")
            .field("alive", &self.alive())
            .finish_non_exhaustive()
    }
}
