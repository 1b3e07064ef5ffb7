//! # looptime-tokio
//!
//! [looptime](looptime_api) for tokio: [`Tokio`] implements the trait set
//! ([`Clock`](looptime_api::Clock), [`Spawner`](looptime_api::Spawner),
//! [`Reactor`](looptime_api::Reactor)) for tokio's current-thread and multi-thread
//! runtimes, so a [`Proxy`](looptime_api::Proxy) over it gives tokio code virtual time and
//! per-test isolation.
//!
//! ```
//! use looptime_api::{ClockExt, Proxy, ReactorExt, Settings};
//! use looptime_tokio::Tokio;
//! use std::time::Duration;
//!
//! let runtime = Tokio::current_thread().unwrap();
//! let proxy = Proxy::new(&runtime);
//! let _on = proxy.setup_looptime(Settings::new()).unwrap();
//! proxy.block_on(async {
//!     proxy.sleep(Duration::from_secs(10)).await;
//! }).unwrap();
//! assert_eq!(proxy.looptime(), Duration::from_secs(10));
//! ```
//!
//! ## I/O
//!
//! [`Tokio`] makes looptime's I/O ([`looptime_api::io`]) from tokio's own objects: TCP
//! streams and listeners (`tokio::net`), UDP sockets, fd watchers
//! (`tokio::io::unix::AsyncFd`) and signal streams (`tokio::signal::unix`). Each is
//! registered with this adapter's runtime, whichever thread or executor polls it. Streams
//! implement the `futures-io` traits; closing one shuts its write half down. Made through a
//! [`Proxy`](looptime_api::Proxy), they are tracked by it.
//!
//! On a current-thread runtime, I/O makes progress only while a `block_on` of that runtime
//! runs. As with tokio itself, making I/O on a runtime built without its I/O driver
//! (`enable_io`) panics; the runtimes built here have every driver.
//!
//! ## Tests
//!
//! [`#[looptime_tokio::test]`](test) runs an `async fn` test in a fresh scope on virtual time
//! and fails it when it leaks tasks or I/O, taking the settings as arguments
//! (`#[looptime_tokio::test(end = "10s", noop_cycles = 1)]`); `LOOPTIME=off` runs such tests on
//! real time.
//!
//! ## Escape hatches (SPEC R20)
//!
//! Virtual time covers what goes through the traits. Code that calls tokio directly
//! escapes it, on purpose:
//! - `tokio::time::sleep`, `tokio::time::timeout`, `tokio::time::interval` run in real
//!   time (or in tokio's own paused time, if the runtime was built with it);
//! - `tokio::spawn` / `Handle::spawn` tasks are outside the proxy's sight: they are not
//!   tracked, not shut down, and time may jump while they run (the `noop_cycles` passes
//!   give them a chance to wake the scope first);
//! - `tokio::task::spawn_blocking` jobs do not hold virtual time still;
//! - on a multi-thread runtime, `tokio::task::yield_now` called directly in a tracked task:
//!   tokio holds the wake back until that worker's next turn, which a scheduler pass made
//!   on another worker does not wait for, so time may jump while the task is between its
//!   yield and its wake (often, in a tight loop of yields under `block_on`). A yield
//!   through the proxy ([`Reactor::yield_now`](looptime_api::Reactor::yield_now) of the
//!   `Proxy`) holds the scope busy until it completes, on any runtime; on a current-thread
//!   runtime both are exact.
//!
//! Route such code through a `Clock`/`Spawner` (for example, take `impl Runtime`) to bring
//! it under virtual time.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod clock;
mod io;
mod passes;
mod reactor;
mod runtime;
mod spawner;

pub use runtime::{Flavor, Tokio};

/// Runs an `async fn` test in a fresh `Proxy` on virtual time over
/// a new `Tokio` runtime (current-thread, or `flavor = "multi_thread"`), then fails it on
/// leaks; see `looptime_api::testing` for the harness and the handle.
///
/// ```
/// use looptime_api::testing::TestHandle;
/// use looptime_api::{ClockExt, SpawnerExt};
/// use std::time::Duration;
///
/// #[looptime_tokio::test(end = "1h")]
/// async fn backs_off(lt: TestHandle) {
///     let clock = lt.proxy().clone();
///     let worker = lt.spawn(async move { clock.sleep(Duration::from_secs(60)).await });
///     worker.await.unwrap();
///     assert_eq!(lt.looptime(), Duration::from_secs(60));
/// }
/// # fn main() {}
/// ```
pub use looptime_macros::tokio_test as test;

/// What the `#[test]` attribute's expansion refers to; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use looptime_api;

    /// The runtime of one test: current-thread, or multi-thread with `workers` threads
    /// (one per core if `None`).
    pub fn runtime(multi_thread: bool, workers: Option<usize>) -> crate::Tokio {
        let runtime = match (multi_thread, workers) {
            (false, _) => crate::Tokio::current_thread(),
            (true, None) => crate::Tokio::multi_thread(),
            (true, Some(workers)) => crate::Tokio::multi_thread_with_workers(workers),
        };
        runtime.unwrap_or_else(|error| {
            panic!("looptime_tokio::test: cannot build the tokio runtime: {error}")
        })
    }
}
