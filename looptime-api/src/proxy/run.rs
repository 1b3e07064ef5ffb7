//! [`Run`]: a root future driven on a proxy, with its virtual clock beside it.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::sync::Arc;

use pin_project_lite::pin_project;

use super::Proxy;
use super::tracking::{TrackState, Tracked};
use crate::TimeError;
use crate::engine::driver::Driver;

pin_project! {
    /// A root future running in a proxy's scope; made by [`Proxy::run`].
    ///
    /// The root is tracked like the proxy's tasks, and while it runs the proxy's virtual
    /// clock (if enabled) moves: the driver sits beside the root in this future. It
    /// resolves to the root's output, or to the [`TimeError`] that stopped the root when
    /// the end of time or an idle timeout left it blocked (SPEC R14).
    ///
    /// Only one `Run` drives a proxy's clock at a time; a second concurrent `Run` on the
    /// same proxy only runs its root (tracked), leaving time to the first.
    #[must_use = "futures do nothing unless awaited"]
    pub struct Run<F> {
        proxy: Proxy,
        #[pin]
        root: Tracked<F>,
        root_state: Arc<TrackState>,
        driver: Driver,
        driving: Option<bool>,
    }

    impl<F> PinnedDrop for Run<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if *this.driving == Some(true) {
                this.proxy.shared.clock.lock().driving = false;
            }
        }
    }
}

impl<F: Future> Run<F> {
    pub(crate) fn new(proxy: Proxy, root: F) -> Self {
        let root_state = TrackState::new_scheduled(proxy.shared.scope.clone());
        Run {
            root: Tracked::new(root, root_state.clone(), None),
            root_state,
            driver: Driver::default(),
            driving: None,
            proxy,
        }
    }
}

impl<F: Future> Future for Run<F> {
    type Output = Result<F::Output, TimeError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let shared = &this.proxy.shared;
        let driving = match *this.driving {
            Some(driving) => driving,
            None => {
                let mut st = shared.clock.lock();
                if st.shut_down {
                    return Poll::Ready(Err(TimeError::shut_down()));
                }
                let driving = !st.driving;
                st.driving = true;
                *this.driving = Some(driving);
                driving
            }
        };
        // Before looking at the root's state: a wake between the look and a skipped poll
        // would otherwise find no waker to call (see `TrackState::listen`).
        this.root_state.listen(cx.waker());
        // Wakes of the root from here on need not call that waker: this poll looks again
        // (after a jump, whose timers are what usually wakes the root) or wakes itself.
        this.root_state.hold();
        let poll = Self::poll_held(this.root, this.root_state, this.driver, shared, driving, cx);
        if this.root_state.release() && poll.is_pending() {
            // Woken while held, and not polled since: let the runtime poll again, as the
            // outer waker would have.
            cx.waker().wake_by_ref();
        }
        poll
    }
}

impl<F: Future> Run<F> {
    /// The body of a poll, with the root held (see [`TrackState::hold`]).
    fn poll_held(
        mut root: Pin<&mut Tracked<F>>,
        root_state: &TrackState,
        driver: &mut Driver,
        shared: &super::ProxyShared,
        driving: bool,
        cx: &mut Context<'_>,
    ) -> Poll<Result<F::Output, TimeError>> {
        loop {
            if let Some(error) = driver.take_root_cancelled() {
                return Poll::Ready(Err(error));
            }
            if root_state.is_scheduled()
                && let Poll::Ready(output) = root.as_mut().poll(cx)
            {
                if driving {
                    driver.finish(&shared.clock, &shared.scope);
                }
                return Poll::Ready(Ok(output));
            }
            if !driving {
                return Poll::Pending;
            }
            let moved = driver.poll(cx, &shared.clock, &shared.scope, root_state);
            if moved.is_pending() {
                return Poll::Pending;
            }
        }
    }
}

#[cfg(all(test, not(looptime_loom)))]
mod tests {
    use std::future::{Future, Pending, pending};
    use std::pin::{Pin, pin};
    use std::sync::Arc;
    use std::task::{Context, Poll, Waker};

    use crate::Proxy;
    use crate::test_support::{Counter, Manual};

    /// A wake of the root that overlaps a poll of the run for another reason, and then a
    /// second wake: the second must still reach the run's waker.
    #[test]
    fn a_wake_that_overlaps_a_skipped_poll_is_not_lost() {
        let proxy = Proxy::new(&Manual::default());
        let mut run = pin!(proxy.run(pending::<()>()));
        let counter = Arc::new(Counter::default());
        let waker = Waker::from(counter.clone());
        let mut cx = Context::from_waker(&waker);
        let mut poll = |run: &mut Pin<&mut super::Run<Pending<()>>>| {
            assert!(matches!(Future::poll(run.as_mut(), &mut cx), Poll::Pending));
        };
        let root = run.root_state.clone();

        let wakes = || counter.wakes();
        poll(&mut run); // the root runs once and waits
        assert!(root.begin_wake()); // wake A flips the state...
        poll(&mut run); // ...the run is polled for another reason and polls the root...
        let before = wakes();
        root.finish_wake(); // ...and wake A calls the run's waker
        assert_eq!(wakes(), before + 1, "wake A reached the run");
        poll(&mut run); // the root is idle: this poll skips it
        assert!(root.begin_wake()); // wake B
        let before = wakes();
        root.finish_wake();
        assert_eq!(wakes(), before + 1, "wake B reached the run");
    }
}
