//! The layer a proxy wraps around each of its tasks: a waker of its own that tells the
//! scope when the task becomes runnable.
//!
//! Per task, one atomic state — `IDLE`, `SCHEDULED` or `DONE` — and the scope's `busy`
//! counter obey one protocol:
//! - a wake of an idle task adds one to `busy`, then flips `IDLE → SCHEDULED` (and takes
//!   the unit back if the flip fails): a unit is always counted before the state that
//!   stands for it, so the scope never looks idle while a task is runnable;
//! - a poll holds one unit of `busy` for its duration: it takes over the wake's unit
//!   (`SCHEDULED → IDLE`), or adds one for a poll nobody asked for, and gives it back on
//!   exit (a wake during the poll added its own unit);
//! - dropping the task flips it to `DONE` (returning a pending wake's unit); wakes after
//!   that change nothing, so a waker that outlives its task cannot leave `busy` stuck.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::Wake;

use pin_project_lite::pin_project;

use super::scope::ScopeState;
use crate::sync::{AtomicU8, AtomicU64, AtomicWaker};

const IDLE: u8 = 0;
const SCHEDULED: u8 = 1;
const DONE: u8 = 2;

/// The scope's view of one task (or of a run's root future).
pub(crate) struct TrackState {
    scope: Arc<ScopeState>,
    state: AtomicU8,
    /// The waker of the layer around this one (the runtime's, or a parent proxy's).
    outer: AtomicWaker,
    /// The scope's interruption era at the task's last poll.
    last_poll_era: AtomicU64,
}

impl TrackState {
    /// A task that is runnable from the start (it was just spawned).
    pub(crate) fn new_scheduled(scope: Arc<ScopeState>) -> Arc<Self> {
        scope.busy_inc();
        Arc::new(TrackState {
            scope,
            state: AtomicU8::new(SCHEDULED),
            outer: AtomicWaker::new(),
            last_poll_era: AtomicU64::new(0),
        })
    }

    /// Whether a wake is pending (the task is due to be polled).
    pub(crate) fn is_scheduled(&self) -> bool {
        self.state.load(Ordering::Acquire) == SCHEDULED
    }

    /// Idle, and (with `since = Some(e)`) not polled since interruption era `e`.
    pub(crate) fn is_idle_since(&self, since: Option<u64>) -> bool {
        self.state.load(Ordering::Acquire) == IDLE
            && since.is_none_or(|era| self.last_poll_era.load(Ordering::Acquire) < era)
    }

    /// Makes `waker` the one woken when this task is woken.
    ///
    /// A future that polls a tracked future only when it is scheduled (a run's root) must
    /// call this on *every* one of its own polls: a wake takes the registered waker, and a
    /// poll that skips the tracked future would otherwise leave none for the next wake.
    pub(crate) fn listen(&self, waker: &Waker) {
        self.outer.register(waker);
    }

    /// Polls `inner` as this task: holds a unit of `busy`, with this layer's waker.
    pub(crate) fn poll_as<F: Future + ?Sized>(
        self: &Arc<Self>,
        waker: &Waker,
        inner: Pin<&mut F>,
        cx: &mut Context<'_>,
    ) -> Poll<F::Output> {
        self.outer.register(cx.waker());
        if self
            .state
            .compare_exchange(SCHEDULED, IDLE, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            // Polled without a wake of ours: hold a unit for the poll anyway.
            self.scope.busy_inc();
        }
        self.last_poll_era
            .store(self.scope.interrupt_epoch(), Ordering::Release);
        let mut inner_cx = Context::from_waker(waker);
        let result = inner.poll(&mut inner_cx);
        self.scope.busy_dec();
        result
    }

    /// The task is gone: return a pending wake's unit; later wakes are ignored.
    pub(crate) fn finish(&self) {
        if self.state.swap(DONE, Ordering::AcqRel) == SCHEDULED {
            self.scope.busy_dec();
        }
    }
}

#[cfg(test)]
impl TrackState {
    /// The first half of a wake: the state flips, the outer waker is not called yet.
    pub(crate) fn begin_wake(&self) -> bool {
        self.scope.busy_inc();
        let flipped = self
            .state
            .compare_exchange(IDLE, SCHEDULED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if !flipped {
            self.scope.busy_dec();
        }
        flipped
    }

    /// The second half of a wake.
    pub(crate) fn finish_wake(&self) {
        self.outer.wake();
    }
}

impl Wake for TrackState {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // The unit first, the flip second: a poll that takes over the wake (`SCHEDULED →
        // IDLE`) must find its unit already counted, or the scope would look idle while
        // that poll runs. A wake of a task already scheduled or gone changes nothing.
        if self.state.load(Ordering::Acquire) == IDLE {
            self.scope.busy_inc();
            if self
                .state
                .compare_exchange(IDLE, SCHEDULED, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
            {
                self.scope.busy_dec();
            }
        }
        self.outer.wake();
    }
}

/// Removes a task or blocking job from its scope's registry when dropped.
pub(crate) struct RegistryGuard {
    scope: Arc<ScopeState>,
    id: u64,
    blocking: bool,
}

impl RegistryGuard {
    pub(crate) fn task(scope: Arc<ScopeState>, id: u64) -> Self {
        RegistryGuard {
            scope,
            id,
            blocking: false,
        }
    }

    pub(crate) fn blocking(scope: Arc<ScopeState>, id: u64) -> Self {
        RegistryGuard {
            scope,
            id,
            blocking: true,
        }
    }
}

impl Drop for RegistryGuard {
    fn drop(&mut self) {
        if self.blocking {
            self.scope.blocking_finished(self.id);
        } else {
            self.scope.task_finished(self.id);
        }
    }
}

pin_project! {
    /// A future tracked by a scope.
    pub(crate) struct Tracked<F> {
        #[pin]
        inner: F,
        state: Arc<TrackState>,
        waker: Waker,
        guard: Option<RegistryGuard>,
    }

    impl<F> PinnedDrop for Tracked<F> {
        fn drop(this: Pin<&mut Self>) {
            this.project().state.finish();
        }
    }
}

impl<F> Tracked<F> {
    /// Tracks `inner` with `state`; `guard` (for spawned tasks) leaves the registry on drop.
    pub(crate) fn new(inner: F, state: Arc<TrackState>, guard: Option<RegistryGuard>) -> Self {
        let waker = Waker::from(state.clone());
        Tracked {
            inner,
            state,
            waker,
            guard,
        }
    }
}

impl<F: Future> Future for Tracked<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        this.state.poll_as(this.waker, this.inner, cx)
    }
}
