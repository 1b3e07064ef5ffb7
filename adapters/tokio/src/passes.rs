//! Scheduler passes for code that runs off the workers of a multi-thread runtime.
//!
//! On a multi-thread runtime the thread inside `block_on` is not a worker: a
//! `tokio::task::yield_now` there wakes at once, and no worker takes a turn. A pass from
//! there is a round trip through the workers instead: one long-lived helper task takes
//! every pending request, yields once (tokio defers that wake until the worker has polled
//! its I/O), and completes the whole batch. One task for every pass keeps
//! [`alive_tasks`](looptime_api::Reactor::alive_tasks) exact: the adapter knows the helper
//! and leaves it out of the count. (A task per pass would linger in tokio's count for a
//! moment after it completes, and the count would never match.)

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;
use looptime_api::{BoxFuture, Latch};
use tokio::runtime::Handle;

/// The pass helper of one runtime.
#[derive(Default)]
pub(crate) struct Passes {
    state: Mutex<State>,
    helper: AtomicWaker,
}

#[derive(Default)]
struct State {
    spawned: bool,
    waiting: Vec<Arc<Latch>>,
}

impl Passes {
    /// Whether the helper task exists (and so counts among the runtime's alive tasks).
    pub(crate) fn helper_alive(&self) -> bool {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).spawned
    }

    /// A pass through the workers of the runtime behind `handle`.
    pub(crate) fn pass(self: &Arc<Self>, handle: &Handle) -> BoxFuture {
        let request = Arc::new(Latch::new());
        let spawn = {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            state.waiting.push(request.clone());
            !std::mem::replace(&mut state.spawned, true)
        };
        if spawn {
            drop(handle.spawn(Helper {
                passes: self.clone(),
                batch: Vec::new(),
                yielding: None,
            }));
        }
        self.helper.wake();
        Box::pin(PassFuture { request })
    }
}

struct PassFuture {
    request: Arc<Latch>,
}

impl Future for PassFuture {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.request.poll_wait(cx)
    }
}

/// The helper task: takes a batch, yields once, completes the batch.
struct Helper {
    passes: Arc<Passes>,
    batch: Vec<Arc<Latch>>,
    yielding: Option<BoxFuture>,
}

impl Future for Helper {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        loop {
            if let Some(yielding) = &mut this.yielding {
                if yielding.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                this.yielding = None;
                for request in this.batch.drain(..) {
                    request.set();
                }
            }
            this.passes.helper.register(cx.waker());
            let mut state = this.passes.state.lock().unwrap_or_else(|p| p.into_inner());
            if state.waiting.is_empty() {
                return Poll::Pending;
            }
            std::mem::swap(&mut this.batch, &mut state.waiting);
            drop(state);
            this.yielding = Some(Box::pin(tokio::task::yield_now()));
        }
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        let mut state = self.passes.state.lock().unwrap_or_else(|p| p.into_inner());
        state.spawned = false;
        // The runtime is going away: release whoever waits, rather than leave them hanging.
        for request in self.batch.drain(..).chain(state.waiting.drain(..)) {
            request.set();
        }
    }
}
