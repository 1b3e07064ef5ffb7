//! The time of one proxy: its base (the parent's clock shifted by an offset, or a virtual
//! clock), its timer queue, and the primitives that move time and fire timers.
//!
//! Reads of `now()` are lock-free; everything that changes time or the queue holds the
//! state lock, and wakers are woken after it is released.
//!
//! A clock that fires its due timers fires those of its descendants on its time with
//! them, and wakes them all in one order (SPEC R8): by deadline, then by registration,
//! counted by one sequence across the proxy tree. Locks are taken parent before child;
//! no path holds a clock's lock while it takes an ancestor's.

use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use core::time::Duration;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::SystemTime;

use super::arm;
use super::settings::{Resolved, Settings, SetupError, ceil_to};
use super::timers::{EntryState, TimerEntry, TimerQueue};
use crate::{Instant, Runtime, SleepImpl, TimeError};

/// The time of one proxy.
pub(crate) struct ClockCore {
    pub(crate) parent: Arc<dyn Runtime>,
    /// The parent's clock, when the parent is a proxy.
    parent_clock: Option<Arc<ClockCore>>,
    virtual_mode: AtomicBool,
    virtual_now: AtomicU64,
    /// Parent mode: local time = parent time + offset (nanoseconds).
    offset: AtomicI64,
    /// The registration sequence of the proxy tree, shared by all its queues.
    sequence: Arc<AtomicU64>,
    /// The clocks of the child proxies (pruned as they go). Its lock is never held while
    /// another lock is taken.
    children: Mutex<Vec<Weak<ClockCore>>>,
    /// Whether a child proxy was ever made on this clock: without one, a firing needs
    /// no look at `children`.
    had_children: AtomicBool,
    /// What the driver reads at every poll, published under the lock whenever it
    /// changes (see [`DriveGate`]).
    gate: AtomicU64,
    /// Whether `ended` is set (read without the lock by descendants on this time).
    time_ended: AtomicBool,
    state: Mutex<ClockState>,
}

/// Whether a driver may move this clock, and with which setup: a copy of part of
/// [`ClockState`] that the driver reads without taking the lock at each of its polls.
///
/// It is written under the lock by every change to what it copies, so a driver that
/// reads it sees the state as of some moment: as when it read the state under the lock
/// and let go before deciding.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct DriveGate {
    /// Virtual, enabled, not shut down and not advanced by `advance_time` right now.
    pub(crate) active: bool,
    /// The runtime dropped the helper that fires this clock's timers on parent time.
    pub(crate) gone: bool,
    /// The setup's number (its low 30 bits), to notice a new setup.
    pub(crate) generation: u32,
    /// The setup's `noop_cycles`.
    pub(crate) noop_cycles: u32,
}

impl DriveGate {
    // Packed into one `u64`: `noop_cycles` in bits 0–31, the generation in 32–61, `gone`
    // in 62 and `active` in 63.
    const ACTIVE: u64 = 1 << 63;
    const GONE: u64 = 1 << 62;
    /// The generation's bits, above the 32 of `noop_cycles` and below the two flags.
    const GENERATION: u64 = (1 << 30) - 1;

    fn pack(self) -> u64 {
        let active = if self.active { Self::ACTIVE } else { 0 };
        let gone = if self.gone { Self::GONE } else { 0 };
        active
            | gone
            | (u64::from(self.generation) & Self::GENERATION) << 32
            | u64::from(self.noop_cycles)
    }

    fn unpack(bits: u64) -> Self {
        DriveGate {
            active: bits & Self::ACTIVE != 0,
            gone: bits & Self::GONE != 0,
            generation: ((bits >> 32) & Self::GENERATION) as u32,
            noop_cycles: bits as u32,
        }
    }
}

/// Everything behind the lock.
pub(crate) struct ClockState {
    pub(crate) queue: TimerQueue,
    pub(crate) settings: Settings,
    pub(crate) resolved: Resolved,
    /// Set once virtual time reached `end`; every later wait needing time fails.
    pub(crate) ended: Option<TimeError>,
    /// An interruption the driver still has to follow up by cancelling idle tasks.
    pub(crate) pending_cancel: Option<(TimeError, u64)>,
    pub(crate) shut_down: bool,
    /// A `LooptimeGuard` is alive: the virtual clock may move.
    pub(crate) enabled: bool,
    /// Bumped by every setup; the driver resets its idle and no-op state when it changes.
    pub(crate) generation: u64,
    /// A `Run` is driving this clock.
    pub(crate) driving: bool,
    /// An `advance_time` is in progress; others wait their turn.
    pub(crate) advancing: bool,
    pub(crate) advance_waiters: Vec<Waker>,
    /// Wall-clock time at loop time zero (virtual mode).
    wall_origin: SystemTime,
    pub(crate) arm: arm::ArmState,
    /// Set when the runtime dropped the helper that fires this (real-time) clock's timers:
    /// no timer of this proxy can fire any more.
    pub(crate) runtime_gone: Option<TimeError>,
    /// The driving run's waker, woken when `runtime_gone` is set.
    pub(crate) gone_waker: Option<Waker>,
}

/// The wakers of fired (or interrupted) timers, taken out under the lock and woken
/// after it is released.
pub(crate) type Fired = Vec<Waker>;

/// What a firing across a proxy tree collects under the locks, to wake (and let go of)
/// after they are released.
#[derive(Default)]
pub(crate) struct Firing {
    /// The wakers, in the order to wake them.
    pub(crate) wakers: Fired,
    /// Fired entries of a tree being merged: `(deadline tick in the firing clock's time,
    /// seq, waker)`.
    keyed: Vec<(i128, u64, Waker)>,
    /// The descendants' clocks visited: dropped, perhaps last, after the locks are.
    held: Vec<Arc<ClockCore>>,
}

impl Firing {
    /// Wakes what was collected, in order, and lets go of the clocks held; keeps the
    /// buffers for the next firing.
    pub(crate) fn wake(&mut self) {
        wake_all(self.wakers.drain(..));
        self.held.clear();
    }
}

pub(crate) fn wake_all(fired: impl IntoIterator<Item = Waker>) {
    for waker in fired {
        waker.wake();
    }
}

impl ClockCore {
    pub(crate) fn new(parent: Arc<dyn Runtime>, parent_clock: Option<Arc<ClockCore>>) -> Arc<Self> {
        let settings = Settings::default();
        let resolved = settings
            .resolved(0)
            .expect("the default settings are valid");
        let sequence = parent_clock
            .as_ref()
            .map_or_else(Arc::default, |parent| parent.sequence.clone());
        let core = Arc::new(ClockCore {
            parent,
            parent_clock,
            virtual_mode: AtomicBool::new(false),
            virtual_now: AtomicU64::new(0),
            offset: AtomicI64::new(0),
            sequence: sequence.clone(),
            children: Mutex::new(Vec::new()),
            had_children: AtomicBool::new(false),
            gate: AtomicU64::new(0),
            time_ended: AtomicBool::new(false),
            state: Mutex::new(ClockState {
                queue: TimerQueue::with_sequence(resolved.resolution, sequence),
                settings,
                resolved,
                ended: None,
                pending_cancel: None,
                shut_down: false,
                enabled: false,
                generation: 0,
                driving: false,
                advancing: false,
                advance_waiters: Vec::new(),
                wall_origin: SystemTime::UNIX_EPOCH,
                arm: arm::ArmState::default(),
                runtime_gone: None,
                gone_waker: None,
            }),
        });
        if let Some(parent) = &core.parent_clock {
            let mut children = parent.children.lock().unwrap_or_else(|p| p.into_inner());
            children.retain(|child| child.strong_count() > 0);
            children.push(Arc::downgrade(&core));
            parent.had_children.store(true, Ordering::Release);
        }
        core
    }

    /// The clocks of the live child proxies.
    fn live_children(&self) -> Vec<Arc<ClockCore>> {
        if !self.had_children.load(Ordering::Acquire) {
            return Vec::new();
        }
        let mut children = self.children.lock().unwrap_or_else(|p| p.into_inner());
        if children.is_empty() {
            return Vec::new();
        }
        let mut live = Vec::with_capacity(children.len());
        children.retain(|child| match child.upgrade() {
            Some(child) => {
                live.push(child);
                true
            }
            None => false,
        });
        live
    }

    /// Fires the timers of this clock (`st`, its locked state) due at or before `due`,
    /// and those of its descendants on its time (those not virtual themselves), each due
    /// at `due` shifted by its offsets from this clock; collects their wakers into
    /// `fired` by deadline in this clock's time, then registration (SPEC R8).
    ///
    /// Locks each descendant's state while this clock's is held: parent before child.
    pub(crate) fn fire_tree(&self, st: &mut ClockState, due: u64, fired: &mut Firing) {
        let children = self.live_children();
        if children.is_empty() {
            st.queue.fire_due(due, &mut fired.wakers);
            return;
        }
        let mut keyed = std::mem::take(&mut fired.keyed);
        st.queue.fire_due_with(due, |tick, seq, waker| {
            keyed.push((i128::from(tick), seq, waker));
        });
        for child in children {
            child.fire_descendant(i128::from(due), 0, &mut keyed, &mut fired.held);
            fired.held.push(child);
        }
        // Each queue's run is in `(tick, seq)` order already: a stable merge.
        keyed.sort_by_key(|&(key, seq, _)| (key, seq));
        fired
            .wakers
            .extend(keyed.drain(..).map(|(_, _, waker)| waker));
        fired.keyed = keyed;
    }

    /// One descendant's part of [`fire_tree`](Self::fire_tree): `parent_due` is the due
    /// instant in the parent's time, `parent_shift` the parent's time minus the firing
    /// clock's.
    fn fire_descendant(
        &self,
        parent_due: i128,
        parent_shift: i128,
        keyed: &mut Vec<(i128, u64, Waker)>,
        held: &mut Vec<Arc<ClockCore>>,
    ) {
        if self.is_virtual() {
            // Its own time, which its own driver moves.
            return;
        }
        let offset = i128::from(self.offset());
        let (due, shift) = (parent_due + offset, parent_shift + offset);
        {
            let mut st = self.lock();
            if st.shut_down || self.is_virtual() {
                return;
            }
            if due >= 0 {
                let due = due.min(i128::from(u64::MAX)) as u64;
                st.queue.fire_due_with(due, |tick, seq, waker| {
                    keyed.push((i128::from(tick) - shift, seq, waker));
                });
            }
            for child in self.live_children() {
                child.fire_descendant(due, shift, keyed, held);
                held.push(child);
            }
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, ClockState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn is_virtual(&self) -> bool {
        self.virtual_mode.load(Ordering::Acquire)
    }

    /// Sets or clears `st.ended` (under the lock), and the flag read without it.
    pub(crate) fn set_ended(&self, st: &mut ClockState, ended: Option<TimeError>) {
        self.time_ended.store(ended.is_some(), Ordering::Release);
        st.ended = ended;
    }

    /// The driver's view of the state, read without the lock.
    pub(crate) fn gate(&self) -> DriveGate {
        DriveGate::unpack(self.gate.load(Ordering::Acquire))
    }

    /// Publishes the driver's view of `st`: called under the lock after every change to
    /// `enabled`, `shut_down`, `advancing`, `runtime_gone`, the generation or the
    /// settings. Each change is followed by a wake of the driver.
    pub(crate) fn publish_gate(&self, st: &ClockState) {
        let gate = DriveGate {
            active: st.enabled && !st.shut_down && !st.advancing && self.is_virtual(),
            gone: st.runtime_gone.is_some(),
            generation: (st.generation & DriveGate::GENERATION) as u32,
            noop_cycles: st.resolved.noop_cycles,
        };
        self.gate.store(gate.pack(), Ordering::Release);
    }

    /// Whether the virtual time this clock runs on (that of its nearest virtual ancestor)
    /// has ended.
    pub(crate) fn upstream_time_ended(&self) -> bool {
        let mut clock = self.parent_clock.as_deref();
        while let Some(ancestor) = clock {
            if ancestor.is_virtual() {
                return ancestor.time_ended.load(Ordering::Acquire);
            }
            clock = ancestor.parent_clock.as_deref();
        }
        false
    }

    /// Local time in nanoseconds.
    pub(crate) fn now_nanos(&self) -> u64 {
        if self.is_virtual() {
            self.virtual_now.load(Ordering::Acquire)
        } else {
            let parent = i128::from(self.parent.now().as_nanos());
            let local = parent + i128::from(self.offset.load(Ordering::Acquire));
            local.clamp(0, i128::from(u64::MAX)) as u64
        }
    }

    pub(crate) fn now(&self) -> Instant {
        Instant::from_nanos(self.now_nanos())
    }

    pub(crate) fn offset(&self) -> i64 {
        self.offset.load(Ordering::Acquire)
    }

    pub(crate) fn set_offset(&self, offset: i64) {
        self.offset.store(offset, Ordering::Release);
    }

    /// Local deadline → parent deadline (parent mode).
    pub(crate) fn to_parent(&self, local: u64) -> Instant {
        let parent = i128::from(local) - i128::from(self.offset());
        Instant::from_nanos(parent.clamp(0, i128::from(u64::MAX)) as u64)
    }

    pub(crate) fn system_time(&self) -> SystemTime {
        if self.is_virtual() {
            let origin = self.lock().wall_origin;
            origin + Duration::from_nanos(self.now_nanos())
        } else {
            let parent = self.parent.system_time();
            let offset = self.offset();
            let shift = Duration::from_nanos(offset.unsigned_abs());
            let shifted = if offset >= 0 {
                parent.checked_add(shift)
            } else {
                parent.checked_sub(shift)
            };
            shifted.unwrap_or(parent)
        }
    }

    /// Switches to (or reconfigures) the virtual clock and enables it (SPEC R16).
    pub(crate) fn setup(&self, settings: Settings) -> Result<(), SetupError> {
        // Read before the lock: a parent proxy's wall clock takes the parent's lock, and
        // no clock takes an ancestor's lock while holding its own.
        let parent_wall = self.parent.system_time();
        let mut st = self.lock();
        if st.shut_down {
            return Err(SetupError::ShutDown);
        }
        if st.enabled {
            return Err(SetupError::AlreadyEnabled);
        }
        let was_virtual = self.is_virtual();
        let current = if was_virtual { self.now_nanos() } else { 0 };
        let resolved = settings.resolved(current)?;
        if was_virtual && resolved.start < current {
            tracing::warn!(
                from = ?Duration::from_nanos(current),
                to = ?Duration::from_nanos(resolved.start),
                "looptime: setup moves loop time backwards; instants taken before it are now in \
                 the future"
            );
        }
        st.queue.set_resolution(resolved.resolution);
        st.wall_origin = parent_wall
            .checked_sub(Duration::from_nanos(resolved.start))
            .unwrap_or(SystemTime::UNIX_EPOCH);
        self.virtual_now.store(resolved.start, Ordering::Release);
        self.virtual_mode.store(true, Ordering::Release);
        st.settings = settings;
        st.resolved = resolved;
        self.set_ended(&mut st, None);
        st.pending_cancel = None;
        st.generation += 1;
        st.enabled = true;
        self.publish_gate(&st);
        let arm_waker = st.arm.waker.take();
        drop(st);
        // A parent-time arm, if any, notices the switch and retires.
        if let Some(waker) = arm_waker {
            waker.wake();
        }
        Ok(())
    }

    /// Switches the virtual clock on again with its current settings.
    pub(crate) fn enable(&self) -> Result<(), SetupError> {
        let mut st = self.lock();
        if st.shut_down {
            return Err(SetupError::ShutDown);
        }
        if st.enabled {
            return Err(SetupError::AlreadyEnabled);
        }
        if !self.is_virtual() {
            drop(st);
            return self.setup(Settings::default());
        }
        st.enabled = true;
        st.generation += 1;
        self.publish_gate(&st);
        Ok(())
    }

    pub(crate) fn disable(&self) {
        let mut st = self.lock();
        st.enabled = false;
        self.publish_gate(&st);
    }

    /// Sets the virtual now (never backwards) and fires what is due.
    ///
    /// Reaching `end` fires only the timers before it, then ends time: a wait until `end`
    /// itself fails (the end is inclusive).
    pub(crate) fn move_to(
        &self,
        st: &mut ClockState,
        target: u64,
        fired: &mut Firing,
    ) -> Option<TimeError> {
        let now = self.virtual_now.load(Ordering::Acquire);
        let mut target = ceil_to(target.max(now), st.resolved.resolution).unwrap_or(u64::MAX);
        let end = st.resolved.end.filter(|&end| target >= end);
        if let Some(end) = end {
            target = end;
        }
        self.virtual_now.store(target, Ordering::Release);
        let due = if end.is_some() {
            target.saturating_sub(1)
        } else {
            target
        };
        self.fire_tree(st, due, fired);
        if end.is_some() && st.ended.is_none() {
            let error = TimeError::end_of_time(Duration::from_nanos(target));
            self.set_ended(st, Some(error.clone()));
            return Some(error);
        }
        None
    }

    /// Stops waiting: interrupts every pending wait with `error` and marks the scope for
    /// the driver to cancel the tasks it did not reach. Returns the fallible waits to wake.
    pub(crate) fn interrupt(&self, st: &mut ClockState, error: TimeError, era: u64) -> Fired {
        let mut interrupted = Vec::new();
        st.queue.interrupt_fallible(&error, &mut interrupted);
        tracing::debug!(
            loop_time = ?Duration::from_nanos(self.now_nanos()),
            reason = %error,
            waits = interrupted.len(),
            "looptime: the scope stops waiting"
        );
        st.pending_cancel = Some((error, era));
        interrupted
    }

    /// Registers a wait; `Err` carries an outcome known at once.
    fn register(
        self: &Arc<Self>,
        deadline: u64,
        site: &'static Location<'static>,
    ) -> Result<Arc<TimerEntry>, Result<(), TimeError>> {
        let mut st = self.lock();
        if st.shut_down {
            return Err(Err(TimeError::shut_down()));
        }
        if deadline <= self.now_nanos() {
            return Err(Ok(()));
        }
        if let Some(ended) = &st.ended {
            return Err(Err(ended.clone()));
        }
        let entry = st.queue.new_entry(deadline, site);
        let tick = st.queue.push(entry.clone());
        let arm = if self.is_virtual() {
            None
        } else {
            st.arm.on_new_deadline(tick)
        };
        drop(st);
        if let Some(action) = arm {
            arm::apply(self, action);
        }
        Ok(entry)
    }

    fn cancelled(&self) {
        self.lock().queue.note_cancelled();
    }
}

/// The engine's implementation of a wait; registers on first poll.
pub(crate) struct EngineSleep {
    core: Arc<ClockCore>,
    wait: Wait,
}

/// Where a wait is: its deadline and site live in its entry once it is registered.
enum Wait {
    New {
        deadline: u64,
        site: &'static Location<'static>,
    },
    Registered(Arc<TimerEntry>),
    Done(Result<(), TimeError>),
}

impl EngineSleep {
    pub(crate) fn new(
        core: Arc<ClockCore>,
        deadline: Instant,
        site: &'static Location<'static>,
    ) -> Self {
        EngineSleep {
            core,
            wait: Wait::New {
                deadline: deadline.as_nanos(),
                site,
            },
        }
    }

    fn poll_outcome(
        &mut self,
        cx: &mut Context<'_>,
        fallible: bool,
    ) -> Poll<Result<(), TimeError>> {
        if let Wait::New { deadline, site } = self.wait {
            self.wait = match self.core.register(deadline, site) {
                Ok(entry) => Wait::Registered(entry),
                Err(outcome) => Wait::Done(outcome),
            };
        }
        let entry = match &self.wait {
            Wait::Registered(entry) => entry,
            Wait::Done(outcome) => return Poll::Ready(outcome.clone()),
            Wait::New { .. } => unreachable!("registered above"),
        };
        if fallible {
            entry.mark_fallible();
        }
        let (state, registered) = match entry.state() {
            EntryState::Pending => {
                entry.waker.register(cx.waker());
                (entry.state(), true)
            }
            state => (state, false),
        };
        let outcome = match state {
            EntryState::Pending => return Poll::Pending,
            EntryState::Fired => Ok(()),
            EntryState::Interrupted(record) => {
                Err(self.core.lock().queue.read_interruption(record))
            }
        };
        if registered {
            // It fired (or was interrupted) between the look and the registration, which
            // came too late to be taken: the entry is let go of with its slot empty.
            drop(entry.waker.take());
        }
        // The queue let go of the entry when it fired or was interrupted: so does this.
        self.wait = Wait::Done(outcome.clone());
        Poll::Ready(outcome)
    }
}

impl SleepImpl for EngineSleep {
    fn poll_elapsed(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), TimeError>> {
        self.get_mut().poll_outcome(cx, true)
    }

    fn poll_sleep(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match self.get_mut().poll_outcome(cx, false) {
            Poll::Ready(Ok(())) => Poll::Ready(()),
            Poll::Ready(Err(_)) | Poll::Pending => Poll::Pending,
        }
    }

    fn is_virtual(&self) -> bool {
        self.core.is_virtual()
    }
}

impl Drop for EngineSleep {
    fn drop(&mut self) {
        let Wait::Registered(entry) = &self.wait else {
            return;
        };
        if entry.cancel() {
            // The queue drops the entry later, under the clock's lock: with no waker in
            // it, that runs no code of the task's.
            drop(entry.waker.take());
            self.core.cancelled();
        } else if let EntryState::Interrupted(record) = entry.state() {
            // Interrupted but never told: the queue's record of why is one reader short.
            self.core.lock().queue.release_interruption(record);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::DriveGate;

    /// Every field of the gate survives packing, whatever the others hold: no two share
    /// a bit.
    #[test]
    fn drive_gate_fields_keep_to_their_bits() {
        for active in [false, true] {
            for gone in [false, true] {
                for generation in [0, 1, 12_345, DriveGate::GENERATION as u32] {
                    for noop_cycles in [0, 1, 42, u32::MAX] {
                        let gate = DriveGate {
                            active,
                            gone,
                            generation,
                            noop_cycles,
                        };
                        assert_eq!(DriveGate::unpack(gate.pack()), gate);
                    }
                }
            }
        }
    }
}
