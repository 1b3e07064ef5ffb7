//! Waiting until a scope is quiet: no tracked task runnable, and `noop_cycles` scheduler
//! passes in a row saw no wake (SPEC R9).
//!
//! The passes are [`Reactor::yield_now`] of the runtime, which lets other ready tasks run
//! and the runtime poll its I/O before coming back, so work outside the scope's sight
//! (untracked tasks, threads, sockets) gets its chance to wake the scope first; or, where
//! the runtime can, the same pass started with [`Reactor::start_pass`], which needs no
//! boxed future. Any wake starts the count again.

use core::task::{Context, Poll, Waker};

use crate::Reactor;
use crate::proxy::scope::ScopeState;
use crate::reactor::BoxFuture;

/// Progress towards quiet; reset after acting on it.
#[derive(Default)]
pub(crate) struct Quiescence {
    passes: u32,
    epoch: Option<u64>,
    /// When the scope was found idle at the start of the current count.
    since: Option<std::time::Instant>,
    pass: Pass,
    saw_wake: bool,
}

/// The scheduler pass in flight, if any.
#[derive(Default)]
enum Pass {
    #[default]
    None,
    /// Started with [`Reactor::start_pass`]: over at the next poll.
    Started,
    /// A [`Reactor::yield_now`] being awaited.
    Yield(BoxFuture),
}

impl Quiescence {
    /// Forgets the passes made: the next quiet needs a full count again.
    pub(crate) fn reset(&mut self) {
        self.passes = 0;
        self.epoch = None;
        self.since = None;
        self.pass = Pass::None;
    }

    /// Takes the progress made, leaving a fresh count (as [`reset`](Self::reset)).
    pub(crate) fn take(&mut self) -> Quiescence {
        let mut taken = std::mem::take(self);
        taken.pass = Pass::None;
        taken.saw_wake = false;
        taken
    }

    /// The same progress, with the start of the quiet stretch forgotten: real-time waits
    /// that follow count from when they are decided (read from the clock only then).
    pub(crate) fn restarted(mut self) -> Quiescence {
        self.since = None;
        self
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
        scope: &ScopeState,
        reactor: &dyn Reactor,
        noop_cycles: u32,
        watch: fn(&ScopeState, &Waker),
        own_helpers: usize,
    ) -> Poll<()> {
        loop {
            let Some(epoch) = scope.idle_epoch() else {
                watch(scope, cx.waker());
                if scope.busy() > 0 {
                    self.saw_wake = true;
                    self.reset();
                    return Poll::Pending;
                }
                continue;
            };
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
                Pass::None if reactor.start_pass(cx) => {
                    self.pass = Pass::Started;
                    return Poll::Pending;
                }
                Pass::None => {
                    let mut pass = reactor.yield_now();
                    if pass.as_mut().poll(cx).is_pending() {
                        self.pass = Pass::Yield(pass);
                        return Poll::Pending;
                    }
                }
                Pass::Started => {}
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
