//! `advance_time` (SPEC R8): shift a proxy's time forward, deadline by deadline.
//!
//! Rather than one jump that skips the work in between, the shift steps to each pending
//! deadline inside the window in order, fires that tick's timers, the proxy's and its
//! descendants' together (FIFO across them), and lets the
//! scope settle (quiet, as the driver defines it) before the next step; so a task that
//! sleeps in a loop runs once per period, as it would in real time. The stepping runs in a
//! helper task on the parent, outside the scope, so its own scheduler passes do not count
//! as wakes of the scope.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::sync::Arc;

use super::clock::{ClockCore, Firing};
use super::quiescence::Quiescence;
use super::settings::ceil_to;
use crate::AdvanceError;
use crate::proxy::scope::ScopeState;

/// Where the shift ends.
#[derive(Clone, Copy)]
enum Target {
    /// Virtual mode: the loop time to reach.
    Virtual(u64),
    /// Parent mode: the offset to reach.
    Parent(i64),
}

/// The helper task of one `advance_time` call.
pub(crate) struct AdvanceTask {
    core: Arc<ClockCore>,
    scope: Arc<ScopeState>,
    by: core::time::Duration,
    by_nanos: u64,
    target: Option<Target>,
    quiet: Quiescence,
}

impl AdvanceTask {
    pub(crate) fn new(
        core: Arc<ClockCore>,
        scope: Arc<ScopeState>,
        by: core::time::Duration,
        by_nanos: u64,
    ) -> Self {
        AdvanceTask {
            core,
            scope,
            by,
            by_nanos,
            target: None,
            quiet: Quiescence::default(),
        }
    }

    /// Takes the proxy's single advancing slot and fixes the target.
    fn acquire(&mut self, cx: &mut Context<'_>) -> Poll<Result<Target, AdvanceError>> {
        let mut st = self.core.lock();
        if st.shut_down {
            return Poll::Ready(Err(AdvanceError::ShutDown));
        }
        if st.advancing {
            st.advance_waiters.push(cx.waker().clone());
            return Poll::Pending;
        }
        let overflow = AdvanceError::Overflow { by: self.by };
        let target = if self.core.is_virtual() {
            if let Some(ended) = &st.ended {
                return Poll::Ready(Err(AdvanceError::EndOfTime(ended.clone())));
            }
            let target = self
                .core
                .now_nanos()
                .checked_add(self.by_nanos)
                .ok_or(overflow.clone())?;
            Target::Virtual(ceil_to(target, st.resolved.resolution).ok_or(overflow)?)
        } else {
            let by = i64::try_from(self.by_nanos).map_err(|_| overflow.clone())?;
            Target::Parent(self.core.offset().checked_add(by).ok_or(overflow)?)
        };
        st.advancing = true;
        self.core.publish_gate(&st);
        self.target = Some(target);
        Poll::Ready(Ok(target))
    }

    /// One step: `None` to settle and step again, `Some(result)` when done.
    fn step(&self, target: Target) -> Option<Result<(), AdvanceError>> {
        let core = &self.core;
        let mut st = core.lock();
        let mut fired = Firing::default();
        let next = st.queue.next_tick();
        let result = match target {
            Target::Virtual(target) => {
                let (to, last) = match next {
                    Some(next) if next < target => (next, false),
                    _ => (target, true),
                };
                if let Some(error) = core.move_to(&mut st, to, &mut fired) {
                    let era = self.scope.next_interrupt_epoch();
                    fired
                        .wakers
                        .extend(core.interrupt(&mut st, error.clone(), era));
                    Some(Err(AdvanceError::EndOfTime(error)))
                } else {
                    last.then_some(Ok(()))
                }
            }
            Target::Parent(final_offset) => {
                let parent_now = i128::from(core.parent.now().as_nanos());
                let limit = parent_now + i128::from(final_offset);
                let done = match next {
                    Some(next) if i128::from(next) < limit => {
                        let needed = i128::from(next) - parent_now;
                        let needed = i64::try_from(needed).unwrap_or(final_offset);
                        core.set_offset(core.offset().max(needed).min(final_offset));
                        false
                    }
                    _ => {
                        core.set_offset(final_offset);
                        true
                    }
                };
                core.fire_tree(&mut st, core.now_nanos(), &mut fired);
                let rearm = st.arm.rearm();
                drop(st);
                if let Some(waker) = rearm {
                    waker.wake();
                }
                fired.wake();
                return done.then_some(Ok(()));
            }
        };
        drop(st);
        fired.wake();
        result
    }
}

impl Future for AdvanceTask {
    type Output = Result<(), AdvanceError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let target = match this.target {
            Some(target) => target,
            None => match this.acquire(cx) {
                Poll::Ready(Ok(target)) => target,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            },
        };
        loop {
            let noop_cycles = this.core.gate().noop_cycles;
            let quiet = this.quiet.poll_quiet(
                cx,
                &this.scope,
                &*this.core.parent,
                noop_cycles,
                ScopeState::watch_settle,
                // This helper runs on the parent: alive there, but not work outside.
                1,
            );
            if quiet.is_pending() {
                return Poll::Pending;
            }
            this.quiet.reset();
            if let Some(result) = this.step(target) {
                return Poll::Ready(result);
            }
        }
    }
}

impl Drop for AdvanceTask {
    fn drop(&mut self) {
        if self.target.is_none() {
            return;
        }
        let waiters = {
            let mut st = self.core.lock();
            st.advancing = false;
            self.core.publish_gate(&st);
            std::mem::take(&mut st.advance_waiters)
        };
        for waker in waiters {
            waker.wake();
        }
        self.scope.wake_driver();
    }
}
