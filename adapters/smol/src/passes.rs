//! Scheduler passes on smol's stack: what [`Reactor::yield_now`](looptime_api::Reactor::yield_now)
//! waits for.
//!
//! A self-waking yield (`futures_lite::future::yield_now`) is not a pass here:
//! - a task on the executor that wakes itself goes back on the executor's queue and
//!   `Executor::run` runs it again within the same poll (its loop runs up to 200 tasks per
//!   poll), before the async-io reactor has polled any I/O, and before the root future of
//!   `block_on` is polled again;
//! - only the root of `async_io::block_on` gets the reactor between two polls from a
//!   self-wake (`block_on` then calls `react` with a zero timeout).
//!
//! So passes are counted by the `block_on` loop itself. Each `block_on` of a [`Smol`]
//! wraps its future in a [`Drive`] layer, and every poll of that layer starts a new pass.
//! Between two polls, `async_io::block_on` has let the reactor poll I/O (with a zero
//! timeout when the future woke itself, or waiting for events otherwise; while another
//! thread holds the reactor, async-io's helper thread or another `block_on`, that thread
//! polls it instead, concurrently). A
//! [`YieldNow`] records the pass in which it was first polled, parks its waker, wakes the
//! `block_on` loops, and completes in a later pass. In the poll that starts that pass the
//! parked wakers are woken *before* the executor runs: the root (polled first by
//! `Executor::run`) resumes at once, tasks join the back of the executor's queue, behind
//! every task that was ready before, including those the reactor just woke.
//!
//! A yield polled while no `block_on` of its `Smol` is in progress (from a foreign
//! executor, say) cannot count on a pass and falls back to a plain self-wake.
//!
//! The pass counter changes only under the lock, in the poll that starts a pass (or when
//! the last loop leaves), and a yield records it under the lock as it parks its waker.
//! So a yield polled again can read the counter without the lock: any other value means
//! that a pass started after it parked, and that it is done. And the loops need waking
//! only once per pass: a yield that finds them already woken in the current pass leaves
//! them be (a loop woken in this pass has not started the next one, which it will, and
//! a loop that registers a new waker starts a new pass as it does).
//!
//! [`Smol`]: crate::Smol

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// The pass counter of one `Smol`, the yields waiting for the next pass, and the
/// `block_on` loops in progress.
#[derive(Default)]
pub(crate) struct Passes {
    state: Mutex<State>,
    /// Bumped at the start of every poll of a `block_on` loop. Written only under the lock
    /// of `state`; read without it by yields checking whether a pass began.
    pass: AtomicU64,
}

#[derive(Default)]
struct State {
    /// The last pass in which a yield woke the loops.
    woken_in: Option<u64>,
    /// Yields waiting for the next pass.
    waiting: Vec<Waker>,
    /// The `block_on` loops in progress, by id, with the waker of each (once polled).
    drivers: Vec<(u64, Option<Waker>)>,
    next_driver: u64,
}

impl Passes {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current pass.
    fn pass(&self) -> u64 {
        self.pass.load(Ordering::Acquire)
    }

    /// Starts a new pass; called with the lock held (`_held`), so the count changes only
    /// under the lock.
    fn next_pass(&self, _held: &mut State) {
        self.pass.fetch_add(1, Ordering::AcqRel);
    }

    /// Wraps the future of a `block_on` loop, counting its polls as passes.
    pub(crate) fn drive<F: Future + Unpin>(self: &Arc<Self>, inner: F) -> Drive<F> {
        let id = {
            let mut st = self.lock();
            let id = st.next_driver;
            st.next_driver += 1;
            st.drivers.push((id, None));
            id
        };
        Drive {
            passes: self.clone(),
            id,
            inner,
            woken: Vec::new(),
        }
    }

    /// One scheduler pass.
    pub(crate) fn yield_now(self: &Arc<Self>) -> YieldNow {
        YieldNow {
            passes: self.clone(),
            state: YieldState::Start,
        }
    }
}

/// The future of a `block_on` loop, each poll of which starts a pass.
pub(crate) struct Drive<F> {
    passes: Arc<Passes>,
    id: u64,
    inner: F,
    /// Reused buffer for the wakers released at the start of a pass.
    woken: Vec<Waker>,
}

impl<F: Future + Unpin> Future for Drive<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        {
            let mut st = this.passes.lock();
            this.passes.next_pass(&mut st);
            if let Some((_, slot)) = st.drivers.iter_mut().find(|(id, _)| *id == this.id) {
                match slot {
                    Some(waker) if waker.will_wake(cx.waker()) => {}
                    _ => *slot = Some(cx.waker().clone()),
                }
            }
            std::mem::swap(&mut st.waiting, &mut this.woken);
        }
        for waker in this.woken.drain(..) {
            waker.wake();
        }
        Pin::new(&mut this.inner).poll(cx)
    }
}

impl<F> Drop for Drive<F> {
    fn drop(&mut self) {
        let mut st = self.passes.lock();
        st.drivers.retain(|(id, _)| *id != self.id);
        if !st.drivers.is_empty() {
            return;
        }
        // The last loop is leaving: release whoever waits rather than leave them hanging.
        self.passes.next_pass(&mut st);
        let waiting = std::mem::take(&mut st.waiting);
        drop(st);
        for waker in waiting {
            waker.wake();
        }
    }
}

/// The future of [`Passes::yield_now`]: completes in a later pass than its first poll.
pub(crate) struct YieldNow {
    passes: Arc<Passes>,
    state: YieldState,
}

enum YieldState {
    /// Not polled yet.
    Start,
    /// Parked in pass `pass`, with the waker last registered.
    Waiting {
        pass: u64,
        waker: Waker,
    },
    /// No `block_on` in progress: a plain self-wake, done at the next poll.
    SelfWoken,
    Done,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        match &mut this.state {
            YieldState::Done => Poll::Ready(()),
            YieldState::SelfWoken => {
                this.state = YieldState::Done;
                Poll::Ready(())
            }
            YieldState::Start => {
                let mut st = this.passes.lock();
                if st.drivers.is_empty() {
                    drop(st);
                    this.state = YieldState::SelfWoken;
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                st.waiting.push(cx.waker().clone());
                let pass = this.passes.pass();
                // Wake the loops so that they come round for the next pass instead of
                // waiting for I/O; once per pass is enough (see the module docs). Their
                // wakers are async-io's `block_on` wakers, which only unpark a thread (and
                // may interrupt the reactor's wait): they never call back here, so waking
                // them under the lock is safe.
                if st.woken_in != Some(pass) {
                    st.woken_in = Some(pass);
                    for waker in st.drivers.iter().filter_map(|(_, waker)| waker.as_ref()) {
                        waker.wake_by_ref();
                    }
                }
                this.state = YieldState::Waiting {
                    pass,
                    waker: cx.waker().clone(),
                };
                Poll::Pending
            }
            YieldState::Waiting { pass, waker } => {
                // Lock-free: the count only moves under the lock, after this yield parked.
                if this.passes.pass() != *pass {
                    this.state = YieldState::Done;
                    return Poll::Ready(());
                }
                if waker.will_wake(cx.waker()) {
                    return Poll::Pending;
                }
                let mut st = this.passes.lock();
                if this.passes.pass() != *pass {
                    drop(st);
                    this.state = YieldState::Done;
                    return Poll::Ready(());
                }
                st.waiting.push(cx.waker().clone());
                *waker = cx.waker().clone();
                Poll::Pending
            }
        }
    }
}
