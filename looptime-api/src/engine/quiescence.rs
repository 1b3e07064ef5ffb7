//! Waiting until a scope is quiet: no tracked task runnable, and `noop_cycles` scheduler
//! passes in a row saw no wake (SPEC R9).
//!
//! The passes are [`Reactor::yield_now`] of the runtime, which lets other ready tasks run
//! and the runtime poll its I/O before coming back, so work outside the scope's sight
//! (untracked tasks, threads, sockets) gets its chance to wake the scope first; or, where
//! the runtime can, the same pass started with [`Reactor::start_pass`], which needs no
//! boxed future. Any wake starts the count again.
//!
//! A pass started with `start_pass` ends when the runtime wakes its [`PassEnd`], which
//! notes then whether the scope was idle, and at which wake epoch. The pass counts for a
//! quiet stretch whose epoch it noted: it ended after the scope went idle, so every wake
//! the runtime had put off until the pass was delivered by then, and any of them would
//! have moved the epoch. Such a pass may be started before the scope is idle (right after
//! a jump, while the tasks it woke run): when it ends after they are done, the quiet
//! that follows needs no second pass of its own.
//!
//! That first pass is what keeps a task in the middle of a yield from looking idle. The
//! further passes of a count (`noop_cycles` of them, when work outside the scope is
//! alive) only give that work its chances to wake the scope: they are started with the
//! caller's own waker and end at its next poll, which saves the [`PassEnd`]'s round trip.

use core::task::{Context, Poll, Waker};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::Wake;

use crate::Reactor;
use crate::proxy::scope::ScopeState;
use crate::reactor::BoxFuture;
use crate::sync::{AtomicU64, AtomicWaker};

/// Progress towards quiet; reset after acting on it.
#[derive(Default)]
pub(crate) struct Quiescence {
    passes: u32,
    epoch: Option<u64>,
    /// When the scope was found idle at the start of the current count.
    since: Option<std::time::Instant>,
    pass: Pass,
    saw_wake: bool,
    /// Set by [`pass_early`](Self::pass_early).
    early: bool,
    /// The end of the passes started with [`Reactor::start_pass`], made at the first one
    /// and kept for the next (a pass in flight outlives [`reset`](Self::reset)).
    end: Option<PassEnd>,
}

/// Where a pass started with [`Reactor::start_pass`] reports its end: the waker handed to
/// the runtime, and what it noted.
struct PassEnd {
    signal: Arc<PassSignal>,
    waker: Waker,
}

/// What the runtime wakes at the end of a pass: it notes the scope's state, then wakes the
/// caller.
struct PassSignal {
    scope: Arc<ScopeState>,
    /// [`IN_FLIGHT`], [`ENDED_BUSY`], or the scope's wake epoch plus [`ENDED_IDLE`] when
    /// the pass ended with the scope idle.
    state: AtomicU64,
    /// The waker of the quiet's caller, woken when the pass ends.
    caller: AtomicWaker,
}

/// The pass has not ended yet.
const IN_FLIGHT: u64 = 0;
/// The pass ended while a tracked task was runnable: it counts for no quiet stretch.
const ENDED_BUSY: u64 = 1;
/// Added to the epoch of an idle scope.
const ENDED_IDLE: u64 = 2;

impl Wake for PassSignal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let ended = self
            .scope
            .idle_epoch()
            .map_or(ENDED_BUSY, |epoch| epoch.saturating_add(ENDED_IDLE));
        self.state.store(ended, Ordering::Release);
        self.caller.wake();
    }
}

/// The scheduler pass in flight, if any.
#[derive(Default)]
enum Pass {
    #[default]
    None,
    /// The first pass of a count (or of the count to come), started with
    /// [`Reactor::start_pass`]: over when its [`PassEnd`] says so.
    First,
    /// A further pass of the same count, started with [`Reactor::start_pass`] and the
    /// caller's own waker: over at the caller's next poll.
    Further,
    /// A [`Reactor::yield_now`] being awaited.
    Yield(BoxFuture),
}

impl Quiescence {
    /// Forgets the passes made: the next quiet needs a full count again. A pass started
    /// with [`Reactor::start_pass`] stays in flight: what it notes at its end decides
    /// whether it counts.
    pub(crate) fn reset(&mut self) {
        self.passes = 0;
        self.epoch = None;
        self.since = None;
        if matches!(self.pass, Pass::Yield(_) | Pass::Further) {
            self.pass = Pass::None;
        }
    }

    /// Lets the next look that finds the scope busy start a pass at once, for the quiet
    /// to come: after a jump, while the tasks it woke run, so that the pass may be over
    /// by the time they are done. Once only, so a scope that stays busy is not polled
    /// again at every pass of the runtime.
    pub(crate) fn pass_early(&mut self) {
        self.early = true;
    }

    /// Starts the first pass of a count with [`Reactor::start_pass`] and the signal; its
    /// end is read with [`first_pass_ended`](Self::first_pass_ended), which registers the
    /// caller's waker.
    fn start_first_pass(&mut self, scope: &Arc<ScopeState>, reactor: &dyn Reactor) -> bool {
        let end = self.end.get_or_insert_with(|| {
            let signal = Arc::new(PassSignal {
                scope: scope.clone(),
                state: AtomicU64::new(IN_FLIGHT),
                caller: AtomicWaker::new(),
            });
            PassEnd {
                waker: Waker::from(signal.clone()),
                signal,
            }
        });
        end.signal.state.store(IN_FLIGHT, Ordering::Release);
        reactor.start_pass(&mut Context::from_waker(&end.waker))
    }

    /// Whether the first pass of the count is over, and if so, the epoch of the idle scope
    /// it saw at its end (`Some(None)`: it ended busy).
    fn first_pass_ended(&self, cx: &mut Context<'_>) -> Option<Option<u64>> {
        let signal = &self.end.as_ref()?.signal;
        let mut state = signal.state.load(Ordering::Acquire);
        if state == IN_FLIGHT {
            signal.caller.register(cx.waker());
            state = signal.state.load(Ordering::Acquire);
        }
        match state {
            IN_FLIGHT => None,
            ENDED_BUSY => Some(None),
            ended => Some(Some(ended - ENDED_IDLE)),
        }
    }

    /// Keeps the passes made, with the start of the quiet stretch forgotten: real-time
    /// waits that follow count from when they are decided (read from the clock only then).
    pub(crate) fn restart(&mut self) {
        self.since = None;
    }

    /// When the scope went quiet, if blocking work or tracked I/O was in flight then: the
    /// real instant its current count began. Real-time steps that follow are measured
    /// from there, so the passes' own cost does not delay them (R11's steps,
    /// `io_patience`, R12's countdown while I/O is awaited).
    pub(crate) fn quiet_since(&self) -> Option<std::time::Instant> {
        self.since
    }

    /// The wake epoch at which the scope was last found quiet.
    pub(crate) fn quiet_epoch(&self) -> Option<u64> {
        self.epoch
    }

    /// Whether a wake was seen since the last call (and clears the flag).
    pub(crate) fn take_saw_wake(&mut self) -> bool {
        std::mem::take(&mut self.saw_wake)
    }

    /// `Ready` once the scope is idle and `noop_cycles` passes saw no wake.
    ///
    /// At least one pass always happens, even with `noop_cycles = 0`: a task in the middle
    /// of a yield is idle only in appearance until the runtime has run its pass (R9). The
    /// other passes are skipped when they provably cannot matter: every task alive on the
    /// runtime belongs to the scope, and no blocking job or I/O wait of the scope is in
    /// flight.
    /// `watch` registers the caller's waker with the scope, to be woken when `busy` drops
    /// to zero;
    /// `own_helpers` counts the tasks alive on the runtime that are the caller's own
    /// machinery rather than work outside the scope (an `advance_time` helper).
    pub(crate) fn poll_quiet(
        &mut self,
        cx: &mut Context<'_>,
        scope: &Arc<ScopeState>,
        reactor: &dyn Reactor,
        noop_cycles: u32,
        watch: fn(&ScopeState, &Waker),
        own_helpers: usize,
    ) -> Poll<()> {
        loop {
            let Some(epoch) = scope.idle_epoch() else {
                self.saw_wake = true;
                self.reset();
                if self.early
                    && matches!(self.pass, Pass::None)
                    && self.start_first_pass(scope, reactor)
                {
                    self.pass = Pass::First;
                }
                self.early = false;
                // A pass in flight wakes the caller when it ends, to look again (and watch
                // `busy` then, if the scope is still busy): no need to watch it meanwhile.
                if matches!(self.pass, Pass::First) && self.first_pass_ended(cx).is_none() {
                    return Poll::Pending;
                }
                watch(scope, cx.waker());
                if scope.busy() > 0 {
                    return Poll::Pending;
                }
                continue;
            };
            self.early = false;
            if self.epoch != Some(epoch) {
                if self.epoch.is_some() {
                    self.saw_wake = true;
                }
                self.epoch = Some(epoch);
                // Only real-time steps count from here (R11, `io_patience`); a jump needs
                // no clock. Other real-time waits (R12 without tracked I/O in flight)
                // count from when they are decided, after the passes.
                self.since =
                    (scope.blocking() > 0 || scope.io_waiting() > 0).then(std::time::Instant::now);
                self.passes = 0;
            }
            // Every count needs one pass at least: ask what it needs only after that one.
            if self.passes > 0
                && self.passes >= passes_needed(scope, reactor, noop_cycles, own_helpers)
            {
                return Poll::Ready(());
            }
            // The pass wakes this count when it is over; a wake of the scope meanwhile
            // shows in the epoch then.
            match &mut self.pass {
                Pass::None => {
                    if self.passes > 0 && reactor.start_pass(cx) {
                        self.pass = Pass::Further;
                        return Poll::Pending;
                    }
                    if self.passes == 0 && self.start_first_pass(scope, reactor) {
                        self.pass = Pass::First;
                        continue;
                    }
                    let mut pass = reactor.yield_now();
                    if pass.as_mut().poll(cx).is_pending() {
                        self.pass = Pass::Yield(pass);
                        return Poll::Pending;
                    }
                }
                Pass::First => match self.first_pass_ended(cx) {
                    None => return Poll::Pending,
                    Some(Some(ended)) if ended == epoch => {}
                    // It ended before this quiet stretch began: start another.
                    Some(_) => {
                        self.pass = Pass::None;
                        continue;
                    }
                },
                // Counts for the stretch it was started in only.
                Pass::Further if self.passes == 0 => {
                    self.pass = Pass::None;
                    continue;
                }
                Pass::Further => {}
                Pass::Yield(pass) => {
                    if pass.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                }
            }
            self.pass = Pass::None;
            self.passes += 1;
        }
    }
}

/// How many passes the scope needs before time may move (R9).
fn passes_needed(
    scope: &ScopeState,
    reactor: &dyn Reactor,
    noop_cycles: u32,
    own_helpers: usize,
) -> u32 {
    let nothing_outside = scope.blocking() == 0
        && scope.io_waiting() == 0
        && reactor.alive_tasks() == Some(scope.live() + own_helpers);
    if nothing_outside {
        1
    } else {
        noop_cycles.max(1)
    }
}

#[cfg(all(test, not(looptime_loom)))]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll, Waker};

    use super::Quiescence;
    use crate::proxy::scope::ScopeState;
    use crate::reactor::BoxFuture;
    use crate::test_support::{Counter, Manual};
    use crate::{Reactor, TimeError};

    /// A runtime whose passes end when the test says: `start_pass` keeps the waker.
    #[derive(Default)]
    struct Deferring {
        manual: Manual,
        deferred: Mutex<Vec<Waker>>,
        /// Tasks alive outside the scope: every count then needs all its passes.
        outside: usize,
    }

    impl Deferring {
        /// Ends the passes in flight; how many there were.
        fn end_passes(&self) -> usize {
            let deferred = std::mem::take(&mut *self.deferred.lock().unwrap());
            let ended = deferred.len();
            deferred.into_iter().for_each(Waker::wake);
            ended
        }
    }

    impl Reactor for Deferring {
        fn block_on_dyn(
            &self,
            root: std::pin::Pin<&mut (dyn Future<Output = ()> + '_)>,
        ) -> Result<(), TimeError> {
            self.manual.block_on_dyn(root)
        }
        fn sleep_real_until(&self, deadline: std::time::Instant) -> BoxFuture {
            self.manual.sleep_real_until(deadline)
        }
        fn yield_now(&self) -> BoxFuture {
            unreachable!("every pass is started with start_pass")
        }
        fn start_pass(&self, cx: &mut Context<'_>) -> bool {
            self.deferred.lock().unwrap().push(cx.waker().clone());
            true
        }
        fn alive_tasks(&self) -> Option<usize> {
            Some(self.outside)
        }
    }

    struct Looking {
        quiet: Quiescence,
        scope: Arc<ScopeState>,
        runtime: Deferring,
        caller: Arc<Counter>,
    }

    impl Looking {
        fn new() -> Self {
            Looking {
                quiet: Quiescence::default(),
                scope: ScopeState::new(),
                runtime: Deferring::default(),
                caller: Arc::default(),
            }
        }

        fn poll(&mut self) -> Poll<()> {
            let waker = Waker::from(self.caller.clone());
            self.quiet.poll_quiet(
                &mut Context::from_waker(&waker),
                &self.scope,
                &self.runtime,
                3,
                ScopeState::watch_driver,
                0,
            )
        }
    }

    #[test]
    fn a_pass_that_ends_while_a_task_runs_does_not_count() {
        let mut look = Looking::new();
        assert_eq!(look.poll(), Poll::Pending);
        look.scope.busy_inc();
        assert_eq!(look.runtime.end_passes(), 1);
        assert_eq!(look.poll(), Poll::Pending);
        look.scope.busy_dec();
        assert_eq!(
            look.poll(),
            Poll::Pending,
            "a new pass, from the idle scope"
        );
        assert_eq!(look.runtime.end_passes(), 1);
        assert_eq!(look.poll(), Poll::Ready(()));
    }

    #[test]
    fn a_pass_that_ended_before_the_last_wake_does_not_count() {
        let mut look = Looking::new();
        assert_eq!(look.poll(), Poll::Pending);
        assert_eq!(look.runtime.end_passes(), 1);
        look.scope.busy_inc();
        look.scope.busy_dec();
        assert_eq!(look.poll(), Poll::Pending);
        assert_eq!(look.runtime.end_passes(), 1, "a second pass was started");
        assert_eq!(look.poll(), Poll::Ready(()));
    }

    #[test]
    fn an_early_pass_that_ends_after_the_tasks_is_the_one_needed() {
        let mut look = Looking::new();
        look.scope.busy_inc();
        look.quiet.pass_early();
        assert_eq!(look.poll(), Poll::Pending);
        let woken = look.caller.wakes();
        look.scope.busy_dec();
        assert_eq!(
            look.caller.wakes(),
            woken,
            "the pass in flight is what wakes the caller"
        );
        assert_eq!(
            look.runtime.end_passes(),
            1,
            "started while the scope was busy"
        );
        assert_eq!(
            look.caller.wakes(),
            woken + 1,
            "the end of the pass wakes the caller"
        );
        assert_eq!(look.poll(), Poll::Ready(()));
        assert_eq!(look.runtime.end_passes(), 0, "no second pass");
    }

    #[test]
    fn an_early_pass_is_started_once() {
        let mut look = Looking::new();
        look.scope.busy_inc();
        look.quiet.pass_early();
        assert_eq!(look.poll(), Poll::Pending);
        assert_eq!(look.runtime.end_passes(), 1);
        assert_eq!(look.poll(), Poll::Pending);
        assert_eq!(
            look.runtime.end_passes(),
            0,
            "the busy scope waits for its tasks"
        );
        look.scope.busy_dec();
        assert_eq!(look.poll(), Poll::Pending);
        assert_eq!(look.runtime.end_passes(), 1);
        assert_eq!(look.poll(), Poll::Ready(()));
    }

    #[test]
    fn with_work_outside_further_passes_end_at_the_next_poll() {
        let mut look = Looking::new();
        look.runtime.outside = 1;
        assert_eq!(look.poll(), Poll::Pending);
        assert_eq!(look.runtime.end_passes(), 1);
        for further in 2..=3 {
            assert_eq!(look.poll(), Poll::Pending, "pass {further} starts");
            let woken = look.caller.wakes();
            assert_eq!(look.runtime.end_passes(), 1);
            assert_eq!(
                look.caller.wakes(),
                woken + 1,
                "with the caller's own waker"
            );
        }
        assert_eq!(look.poll(), Poll::Ready(()));
    }

    #[test]
    fn a_further_pass_counts_only_in_the_stretch_it_was_started_in() {
        let mut look = Looking::new();
        look.runtime.outside = 1;
        assert_eq!(look.poll(), Poll::Pending);
        assert_eq!(look.runtime.end_passes(), 1);
        assert_eq!(look.poll(), Poll::Pending, "a further pass starts");
        look.scope.busy_inc();
        look.scope.busy_dec();
        assert_eq!(look.runtime.end_passes(), 1);
        assert_eq!(look.poll(), Poll::Pending, "the count starts again");
        // Three passes again, the first ended by its own waker.
        for _ in 0..3 {
            assert_eq!(look.runtime.end_passes(), 1);
            let _ = look.poll();
        }
        assert_eq!(look.poll(), Poll::Ready(()));
    }
}
