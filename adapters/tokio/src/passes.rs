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
//!
//! `alive_tasks` asks whether to leave the helper out on every quiet check, so that
//! answer is one atomic flag, [`Passes::helper_alive`], read without a lock. It may only
//! ever err on the side of counting the helper, which keeps passes (counting too little
//! would let time jump while outside work could still wake a scope). So the flag is true
//! only while tokio surely counts the helper: it is raised by the helper itself, at its
//! first poll (tokio counts a task from inside `spawn`, before any worker can poll it),
//! and lowered when the helper's future is dropped (tokio's count lets a task go only
//! after its future is dropped). Between the spawn and the first poll, and between the
//! drop and tokio's release, the helper is counted as outside work: a few passes more,
//! never fewer. The readers read the flag on both sides of tokio's count (see
//! `alive_tasks`), so that a helper starting or ending while the count is read is not
//! left out of it.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
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
    /// The helper is alive and surely counted by tokio: true from its first poll until
    /// its future is dropped (see the module docs).
    counted: AtomicBool,
}

#[derive(Default)]
struct State {
    /// A helper was spawned and has not been dropped yet (decides whether to spawn one).
    spawned: bool,
    waiting: Vec<Arc<Latch>>,
}

impl Passes {
    /// Whether the helper task is alive and counted among the runtime's alive tasks: a
    /// lock-free read, made for every `alive_tasks`. False while the helper is spawned but
    /// not polled yet, or dropped but not yet released by tokio, when it may be counted
    /// all the same: then the count includes it, which errs on the safe side.
    pub(crate) fn helper_alive(&self) -> bool {
        self.counted.load(Ordering::Acquire)
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
                polled: false,
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
    /// It has raised [`Passes::counted`].
    polled: bool,
}

impl Future for Helper {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        if !this.polled {
            // Polled, so inside tokio's count since its spawn, until after its drop.
            this.polled = true;
            this.passes.counted.store(true, Ordering::Release);
        }
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
        // Lowered before `spawned`, under the lock: a helper spawned after this one cannot
        // raise the flag before this one lowers it.
        self.passes.counted.store(false, Ordering::Release);
        state.spawned = false;
        // The runtime is going away: release whoever waits, rather than leave them hanging.
        for request in self.batch.drain(..).chain(state.waiting.drain(..)) {
            request.set();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use looptime_api::{Reactor, ReactorExt, SpawnerExt};

    use crate::Tokio;

    #[test]
    fn the_helper_is_left_out_of_the_count() {
        let runtime = Tokio::multi_thread_with_workers(2).unwrap();
        assert_eq!(runtime.alive_tasks(), Some(0));
        for _ in 0..10 {
            // From the `block_on` thread, off the workers: a pass through the helper.
            runtime.block_on(runtime.yield_now()).unwrap();
            assert!(runtime.passes.helper_alive(), "polled, so counted");
            assert_eq!(runtime.alive_tasks(), Some(0));
        }
        let pending = runtime.spawn(std::future::pending::<()>());
        assert_eq!(runtime.alive_tasks(), Some(1));
        pending.abort();
        assert!(runtime.block_on(pending).unwrap().is_err());
        settles_at(&runtime, 0);
    }

    #[test]
    fn an_unpolled_helper_counts_as_outside_work() {
        let runtime = Tokio::multi_thread_with_workers(1).unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
        // The only worker is held, so the helper is spawned but cannot be polled yet.
        let blocker = runtime.spawn(async move {
            started_tx.send(()).unwrap();
            rx.recv().unwrap();
        });
        started_rx.recv().unwrap();
        let rt = runtime.clone();
        let pass = std::thread::spawn(move || rt.block_on(rt.yield_now()).unwrap());
        settles_at(&runtime, 2);
        assert!(!runtime.passes.helper_alive());
        tx.send(()).unwrap();
        pass.join().unwrap();
        runtime.block_on(blocker).unwrap().unwrap();
        assert!(runtime.passes.helper_alive());
        settles_at(&runtime, 0);
    }

    /// Waits (in real time, up to 5 s) until `runtime` counts `alive` tasks: tokio lets a
    /// task go a moment after its join handle completes.
    fn settles_at(runtime: &Tokio, alive: usize) {
        let until = Instant::now() + Duration::from_secs(5);
        while runtime.alive_tasks() != Some(alive) {
            assert!(
                Instant::now() < until,
                "stuck at {:?}",
                runtime.alive_tasks()
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}
