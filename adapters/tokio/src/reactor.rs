//! [`Reactor`] for [`Tokio`]: `block_on`, real-time sleeps, and `yield_now`.

use std::future::Future;
use std::pin::Pin;

use looptime_api::{BoxFuture, Reactor, TimeError};
use tokio::runtime::Handle;

use crate::Tokio;

impl Reactor for Tokio {
    /// Runs `root` with `Runtime::block_on` when the `Tokio` owns its runtime, with
    /// `Handle::block_on` otherwise.
    ///
    /// # Panics
    ///
    /// When called from inside an async context of a tokio runtime (tokio forbids nested
    /// `block_on`): await [`Proxy::run`](looptime_api::Proxy::run) there instead.
    fn block_on_dyn(
        &self,
        root: Pin<&mut (dyn Future<Output = ()> + '_)>,
    ) -> Result<(), TimeError> {
        assert!(
            Handle::try_current().is_err(),
            "looptime: block_on called from inside a tokio runtime; await `Proxy::run(..)` there instead"
        );
        match self.owned.as_ref().and_then(|owned| owned.runtime()) {
            Some(runtime) => runtime.block_on(root),
            None => self.handle.block_on(root),
        }
        Ok(())
    }

    /// A tokio timer in real time (tokio's paused time, if its runtime pauses).
    fn sleep_real_until(&self, deadline: std::time::Instant) -> BoxFuture {
        let _context = self.handle.enter();
        Box::pin(tokio::time::sleep_until(deadline.into()))
    }

    /// `tokio::task::yield_now`: inside the runtime it defers its wake until the driver
    /// has polled I/O, so a pass lets every other ready task and the I/O run first.
    fn yield_now(&self) -> BoxFuture {
        Box::pin(tokio::task::yield_now())
    }
}
