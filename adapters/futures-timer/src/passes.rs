//! Scheduler passes on the futures `ThreadPool`: what `yield_now` waits for.
//!
//! A self-wake cannot make a pass on this executor while it has tasks. Woken while it is
//! being polled, a pool task is polled again at once on the same thread, without going
//! back through the queue; and the root future of `block_on` runs on a thread of its own,
//! where a self-wake gives the pool no turn at all. So a pass is a round trip through the
//! pool's queue (a FIFO shared by all workers) instead: the yielding future sends a
//! one-shot marker task to the back of the queue, and the pass is over when a worker
//! takes it, that is, once every task queued before it has been taken.
//!
//! - **From a pool task**, one trip: the marker wakes the yielder, which then queues
//!   behind whatever became ready meanwhile. A yield in a task therefore takes two trips
//!   through the queue before the task runs again: its marker's, then its own.
//! - **From anywhere else** (the `block_on` thread, another executor), two trips: when a
//!   worker takes the first marker, it sends a second one. A task in the middle of a
//!   yield is runnable all along, but needs those two trips to be polled again; a pass
//!   made from outside gives it them, so that every task ready when the pass began,
//!   yielding ones included, gets its turn. This is what lets work outside a scope keep
//!   pace with the scope's passes (SPEC R9).
//!
//! Markers go to the pool directly, without the counting layer: they are never part of
//! [`alive_tasks`](looptime_api::Reactor::alive_tasks).
//!
//! ## The empty pool: a pass made locally
//!
//! Those trips cost three cross-thread handoffs (two markers and the wake back), and a
//! scope whose root sleeps in `block_on` with nothing else alive makes one pass before
//! every jump. When the runtime has *no* live task at all when a pass begins (its first
//! poll reads the exact count of [`TaskSet`], the same one `alive_tasks` reports), the
//! pass is made on the spot instead: the pass wakes its own waker, returns `Pending`
//! once, and completes at the next poll. That is a whole pass, because everything a trip
//! could have given a turn is absent:
//!
//! - **no pool task is ready, or in the middle of a yield**: every task on the pool went
//!   through the counting layer (the pool is never handed out), counted from before it
//!   was queued until its future is dropped, so a count of zero means that the queue
//!   holds markers at most, and a marker runs no user code. (A pass polled by a task of
//!   this pool finds that task counted, so it never takes this path.) Blocking jobs are
//!   counted too: none is running either.
//! - **there is no I/O to poll**: this executor has no I/O loop of its own. The I/O made
//!   through the runtime lives on async-io's reactor, which async-io's own thread polls
//!   whatever the pool does, and so do futures-timer's thread and any other thread: a
//!   trip through the pool never polled them or waited for them, it only took some real
//!   time. (Waiting for I/O in flight is the virtual clock's business: its `io_patience`
//!   waits in real time for tracked I/O; no pass length ever promised that.)
//! - **what polls the pass gets its turn back**: the self-wake returns to the loop that
//!   polls the yielder (the `block_on` loop, or a foreign executor) before the pass
//!   completes, so whatever that loop runs beside it (other futures of the root) runs
//!   first, exactly as the wake from a marker would have let it. It is the very wake a
//!   marker would have delivered, through the same waker, only sooner and from this
//!   thread.
//!
//! **Tasks spawned meanwhile.** The count is read once, when the pass begins. A pass owes
//! a turn to what was ready *when it began*; a task spawned after that read is ordered
//! after the pass, just as one spawned right after the last marker was taken would be
//! with trips. Making such a task matter is the business of whoever spawns it: a spawn
//! through a scope (a [`Proxy`](looptime_api::Proxy)) is work of that scope, tracked
//! from the spawn, so the scope is busy (and is woken) at once and its count of quiet
//! passes starts again; a task spawned on the runtime directly is counted from the spawn,
//! so the next read of `alive_tasks` (virtual time reads it again after every pass,
//! before it may move) sees work outside the scope and makes the full `noop_cycles`
//! passes, through the pool. A spawn after that last read is concurrent with the jump
//! and may be ordered after it, with either kind of pass. Nothing else can put a task on
//! the pool: the count only rises through the adapter's own spawns.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use futures::executor::ThreadPool;
use looptime_api::Latch;

use crate::tasks::TaskSet;

thread_local! {
    /// The id of the pool whose worker this thread is (0: none).
    static WORKER_OF: Cell<u64> = const { Cell::new(0) };
}

/// A fresh pool id (never 0).
pub(crate) fn next_pool_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Marks the calling thread as a worker of pool `id` (from the pool's `after_start`).
pub(crate) fn mark_worker(id: u64) {
    WORKER_OF.with(|w| w.set(id));
}

fn is_worker_of(id: u64) -> bool {
    WORKER_OF.with(|w| w.get()) == id
}

/// What passes need of their runtime, shared by the runtime and its passes in flight.
pub(crate) struct Passes {
    pool: ThreadPool,
    pool_id: u64,
    /// The runtime's count of live tasks and blocking jobs.
    tasks: Arc<TaskSet>,
}

impl Passes {
    pub(crate) fn new(pool: ThreadPool, pool_id: u64, tasks: Arc<TaskSet>) -> Passes {
        Passes {
            pool,
            pool_id,
            tasks,
        }
    }

    /// One scheduler pass; it begins at its first poll.
    pub(crate) fn pass(self: &Arc<Self>) -> Pass {
        Pass {
            passes: self.clone(),
            state: PassState::Start,
        }
    }
}

/// One scheduler pass (see the module docs): made locally when the runtime has no live
/// task at its first poll, through the pool's queue otherwise.
pub(crate) struct Pass {
    passes: Arc<Passes>,
    state: PassState,
}

enum PassState {
    /// Not polled yet.
    Start,
    /// Made locally: woken already, done at the next poll.
    Local,
    /// Markers are on their way through the pool.
    Trips(Arc<Latch>),
}

impl Future for Pass {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        match &this.state {
            PassState::Start => {
                let passes = &*this.passes;
                if passes.tasks.alive() == 0 {
                    this.state = PassState::Local;
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                let request = Arc::new(Latch::new());
                let _ = request.poll_wait(cx);
                let trips = if is_worker_of(passes.pool_id) { 1 } else { 2 };
                passes.pool.spawn_ok(Marker {
                    request: Some(request.clone()),
                    pool: passes.pool.clone(),
                    trips_left: trips,
                });
                this.state = PassState::Trips(request);
                Poll::Pending
            }
            PassState::Local => Poll::Ready(()),
            PassState::Trips(request) => request.poll_wait(cx),
        }
    }
}

/// A marker task: when a worker takes it, it either sends the next trip's marker or
/// completes the pass.
struct Marker {
    request: Option<Arc<Latch>>,
    pool: ThreadPool,
    trips_left: u32,
}

impl Future for Marker {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if let Some(request) = this.request.take() {
            if this.trips_left > 1 {
                this.pool.spawn_ok(Marker {
                    request: Some(request),
                    pool: this.pool.clone(),
                    trips_left: this.trips_left - 1,
                });
            } else {
                request.set();
            }
        }
        Poll::Ready(())
    }
}

impl Drop for Marker {
    /// A marker dropped unpolled still releases its pass, rather than leave it hanging.
    fn drop(&mut self) {
        if let Some(request) = self.request.take() {
            request.set();
        }
    }
}
