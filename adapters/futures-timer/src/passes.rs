//! Scheduler passes on the futures `ThreadPool`: what `yield_now` waits for.
//!
//! A self-wake cannot make a pass on this executor. Woken while it is being polled, a
//! pool task is polled again at once on the same thread, without going back through the
//! queue; and the root future of `block_on` runs on a thread of its own, where a
//! self-wake gives the pool no turn at all. So a pass is a round trip through the pool's
//! queue (a FIFO shared by all workers) instead: the yielding future sends a one-shot
//! marker task to the back of the queue, and the pass is over when a worker takes it,
//! that is, once every task queued before it has been taken.
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

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use futures::executor::ThreadPool;
use looptime_api::Latch;

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

/// One scheduler pass through `pool`; the first marker is sent at the first poll.
pub(crate) struct Pass {
    pool: ThreadPool,
    pool_id: u64,
    request: Option<Arc<Latch>>,
}

impl Pass {
    pub(crate) fn new(pool: ThreadPool, pool_id: u64) -> Pass {
        Pass {
            pool,
            pool_id,
            request: None,
        }
    }
}

impl Future for Pass {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let request = match &this.request {
            Some(request) => request,
            None => {
                let request = Arc::new(Latch::new());
                let _ = request.poll_wait(cx);
                let trips = if is_worker_of(this.pool_id) { 1 } else { 2 };
                this.pool.spawn_ok(Marker {
                    request: Some(request.clone()),
                    pool: this.pool.clone(),
                    trips_left: trips,
                });
                this.request.insert(request)
            }
        };
        request.poll_wait(cx)
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
