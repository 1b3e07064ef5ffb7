//! Scheduler passes (for [`Reactor::yield_now`](looptime_api::Reactor::yield_now)).
//!
//! async-std runs spawned tasks on a pool of worker threads (async-global-executor's
//! global `async_executor::Executor`), while `block_on` polls its root on the calling
//! thread, outside that executor. `async_std::task::yield_now` only wakes its own waker
//! and returns `Pending` once:
//!
//! - in a `block_on` root that wake goes to `block_on`'s own parker, and the root is
//!   polled again at once: no worker takes a turn;
//! - in a task, the executor pushes the woken task to the back of its global FIFO queue,
//!   so the tasks ahead of it are *taken* first, by any worker; but one that another
//!   worker has just taken may still be in its poll when the yielding task is polled
//!   again on its own worker.
//!
//! So a pass is a trip through the workers, from anywhere: it spawns a small task on the
//! global executor, which lands at the back of the global queue, behind every task that
//! was already runnable, and wakes the caller when a worker polls it. A caller that is
//! itself a task then goes to the back of the queue once more: two trips through the
//! queue, which gives the tasks other workers took the time to finish their poll. (No
//! multi-thread executor can promise more than "taken" for them; tokio's multi-thread
//! flavour cannot either.) A caller in a `block_on` root is woken through
//! `async_io::block_on`, which polls the reactor (I/O and timers) before it polls the
//! root again, unless another thread holds the reactor, blocked in it, and so handles
//! I/O events as they come. Idle workers do the same: a worker with no task to run
//! blocks in the reactor.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use looptime_api::Latch;

/// One scheduler pass: a trip through the workers of the global executor.
pub(crate) fn pass() -> Pass {
    Pass { request: None }
}

/// The future of [`pass`].
pub(crate) struct Pass {
    request: Option<Arc<Latch>>,
}

impl Future for Pass {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let request = match &self.request {
            Some(request) => request,
            // The trip starts at the first poll, so a pass counts from when it is
            // awaited, and its end always comes as a wake, through the runtime's loop.
            None => {
                let request = Arc::new(Latch::new());
                let _ = request.poll_wait(cx);
                let trip = request.clone();
                let spawned = async_std::task::Builder::new().spawn(async move { trip.set() });
                match spawned {
                    // Dropping async-std's join handle detaches the task.
                    Ok(handle) => drop(handle),
                    // No executor to pass through: nothing else can run either.
                    Err(_) => return Poll::Ready(()),
                }
                self.request = Some(request);
                return Poll::Pending;
            }
        };
        request.poll_wait(cx)
    }
}
