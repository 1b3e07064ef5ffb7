//! The work a [`Futures`](crate::Futures) has alive: an exact count for
//! [`alive_tasks`](looptime_api::Reactor::alive_tasks), and shutdown when the runtime goes.
//!
//! Every task the adapter spawns runs inside a [`Counted`] layer, and every blocking job
//! holds a [`JobGuard`]. The count goes up *before* the work is handed over (so it is
//! never seen running uncounted) and down only *after* the work's own future or closure
//! is dropped (so the layers inside it, such as a proxy's registry of live tasks, have
//! already let go: the count never falls below what a scope still sees alive). Between
//! the two it is exact. The pass helpers of `yield_now` go to the pool without this layer
//! and are never counted.
//!
//! The futures `ThreadPool` never drops a task that is waiting: the task and its waker
//! keep each other (and the pool) alive. So the layer also lets the runtime shut its
//! tasks down: when the last handle of the `Futures` is dropped, every task still alive
//! is woken and drops its future, which resolves its join handle to a cancellation (the
//! [`Spawner`](looptime_api::Spawner) contract), and the pool's threads then exit.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;
use looptime_api::Task;

/// The tasks and blocking jobs of one runtime.
#[derive(Default)]
pub(crate) struct TaskSet {
    /// Tasks and blocking jobs spawned and not yet dropped.
    alive: AtomicUsize,
    /// The runtime is gone: tasks drop their future at their next poll.
    closed: AtomicBool,
    /// The waker of every live task, to reach them at shutdown.
    wakers: Mutex<Wakers>,
}

#[derive(Default)]
struct Wakers {
    next: u64,
    by_key: HashMap<u64, Arc<AtomicWaker>>,
}

impl TaskSet {
    /// How many tasks and blocking jobs are alive.
    pub(crate) fn alive(&self) -> usize {
        self.alive.load(Ordering::Acquire)
    }

    fn wakers(&self) -> MutexGuard<'_, Wakers> {
        self.wakers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wraps `task` in the counting layer; counted from now on.
    pub(crate) fn counted(self: &Arc<Self>, task: Task) -> Counted {
        self.alive.fetch_add(1, Ordering::AcqRel);
        let waker = Arc::new(AtomicWaker::new());
        let key = {
            let mut wakers = self.wakers();
            let key = wakers.next;
            wakers.next += 1;
            wakers.by_key.insert(key, waker.clone());
            key
        };
        Counted {
            task: Some(task),
            waker,
            entry: Some(Entry {
                set: self.clone(),
                key: Some(key),
            }),
        }
    }

    /// Counts a blocking job until the guard is dropped.
    pub(crate) fn job(self: &Arc<Self>) -> JobGuard {
        self.alive.fetch_add(1, Ordering::AcqRel);
        JobGuard {
            entry: Entry {
                set: self.clone(),
                key: None,
            },
        }
    }

    /// The runtime is gone: every live task drops its future at its next poll, and is
    /// woken for it now.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let wakers: Vec<_> = self.wakers().by_key.values().cloned().collect();
        for waker in wakers {
            waker.wake();
        }
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

/// One unit of the count; gives it back on drop.
struct Entry {
    set: Arc<TaskSet>,
    /// The task's key among the wakers (`None` for a blocking job).
    key: Option<u64>,
}

impl Drop for Entry {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            self.set.wakers().by_key.remove(&key);
        }
        self.set.alive.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Keeps a blocking job counted while it runs.
pub(crate) struct JobGuard {
    entry: Entry,
}

impl JobGuard {
    /// Runs `job`, then gives the unit back (after the job and its captures are dropped).
    pub(crate) fn run(self, job: impl FnOnce()) {
        job();
        drop(self.entry);
    }
}

/// A task as the pool runs it: counted while alive, dropped when the runtime goes.
pub(crate) struct Counted {
    task: Option<Task>,
    waker: Arc<AtomicWaker>,
    entry: Option<Entry>,
}

impl Counted {
    /// Drops the task, then gives its unit of the count back.
    fn finish(&mut self) {
        self.task = None;
        self.entry = None;
    }
}

impl Future for Counted {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let Some(entry) = &this.entry else {
            return Poll::Ready(());
        };
        // Registered before the check, so a shutdown cannot slip in between unheard.
        this.waker.register(cx.waker());
        if entry.set.is_closed() {
            this.finish();
            return Poll::Ready(());
        }
        let Some(task) = this.task.as_mut() else {
            return Poll::Ready(());
        };
        match Pin::new(task).poll(cx) {
            Poll::Ready(()) => {
                this.finish();
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.finish();
    }
}
