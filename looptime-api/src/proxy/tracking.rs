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
//!
//! A run's root has one more bit, `HELD`, raised while its [`Run`](crate::Run) is inside
//! a poll of its own and will look at the state again before it returns. A wake that
//! flips such a root to `SCHEDULED` does not call the outer waker: the run polls the root
//! in the same poll (after a jump of its driver, whose timers woke it), or wakes itself
//! when it lets go of the bit and finds the root scheduled. The flip and the letting go
//! are read-modify-writes of one atomic, so the run sees every wake that skipped the
//! outer waker, and everything that came before that wake.
//!
//! Where the state lives does not change the protocol. The first proxy that takes a
//! spawned task keeps it in the task's own cell (no allocation of its own; the cell is that
//! layer's waker, and the task's innermost future polls through it, see `task::work`);
//! each further proxy (nested scopes) adds a [`Layer`] with a `TrackState` of its own; a
//! run's root is wrapped in a [`Tracked`].

use core::future::Future;
use core::pin::{Pin, pin};
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
/// A flag beside the state: the root's run is inside its poll (see the module docs).
const HELD: u8 = 4;

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
        Arc::new(Self::scheduled(scope))
    }

    /// [`new_scheduled`](Self::new_scheduled), in place: the tracking that lives in a
    /// task's own cell.
    pub(crate) fn scheduled(scope: Arc<ScopeState>) -> Self {
        scope.busy_inc();
        TrackState {
            scope,
            state: AtomicU8::new(SCHEDULED),
            outer: AtomicWaker::new(),
            last_poll_era: AtomicU64::new(0),
        }
    }

    /// The scope this task belongs to.
    pub(crate) fn scope(&self) -> &Arc<ScopeState> {
        &self.scope
    }

    /// Whether a wake is pending (the task is due to be polled).
    pub(crate) fn is_scheduled(&self) -> bool {
        self.state.load(Ordering::Acquire) & SCHEDULED != 0
    }

    /// Idle, and (with `since = Some(e)`) not polled since interruption era `e`.
    pub(crate) fn is_idle_since(&self, since: Option<u64>) -> bool {
        self.state.load(Ordering::Acquire) & !HELD == IDLE
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

    /// The run is inside a poll of its own and will call [`release`](Self::release)
    /// before it returns: wakes that schedule the root meanwhile leave the outer waker
    /// alone.
    pub(crate) fn hold(&self) {
        self.state.fetch_or(HELD, Ordering::AcqRel);
    }

    /// The run is leaving its poll; `true` if the root is scheduled, which the outer waker
    /// may not have heard of: the run must then have itself polled again.
    pub(crate) fn release(&self) -> bool {
        self.state.fetch_and(!HELD, Ordering::AcqRel) & SCHEDULED != 0
    }

    /// Polls `inner` as this task: holds a unit of `busy`, with this layer's waker.
    pub(crate) fn poll_as<F: Future + ?Sized>(
        &self,
        waker: &Waker,
        inner: Pin<&mut F>,
        cx: &mut Context<'_>,
    ) -> Poll<F::Output> {
        self.outer.register(cx.waker());
        self.poll_listened(waker, inner)
    }

    /// [`poll_as`](Self::poll_as) for a caller that has registered the outer waker with
    /// [`listen`](Self::listen) during this same poll of its own.
    pub(crate) fn poll_listened<F: Future + ?Sized>(
        &self,
        waker: &Waker,
        inner: Pin<&mut F>,
    ) -> Poll<F::Output> {
        if self.state.fetch_and(!SCHEDULED, Ordering::AcqRel) & SCHEDULED == 0 {
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
        if self.state.swap(DONE, Ordering::AcqRel) & SCHEDULED != 0 {
            self.scope.busy_dec();
        }
    }

    /// A wake of this task (what its waker does, whether the state is in an `Arc` of its
    /// own or in the task's cell).
    pub(crate) fn wake_ref(&self) {
        // The unit first, the flip second: a poll that takes over the wake (`SCHEDULED →
        // IDLE`) must find its unit already counted, or the scope would look idle while
        // that poll runs. A wake of a task already scheduled or gone changes nothing, but
        // still writes the state (the same value): a poll that takes over the earlier
        // wake after this write sees what came before this wake too.
        let mut state = self.state.load(Ordering::Acquire);
        let mut unit = false;
        let held = loop {
            let next = if state & !HELD == IDLE {
                if !unit {
                    self.scope.busy_inc();
                    unit = true;
                }
                state | SCHEDULED
            } else {
                state
            };
            match self
                .state
                .compare_exchange(state, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    if next != state {
                        // The flip: the unit is the task's now.
                        unit = false;
                    }
                    break state & HELD != 0;
                }
                Err(now) => state = now,
            }
        };
        if unit {
            self.scope.busy_dec();
        }
        // A held root is looked at again by its run before the run returns.
        if !held {
            self.outer.wake();
        }
    }
}

#[cfg(all(test, not(looptime_loom)))]
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
        self.wake_ref();
    }
}

/// Removes a blocking job from its scope's registry when dropped.
pub(crate) struct RegistryGuard {
    scope: Arc<ScopeState>,
    id: u64,
}

impl RegistryGuard {
    pub(crate) fn blocking(scope: Arc<ScopeState>, id: u64) -> Self {
        RegistryGuard { scope, id }
    }
}

impl Drop for RegistryGuard {
    fn drop(&mut self) {
        self.scope.blocking_finished(self.id);
    }
}

/// The tracking of a spawned task by a proxy other than the first that took it (nested
/// scopes: the first one's lives in the task's cell), kept in the [`Task`](crate::Task)
/// itself rather than as a future wrapped around it: the state, this layer's waker, and the
/// task's place in the scope's registry, which it leaves when dropped.
pub(crate) struct Layer {
    state: Arc<TrackState>,
    waker: Waker,
    /// The task's index in the scope's registry, and its id.
    index: usize,
    id: u64,
}

impl Layer {
    /// The layer of the task `id`, registered at `index` in `state`'s scope.
    pub(crate) fn task(state: Arc<TrackState>, index: usize, id: u64) -> Self {
        let waker = Waker::from(state.clone());
        Layer {
            state,
            waker,
            index,
            id,
        }
    }
}

impl Drop for Layer {
    fn drop(&mut self) {
        self.state.scope.task_finished(self.index, self.id);
    }
}

/// A task's [`Layer`]s, inner to outer (an empty list does not allocate).
///
/// They behave as nested [`Tracked`] wrappers did: a poll goes through every layer,
/// outermost first, each polling the next with its own waker; at the end
/// ([`finish`](Layers::finish), then dropping the task's future, then dropping the
/// layers, in list order) every layer finishes outermost first, and leaves its registry
/// innermost first.
#[derive(Default)]
pub(crate) struct Layers(Vec<Layer>);

impl Layers {
    /// Adds `layer` outside the others.
    pub(crate) fn push(&mut self, layer: Layer) {
        self.0.push(layer);
    }

    /// Polls `future` through every layer.
    pub(crate) fn poll<F: Future + ?Sized>(
        &self,
        future: Pin<&mut F>,
        cx: &mut Context<'_>,
    ) -> Poll<F::Output> {
        poll_through(&self.0, future, cx)
    }

    /// The task is gone: every layer finishes, outermost first.
    pub(crate) fn finish(&self) {
        for layer in self.0.iter().rev() {
            layer.state.finish();
        }
    }
}

/// Polls `future` through `layers` (outermost last).
fn poll_through<F: Future + ?Sized>(
    layers: &[Layer],
    future: Pin<&mut F>,
    cx: &mut Context<'_>,
) -> Poll<F::Output> {
    match layers.split_last() {
        Some((outermost, inner)) => {
            let nested = Nested { inner, future };
            outermost.state.poll_as(&outermost.waker, pin!(nested), cx)
        }
        None => future.poll(cx),
    }
}

/// The layers inside one, with the future: what that layer polls.
struct Nested<'a, F: ?Sized> {
    inner: &'a [Layer],
    future: Pin<&'a mut F>,
}

impl<F: Future + ?Sized> Future for Nested<'_, F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        poll_through(this.inner, this.future.as_mut(), cx)
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
    /// Tracks `inner` with `state`; `guard`, if any, is dropped with it (spawned tasks do
    /// not use this wrapper: they carry [`Layers`]).
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

    /// Polled by its [`Run`](crate::Run), which calls [`TrackState::listen`] with `cx`'s
    /// waker at the start of each of its own polls.
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        this.state.poll_listened(this.waker, this.inner)
    }
}
