//! The virtual-time driver: decides, each time the scope falls quiet, how time moves
//! (SPEC R9–R13).
//!
//! It runs inside a proxy's [`Run`](crate::proxy::Run), beside the root future. Each
//! decision follows the same order:
//!
//! 1. **Quiet** — wait until no tracked task is runnable and `noop_cycles` scheduler passes
//!    saw no wake ([`Quiescence`]).
//! 2. **Follow-up of an interruption** — after the end of time or an idle timeout, cancel
//!    the tasks the interruption did not reach (R13: tasks blocked on infallible waits).
//! 3. **Blocking work in flight** (R11) — wait in real time for one step (`idle_step`, or
//!    up to the next deadline or `end`); the step advances loop time only if its first 80%
//!    saw no wake.
//! 4. **A timer while tracked I/O is in flight and was active within `io_patience`** —
//!    step as for blocking work (3), never past the moment the patience runs out.
//! 5. **A timer before `end`** (R9) — jump to the nearest deadline; its timers fire FIFO.
//! 6. **A timer at or after `end`** (R13) — time ends now, at no real cost.
//! 7. **Only I/O or outside events** (R12) — wait in real time, in `idle_step`s if set,
//!    until `end` (costs `end - now` of real time) or `idle_timeout`, whichever comes first
//!    (a tie goes to the end of time).

use core::cell::LazyCell;
use core::task::{Context, Poll};
use core::time::Duration;
use std::sync::{Arc, MutexGuard};
use std::time::Instant as RealInstant;

use super::clock::{ClockCore, ClockState, DriveGate, Fired, Firing, wake_all};
use super::quiescence::Quiescence;
use crate::TimeError;
use crate::proxy::scope::ScopeState;
use crate::proxy::tracking::TrackState;
use crate::reactor::BoxFuture;

/// A real-time wait in progress.
struct Step {
    started: RealInstant,
    until: RealInstant,
    /// Loop time to add if the step is not interrupted by a wake in its first 80%.
    advance: u64,
    /// Reported when the step ends without a wake.
    idle_timeout: Option<TimeError>,
    epoch: u64,
    sleep: BoxFuture,
}

/// The driver's state between polls.
#[derive(Default)]
pub(crate) struct Driver {
    quiet: Quiescence,
    step: Option<Step>,
    /// Start of the current stretch of I/O idleness (R12's countdown).
    idle_since: Option<RealInstant>,
    /// The last step, when the next one follows it without a wake: steps are scheduled on
    /// absolute real instants so the code's own overhead does not drift them.
    schedule: Option<Schedule>,
    /// The setup the driver's state belongs to ([`DriveGate::generation`](super::clock::DriveGate::generation)).
    generation: u32,
    root_cancelled: Option<TimeError>,
    /// The timers a jump fired, kept between jumps so a jump allocates nothing.
    fired: Firing,
    /// Where the driver registered its waker while it had nothing to drive.
    parked: Option<Parked>,
}

/// What a parked driver's registration was made for (see [`Driver::park`]).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Parked {
    gate: DriveGate,
    /// The waker's data and vtable addresses.
    waker: (usize, usize),
    /// [`ScopeState::driver_wakes`] before it registered.
    wakes: u64,
}

/// The last step of a run of real-time steps.
#[derive(Clone, Copy)]
struct Schedule {
    /// Where it ended, and so where the next one starts.
    end: RealInstant,
    /// Its real-time length.
    span: Duration,
    /// The loop time it added.
    advance: u64,
}

/// What the decision step chose.
enum Decision {
    /// Something happened; poll the root and come back.
    Moved,
    /// A wake slipped in after the scope was found quiet: look again.
    Retry,
    /// Nothing to do until a wake.
    Wait,
    /// Start a real-time step.
    Step {
        base: RealInstant,
        until: RealInstant,
        advance: u64,
        idle_timeout: Option<TimeError>,
    },
}

impl Driver {
    /// Nothing to drive (`gate` is not active): wait for a wake that may change that.
    ///
    /// Its waker is registered once for as long as nothing changes: the same gate, the
    /// same waker, and no wake of the driver since (which would have taken it).
    fn park(
        &mut self,
        cx: &mut Context<'_>,
        core: &ClockCore,
        scope: &ScopeState,
        root: &TrackState,
        gate: DriveGate,
    ) -> Poll<()> {
        let waker = cx.waker();
        let parked = Parked {
            gate,
            waker: (
                waker.data() as usize,
                core::ptr::from_ref(waker.vtable()) as usize,
            ),
            wakes: scope.driver_wakes(),
        };
        if self.parked == Some(parked) {
            return Poll::Pending;
        }
        let mut st = core.lock();
        if core.gate() != gate {
            drop(st);
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.step = None;
        self.quiet.reset();
        st.gone_waker = Some(waker.clone());
        if gate.gone {
            // On parent time, a runtime that dropped the timers' helper leaves a root
            // blocked on an infallible wait stuck for good: end the run when the root is
            // idle (so watch `busy` too).
            scope.watch_driver(waker);
            if let Some(error) = st.runtime_gone.clone()
                && !core.is_virtual()
                && root.is_idle_since(None)
            {
                self.root_cancelled = Some(error);
                return Poll::Ready(());
            }
            self.parked = None;
        } else {
            scope.park_driver(waker);
            self.parked = Some(parked);
        }
        Poll::Pending
    }

    /// The error that cancelled the root, if the driver cancelled it.
    pub(crate) fn take_root_cancelled(&mut self) -> Option<TimeError> {
        self.root_cancelled.take()
    }

    /// Drives time; `Ready` when something moved and the root may have been woken.
    pub(crate) fn poll(
        &mut self,
        cx: &mut Context<'_>,
        core: &Arc<ClockCore>,
        scope: &Arc<ScopeState>,
        root: &TrackState,
    ) -> Poll<()> {
        loop {
            // Read without the lock: the lock is taken only when the driver has nothing to
            // do (the clock is off, or `advance_time` moves it).
            let gate = core.gate();
            if !gate.active {
                return self.park(cx, core, scope, root, gate);
            }
            self.parked = None;
            if gate.generation != self.generation {
                self.generation = gate.generation;
                self.step = None;
                self.idle_since = None;
                self.schedule = None;
                self.quiet.reset();
            }
            let noop_cycles = gate.noop_cycles;

            if self.step.is_some() {
                match self.poll_step(cx, core, scope) {
                    Poll::Ready(true) => return Poll::Ready(()),
                    Poll::Ready(false) => continue,
                    Poll::Pending => return Poll::Pending,
                }
            }

            let quiet = self.quiet.poll_quiet(
                cx,
                scope,
                &*core.parent,
                noop_cycles,
                ScopeState::watch_driver,
                0,
            );
            if self.quiet.take_saw_wake() {
                self.catch_up(core, scope);
                self.idle_since = None;
            }
            if quiet.is_pending() {
                return Poll::Pending;
            }
            let quiet_epoch = self.quiet.quiet_epoch();
            let quiet_since = self.quiet.quiet_since();

            // One lock for both: whether an interruption needs following up (rarely), and
            // the decision.
            let mut st = core.lock();
            if let Some((error, era)) = st.pending_cancel.clone() {
                let ended = st.ended.is_some();
                drop(st);
                if let Some(moved) =
                    self.follow_up_interruption(core, scope, root, error, era, ended)
                {
                    self.quiet.reset();
                    if moved {
                        return Poll::Ready(());
                    }
                    scope.watch_driver(cx.waker());
                    return Poll::Pending;
                }
                st = core.lock();
            }

            let decision = self.decide(core, st, scope, quiet_epoch, quiet_since);
            // The decision spends the passes, except a jump whose timers woke nothing in
            // the scope: that leaves it as quiet as the passes found it, and the next jump
            // needs no new ones. Real-time waits that follow count from here, not from
            // before it.
            let still_quiet = matches!(decision, Decision::Moved)
                && quiet_epoch.is_some_and(|epoch| scope.still_idle(epoch));
            if still_quiet {
                self.quiet.restart();
            } else {
                self.quiet.reset();
            }
            match decision {
                Decision::Moved => {
                    if !still_quiet {
                        // The pass of the next quiet may run while the woken tasks do.
                        self.quiet.pass_early();
                    }
                    return Poll::Ready(());
                }
                Decision::Retry => continue,
                Decision::Wait => {
                    scope.watch_driver(cx.waker());
                    if scope.busy() > 0 {
                        continue;
                    }
                    return Poll::Pending;
                }
                Decision::Step {
                    base,
                    until,
                    advance,
                    idle_timeout,
                } => {
                    tracing::debug!(
                        loop_time = ?core.now().since_origin(),
                        real_wait = ?until.saturating_duration_since(RealInstant::now()),
                        advance = ?Duration::from_nanos(advance),
                        reason = step_reason(core, scope),
                        "looptime: waiting in real time"
                    );
                    self.step = Some(Step {
                        started: base,
                        until,
                        advance,
                        idle_timeout,
                        epoch: scope.epoch(),
                        sleep: core.parent.sleep_real_until(until),
                    });
                }
            }
        }
    }

    /// The root finished: a step cut short by that wake is settled by the 80% rule, and
    /// steps due since the last one are credited.
    pub(crate) fn finish(&mut self, core: &ClockCore, scope: &ScopeState) {
        match self.step.take() {
            Some(step) => settle_interrupted_step(core, scope, step),
            None => self.catch_up(core, scope),
        }
    }

    /// A wake came between two steps, while the driver made its passes (which may take
    /// longer than a step): the steps whose real time has passed since the last one
    /// ended still count, the last by the 80% rule; never past the next deadline or the
    /// end, which fire by the usual rules.
    fn catch_up(&mut self, core: &ClockCore, scope: &ScopeState) {
        let Some(last) = self.schedule.take() else {
            return;
        };
        let span = last.span.as_nanos();
        if span == 0 || last.advance == 0 {
            return;
        }
        let elapsed = RealInstant::now()
            .saturating_duration_since(last.end)
            .as_nanos();
        let steps = elapsed / span + u128::from((elapsed % span) * 5 >= span * 4);
        if steps == 0 {
            return;
        }
        let amount = u64::try_from(steps * u128::from(last.advance)).unwrap_or(u64::MAX);
        let amount = {
            let mut st = core.lock();
            let room = match (st.queue.next_tick(), st.resolved.end) {
                (Some(n), Some(e)) => Some(n.min(e)),
                (n, e) => n.or(e),
            }
            .map(|bound| bound.saturating_sub(core.now_nanos()));
            room.map_or(amount, |room| amount.min(room))
        };
        if amount > 0 {
            advance(core, scope, amount);
        }
    }

    /// Polls the step in flight. `Ready(true)`: it ended and moved time; `Ready(false)`: a
    /// wake cut it short; `Pending`: still waiting.
    fn poll_step(
        &mut self,
        cx: &mut Context<'_>,
        core: &Arc<ClockCore>,
        scope: &ScopeState,
    ) -> Poll<bool> {
        let Some(step) = &mut self.step else {
            return Poll::Ready(false);
        };
        let woken = !scope.still_idle(step.epoch);
        if !woken {
            if step.sleep.as_mut().poll(cx).is_ready() {
                let step = self.step.take().expect("a step is in flight");
                self.schedule = Some(Schedule {
                    end: step.until,
                    span: step.until.saturating_duration_since(step.started),
                    advance: step.advance,
                });
                let ended = advance(core, scope, step.advance);
                if !ended && let Some(error) = step.idle_timeout {
                    interrupt(core, scope, error);
                }
                return Poll::Ready(true);
            }
            scope.watch_driver(cx.waker());
            if scope.still_idle(step.epoch) {
                return Poll::Pending;
            }
        }
        let step = self.step.take().expect("a step is in flight");
        self.idle_since = None;
        self.schedule = None;
        settle_interrupted_step(core, scope, step);
        Poll::Ready(false)
    }

    /// After an interruption (`error`, in era `era`; `ended` after the end of time),
    /// cancels the tasks it did not reach (R13). `None` when there is nothing more to
    /// follow up; `Some(moved)` otherwise.
    ///
    /// The root is cancelled only by a pass that cancelled no task: a task's cancellation
    /// may be what wakes it.
    fn follow_up_interruption(
        &mut self,
        core: &ClockCore,
        scope: &ScopeState,
        root: &TrackState,
        error: TimeError,
        era: u64,
        ended: bool,
    ) -> Option<bool> {
        // After the end of time every idle task is stuck for good; after an idle timeout
        // only those the interruption did not reach.
        let since = if ended { None } else { Some(era) };
        if scope.cancel_idle(&error, since) > 0 {
            return Some(true);
        }
        if root.is_idle_since(since) {
            self.root_cancelled = Some(error);
            return Some(true);
        }
        if ended {
            // Time is over: only I/O or outside events can still wake the scope.
            return Some(false);
        }
        let mut st = core.lock();
        if st.pending_cancel.as_ref().is_some_and(|(_, e)| *e == era) {
            st.pending_cancel = None;
        }
        None
    }

    fn decide(
        &mut self,
        core: &Arc<ClockCore>,
        mut st: MutexGuard<'_, ClockState>,
        scope: &ScopeState,
        quiet_epoch: Option<u64>,
        quiet_since: Option<RealInstant>,
    ) -> Decision {
        // On a multi-thread runtime a worker may wake a task of the scope between the
        // quiet check and here; time must not move under it.
        if !quiet_epoch.is_some_and(|epoch| scope.still_idle(epoch)) {
            return Decision::Retry;
        }
        let now = core.now_nanos();
        let end = st.resolved.end;
        if end.is_some_and(|end| now >= end) {
            // Time is over from the start (`end == start`).
            return self.move_and_wake(core, scope, st, now);
        }
        let next = st.queue.next_tick();
        let bound = match (next, end) {
            (Some(n), Some(e)) => Some(n.min(e)),
            (n, e) => n.or(e),
        };
        let idle_step = st.resolved.idle_step;
        // Read only on the paths that wait in real time: a jump needs no clock.
        let real_now = LazyCell::new(RealInstant::now);
        // A step follows the previous one on an absolute schedule; a first step counts
        // from the moment the scope went quiet, so the passes' cost does not delay it.
        let schedule = self.schedule;
        let base = LazyCell::new(|| {
            schedule
                .map(|last| last.end)
                .or(quiet_since)
                .unwrap_or(*real_now)
        });

        if scope.blocking() > 0 {
            // R11: slow executors. Time does not jump while blocking work is in flight.
            // Steps count from when the scope went idle, however late that was noticed.
            let base = *base;
            let base = match (self.schedule, scope.idle_with_blocking_since()) {
                (None, Some(idle_at)) if idle_at <= base => idle_at,
                _ => base,
            };
            let advance = match (idle_step, bound) {
                (Some(step), Some(bound)) => step.min(bound - now),
                (Some(step), None) => step,
                (None, Some(bound)) => bound - now,
                (None, None) => return Decision::Wait,
            };
            return Decision::Step {
                base,
                until: base + Duration::from_nanos(advance),
                advance,
                idle_timeout: None,
            };
        }

        let patient_until = st
            .resolved
            .io_patience
            .filter(|_| next.is_some() && scope.io_waiting() > 0)
            .and_then(|patience| scope.io_active_at()?.checked_add(patience))
            .filter(|&until| *real_now < until);
        if let (Some(patient_until), Some(bound)) = (patient_until, bound) {
            // `io_patience`: a timer is pending while tracked I/O is in flight and was
            // active lately. Time moves as it does for blocking work (R11), until the I/O
            // has been silent for `io_patience`.
            let base = *base;
            let advance = idle_step.map_or(bound - now, |step| step.min(bound - now));
            let until = base + Duration::from_nanos(advance);
            return if until <= patient_until {
                Decision::Step {
                    base,
                    until,
                    advance,
                    idle_timeout: None,
                }
            } else {
                Decision::Step {
                    base,
                    until: patient_until,
                    advance: 0,
                    idle_timeout: None,
                }
            };
        }

        if let Some(next) = next {
            // R9: jump to the nearest deadline, or R13: to the end if that comes first.
            let target = end.map_or(next, |end| next.min(end));
            tracing::debug!(
                from = ?Duration::from_nanos(now),
                to = ?Duration::from_nanos(target),
                reason = if target == next {
                    "the nearest deadline (R9)"
                } else {
                    "the end of time comes first (R13)"
                },
                "looptime: time jumps"
            );
            self.idle_since = None;
            self.schedule = None;
            return self.move_and_wake(core, scope, st, target);
        }

        // R12: only I/O or outside events can wake the scope.
        let (base, real_now) = (*base, *real_now);
        let since = *self
            .idle_since
            .get_or_insert(quiet_since.unwrap_or(real_now));
        let idle_timeout = st.resolved.idle_timeout;
        drop(st);
        let idle_at = idle_timeout.and_then(|t| since.checked_add(t));
        let idle_error = || idle_timeout.map(TimeError::idle_timeout);
        let to_end = end.map(|end| end - now);
        match idle_step {
            Some(step) => {
                let advance = to_end.map_or(step, |d| d.min(step));
                let until = base + Duration::from_nanos(advance);
                match idle_at {
                    Some(at) if at < until => Decision::Step {
                        base,
                        until: at,
                        advance: 0,
                        idle_timeout: idle_error(),
                    },
                    Some(at) if at == until => Decision::Step {
                        base,
                        until,
                        advance,
                        idle_timeout: idle_error(),
                    },
                    _ => Decision::Step {
                        base,
                        until,
                        advance,
                        idle_timeout: None,
                    },
                }
            }
            None => match (to_end, idle_at) {
                (None, None) => Decision::Wait,
                (Some(to_end), idle_at) => {
                    let end_at = base + Duration::from_nanos(to_end);
                    match idle_at {
                        Some(at) if at < end_at => Decision::Step {
                            base,
                            until: at,
                            advance: 0,
                            idle_timeout: idle_error(),
                        },
                        _ => Decision::Step {
                            base,
                            until: end_at,
                            advance: to_end,
                            idle_timeout: None,
                        },
                    }
                }
                (None, Some(at)) => Decision::Step {
                    base,
                    until: at,
                    advance: 0,
                    idle_timeout: idle_error(),
                },
            },
        }
    }

    fn move_and_wake(
        &mut self,
        core: &ClockCore,
        scope: &ScopeState,
        mut st: MutexGuard<'_, ClockState>,
        target: u64,
    ) -> Decision {
        let fired = &mut self.fired;
        if let Some(error) = core.move_to(&mut st, target, fired) {
            interrupt_locked(core, scope, &mut st, error, &mut fired.wakers);
        }
        drop(st);
        fired.wake();
        Decision::Moved
    }
}

/// Why the driver waits in real time, for its `debug` event (the conditions `decide`
/// checked, in its order).
fn step_reason(core: &ClockCore, scope: &ScopeState) -> &'static str {
    if scope.blocking() > 0 {
        "blocking work in flight (R11)"
    } else if scope.io_waiting() > 0 && core.lock().queue.next_tick().is_some() {
        "tracked I/O in flight under a pending timer (io_patience)"
    } else {
        "only I/O or outside events can wake the scope (R12)"
    }
}

/// A wake cut `step` short: it advances only if the wake came in its last 20% (R11).
fn settle_interrupted_step(core: &ClockCore, scope: &ScopeState, step: Step) {
    let span = step.until.saturating_duration_since(step.started);
    let elapsed = RealInstant::now().saturating_duration_since(step.started);
    if elapsed * 5 >= span * 4 && step.advance > 0 {
        advance(core, scope, step.advance);
    }
}

/// Moves virtual time forward by `amount`; `true` if that reached the end of time.
pub(crate) fn advance(core: &ClockCore, scope: &ScopeState, amount: u64) -> bool {
    let mut st = core.lock();
    let target = core.now_nanos().saturating_add(amount);
    let mut fired = Firing::default();
    let ended = match core.move_to(&mut st, target, &mut fired) {
        Some(error) => {
            interrupt_locked(core, scope, &mut st, error, &mut fired.wakers);
            true
        }
        None => false,
    };
    drop(st);
    fired.wake();
    ended
}

/// Interrupts every wait of the scope with `error` (end of time, idle timeout).
pub(crate) fn interrupt(core: &ClockCore, scope: &ScopeState, error: TimeError) {
    let mut st = core.lock();
    let mut fired = Vec::new();
    interrupt_locked(core, scope, &mut st, error, &mut fired);
    drop(st);
    wake_all(fired);
}

fn interrupt_locked(
    core: &ClockCore,
    scope: &ScopeState,
    st: &mut ClockState,
    error: TimeError,
    fired: &mut Fired,
) {
    let era = scope.next_interrupt_epoch();
    fired.extend(core.interrupt(st, error, era));
}
