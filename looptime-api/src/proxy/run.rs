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
        let mut this = self.project();
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
        loop {
            if let Some(error) = this.driver.take_root_cancelled() {
                return Poll::Ready(Err(error));
            }
            if this.root_state.is_scheduled()
                && let Poll::Ready(output) = this.root.as_mut().poll(cx)
            {
                if driving {
                    this.driver.finish(&shared.clock, &shared.scope);
                }
                return Poll::Ready(Ok(output));
            }
            if !driving {
                return Poll::Pending;
            }
            let moved = this
                .driver
                .poll(cx, &shared.clock, &shared.scope, this.root_state);
            if moved.is_pending() {
                return Poll::Pending;
            }
        }
    }
}
