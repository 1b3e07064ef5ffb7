//! [`Tokio`]: a handle to a tokio runtime, owning it or not.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use tokio::runtime::{Builder, Handle, Runtime, RuntimeFlavor, RuntimeMetrics};

use crate::passes::Passes;

/// A tokio runtime as a looptime [`Runtime`](looptime_api::Runtime).
///
/// Cheap to clone. Built with [`current_thread`](Tokio::current_thread) or
/// [`multi_thread`](Tokio::multi_thread), it owns its runtime (all drivers enabled, as
/// `#[tokio::test]` builds them) and shuts it down in the background when the last clone
/// is dropped. Made with [`from_handle`](Tokio::from_handle), it uses a runtime owned
/// elsewhere.
#[derive(Clone)]
pub struct Tokio {
    pub(crate) handle: Handle,
    /// The runtime's metrics, kept rather than made anew (a handle clone) for every
    /// `alive_tasks`.
    pub(crate) metrics: RuntimeMetrics,
    pub(crate) owned: Option<Arc<Owned>>,
    pub(crate) passes: Arc<Passes>,
    /// Blocking jobs spawned through this adapter and still in flight (tokio's task count
    /// leaves blocking work out).
    pub(crate) blocking: Arc<AtomicUsize>,
}

/// Which scheduler a [`Tokio`] runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// One thread: the one calling `block_on`.
    CurrentThread,
    /// A pool of worker threads.
    MultiThread,
}

/// An owned runtime, shut down in the background on drop (dropping a tokio runtime inside
/// an async context would panic).
pub(crate) struct Owned {
    runtime: Option<Runtime>,
}

impl Owned {
    pub(crate) fn runtime(&self) -> Option<&Runtime> {
        self.runtime.as_ref()
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Tokio {
    /// A new current-thread runtime with all drivers (I/O, time, signals).
    pub fn current_thread() -> io::Result<Tokio> {
        Tokio::build(Builder::new_current_thread().enable_all())
    }

    /// A new multi-thread runtime with all drivers and one worker per core.
    pub fn multi_thread() -> io::Result<Tokio> {
        Tokio::build(Builder::new_multi_thread().enable_all())
    }

    /// A new multi-thread runtime with all drivers and `workers` worker threads.
    pub fn multi_thread_with_workers(workers: usize) -> io::Result<Tokio> {
        Tokio::build(
            Builder::new_multi_thread()
                .worker_threads(workers.max(1))
                .enable_all(),
        )
    }

    /// Wraps a runtime built elsewhere; the `Tokio` owns it from now on.
    pub fn from_runtime(runtime: Runtime) -> Tokio {
        Tokio {
            handle: runtime.handle().clone(),
            metrics: runtime.metrics(),
            owned: Some(Arc::new(Owned {
                runtime: Some(runtime),
            })),
            passes: Arc::default(),
            blocking: Arc::default(),
        }
    }

    /// Uses a runtime owned elsewhere through its handle.
    ///
    /// On a current-thread runtime, `block_on` through a handle cannot drive I/O and
    /// timers unless another thread is inside `Runtime::block_on` (a tokio rule); prefer
    /// [`from_runtime`](Tokio::from_runtime) there.
    pub fn from_handle(handle: Handle) -> Tokio {
        Tokio {
            metrics: handle.metrics(),
            handle,
            owned: None,
            passes: Arc::default(),
            blocking: Arc::default(),
        }
    }

    /// The runtime of the calling async context, if any.
    pub fn try_current() -> Option<Tokio> {
        Handle::try_current().ok().map(Tokio::from_handle)
    }

    fn build(builder: &mut Builder) -> io::Result<Tokio> {
        Ok(Tokio::from_runtime(builder.build()?))
    }

    /// The tokio handle.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// The scheduler flavor.
    pub fn flavor(&self) -> Flavor {
        match self.handle.runtime_flavor() {
            RuntimeFlavor::CurrentThread => Flavor::CurrentThread,
            _ => Flavor::MultiThread,
        }
    }

    /// Whether the caller runs off the workers of a multi-thread runtime (on its
    /// `block_on` thread, say), where `tokio::task::yield_now` makes no pass.
    pub(crate) fn off_the_workers(&self) -> bool {
        self.flavor() == Flavor::MultiThread && tokio::task::try_id().is_none()
    }
}

impl fmt::Debug for Tokio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokio")
            .field("flavor", &self.flavor())
            .field("owned", &self.owned.is_some())
            .finish()
    }
}
