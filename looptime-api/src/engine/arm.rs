//! The one parent timer of a proxy on its parent's time (SPEC R8, DESIGN "Timers").
//!
//! A proxy that runs on its parent's time keeps its own queue and arms a single timer of
//! the parent for its earliest deadline. A small helper task, spawned on the parent,
//! waits on that timer, fires what is due, and re-arms. `advance_time` shifts the offset
//! and wakes the helper, so the cost of a shift is O(k log n), never O(n).
//!
//! The timers of a proxy on its parent's time are fired with the parent's, by whichever
//! clock fires the parent's (`ClockCore::fire_tree`), so that a tree's timers due at one
//! tick fire in one FIFO order (SPEC R8); the helper mostly finds nothing left due, and
//! keeps the parent's timer armed for the next deadline.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use std::panic::Location;
use std::sync::{Arc, Weak};

use super::clock::{ClockCore, Firing, wake_all};
use crate::{Instant, Sleep, Task, TimeError};

/// The helper's bookkeeping, behind the clock's lock.
#[derive(Default)]
pub(crate) struct ArmState {
    running: bool,
    armed: Option<u64>,
    pub(crate) waker: Option<Waker>,
}

/// What a new deadline asks of the helper.
pub(crate) enum ArmAction {
    Spawn,
    Wake(Waker),
}

impl ArmState {
    /// A deadline at `tick` was added: start the helper, or wake it if `tick` is earlier
    /// than what it waits for.
    pub(crate) fn on_new_deadline(&mut self, tick: u64) -> Option<ArmAction> {
        if !self.running {
            self.running = true;
            return Some(ArmAction::Spawn);
        }
        if self.armed.is_none_or(|armed| tick < armed) {
            return self.waker.take().map(ArmAction::Wake);
        }
        None
    }

    /// The time base changed (an offset shift): the helper must re-arm.
    pub(crate) fn rearm(&mut self) -> Option<Waker> {
        self.waker.take()
    }
}

/// Carries out an [`ArmAction`], outside the clock's lock.
pub(crate) fn apply(core: &Arc<ClockCore>, action: ArmAction) {
    match action {
        ArmAction::Wake(waker) => waker.wake(),
        ArmAction::Spawn => {
            let helper = ArmTask {
                core: Arc::downgrade(core),
                sleep: None,
                finished: false,
            };
            let task = Task::internal(helper, Location::caller());
            if core.parent.spawn_task(task).is_err() {
                // The parent refuses work: these timers can never fire.
                let mut st = core.lock();
                st.arm.running = false;
                let mut interrupted = Vec::new();
                st.queue
                    .interrupt_all(&TimeError::shut_down(), &mut interrupted);
                drop(st);
                wake_all(interrupted);
            }
        }
    }
}

/// The helper task.
struct ArmTask {
    core: Weak<ClockCore>,
    /// The parent timer: its parent-time deadline, and the sleep.
    sleep: Option<(Instant, Sleep)>,
    /// It returned `Ready`, having handed its duties back (or having none left).
    finished: bool,
}

/// A helper dropped before it finished was dropped by its runtime (shut down) or by a
/// parent proxy's shutdown: nothing will fire this proxy's timers any more, so their waits
/// fail rather than hang, and the next deadline starts a new helper.
impl Drop for ArmTask {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let Some(core) = self.core.upgrade() else {
            return;
        };
        let mut st = core.lock();
        if !st.arm.running {
            return;
        }
        st.arm = ArmState::default();
        let error = TimeError::runtime_gone();
        let mut interrupted = Vec::new();
        st.queue.interrupt_all(&error, &mut interrupted);
        st.runtime_gone = Some(error);
        core.publish_gate(&st);
        let run = st.gone_waker.take();
        drop(st);
        wake_all(interrupted);
        if let Some(run) = run {
            run.wake();
        }
    }
}

impl Future for ArmTask {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            let Some(core) = self.core.upgrade() else {
                self.finished = true;
                return Poll::Ready(());
            };
            // Once the virtual time this proxy runs on has ended, the present instant is
            // the end, which no wait reaches (R13): only what was due before it fires.
            let now = core.now_nanos();
            let due = if core.upstream_time_ended() {
                now.saturating_sub(1)
            } else {
                now
            };
            let mut fired = Firing::default();
            let next = {
                let mut st = core.lock();
                if st.shut_down || core.is_virtual() {
                    st.arm = ArmState::default();
                    drop(st);
                    self.finished = true;
                    return Poll::Ready(());
                }
                core.fire_tree(&mut st, due, &mut fired);
                let next = st.queue.next_tick();
                st.arm.armed = next;
                st.arm.waker = Some(cx.waker().clone());
                next
            };
            fired.wake();
            let Some(next) = next else {
                self.sleep = None;
                return Poll::Pending;
            };
            let target = core.to_parent(next);
            let sleep = match &mut self.sleep {
                Some((armed, sleep)) if *armed == target => sleep,
                slot => &mut slot.insert((target, core.parent.sleep_until(target))).1,
            };
            match sleep.poll_elapsed(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(())) if core.now_nanos() < next => {
                    // The parent's timer fired before its deadline (a clock breaking its
                    // contract): poll again later rather than spin inside this poll.
                    self.sleep = None;
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                Poll::Ready(Ok(())) => self.sleep = None,
                Poll::Ready(Err(error)) => {
                    self.sleep = None;
                    parent_stopped(&core, error);
                }
            }
        }
    }
}

/// The parent stopped waiting (its end of time, idle timeout or shutdown): so does this
/// proxy, with the parent's error.
fn parent_stopped(core: &ClockCore, error: TimeError) {
    let mut st = core.lock();
    if error.is_end_of_time() && st.ended.is_none() {
        core.set_ended(&mut st, Some(error.clone()));
    }
    let mut interrupted = Vec::new();
    st.queue.interrupt_all(&error, &mut interrupted);
    drop(st);
    wake_all(interrupted);
}
