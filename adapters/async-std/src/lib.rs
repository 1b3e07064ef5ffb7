//! # looptime-async-std
//!
//! [looptime](looptime_api) for async-std: [`AsyncStd`] implements the trait set
//! ([`Clock`](looptime_api::Clock), [`Spawner`](looptime_api::Spawner),
//! [`Reactor`](looptime_api::Reactor)) for async-std's global runtime, so a
//! [`Proxy`](looptime_api::Proxy) over it gives async-std code virtual time and per-test
//! isolation.
//!
//! **async-std is discontinued upstream.** This adapter is kept for code that still runs
//! on it; new code should use smol and its adapter, `looptime-smol`. (async-std is built
//! from the same parts as smol: async-executor, async-io and blocking.)
//!
//! ```
//! use looptime_api::{ClockExt, Proxy, ReactorExt, Settings, SpawnerExt};
//! use looptime_async_std::AsyncStd;
//! use std::time::Duration;
//!
//! let proxy = Proxy::new(&AsyncStd::new());
//! let _on = proxy.setup_looptime(Settings::new()).unwrap();
//! proxy.block_on(async {
//!     let clock = proxy.clone();
//!     let worker = proxy.spawn(async move {
//!         clock.sleep(Duration::from_secs(60)).await;
//!         clock.looptime()
//!     });
//!     proxy.sleep(Duration::from_secs(10)).await;
//!     assert_eq!(worker.await.unwrap(), Duration::from_secs(60));
//! }).unwrap();
//! // A minute of loop time, in microseconds of real time.
//! assert_eq!(proxy.looptime(), Duration::from_secs(60));
//! ```
//!
//! ## How async-std maps onto the traits
//!
//! - **Time**: `now()` is `std::time::Instant::now()`; `sleep_until` is an async-io timer
//!   at the absolute deadline (`async_io::Timer::at`), the timer async-std's own
//!   `task::sleep` is made of.
//! - **Spawning**: `async_std::task::spawn` and `async_std::task::spawn_blocking`, detached
//!   (the proxy's join handles do the joining).
//! - **`block_on`**: `async_std::task::block_on`, which polls the root on the calling
//!   thread while async-std's worker threads run the tasks.
//! - **`yield_now`**: a real scheduler pass, as virtual time needs one: a trip through
//!   the worker threads (a small task, queued behind every runnable task, wakes the
//!   caller when a worker runs it). `async_std::task::yield_now` alone is not a pass: in
//!   a `block_on` root it returns without any worker taking a turn, and in a task it is
//!   a single trip through the queue, which often ends before the tasks other workers
//!   took have finished their poll.
//! - **`alive_tasks`**: `None`. async-std's executor is global to the process (any
//!   `async_std::task::spawn`, anywhere, lands on it) and cannot be counted exactly, so
//!   virtual time always makes its full `noop_cycles` passes before a jump.
//! - **I/O**: TCP streams and listeners, UDP sockets, fd watchers and signal streams on
//!   async-io's reactor, the one async-std's own `net` types use, made by
//!   [`looptime_async_io`] (shared with `looptime-smol` and `looptime-futures-timer`).
//!
//! The runtime is global, so [`AsyncStd`] is a zero-sized handle and parallel tests share
//! the worker threads; each test still gets its own scope and its own virtual clock
//! through its [`Proxy`](looptime_api::Proxy).
//!
//! ## Tests
//!
//! [`#[looptime_async_std::test]`](test) runs an `async fn` test in a fresh scope on virtual time
//! and fails it when it leaks tasks or I/O, taking the settings as arguments
//! (`#[looptime_async_std::test(end = "10s", noop_cycles = 1)]`); `LOOPTIME=off` runs such tests on
//! real time.
//!
//! ## Escape hatches (SPEC R20)
//!
//! Virtual time covers what goes through the traits. Code that calls async-std (or
//! async-io) directly escapes it, on purpose:
//! - `async_std::task::sleep`, `async_std::future::timeout`, `async_std::io::timeout`,
//!   `async_std::stream::interval` (and the other timers of async-std's `unstable`
//!   feature) and `async_io::Timer` run in real time;
//! - `async_std::task::spawn` tasks are outside the proxy's sight: they are not tracked,
//!   not shut down, and time may jump while they run (the `noop_cycles` passes give them
//!   a chance to wake the scope first);
//! - `async_std::task::spawn_blocking` jobs do not hold virtual time still.
//!
//! Route such code through a `Clock`/`Spawner` (for example, take `impl Runtime`) to bring
//! it under virtual time.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod clock;
mod passes;
mod reactor;
mod runtime;
mod spawner;

pub use runtime::AsyncStd;

/// Runs an `async fn` test in a fresh `Proxy` on virtual time over
/// async-std's global runtime (`AsyncStd`), then fails it on leaks; see
/// `looptime_api::testing` for the harness and the handle.
///
/// ```
/// use looptime_api::testing::TestHandle;
/// use looptime_api::ClockExt;
/// use std::time::Duration;
///
/// #[looptime_async_std::test]
/// async fn an_hour_in_no_time(lt: TestHandle) {
///     lt.sleep(Duration::from_secs(3600)).await;
///     assert_eq!(lt.looptime(), Duration::from_secs(3600));
/// }
/// # fn main() {}
/// ```
pub use looptime_macros::async_std_test as test;

/// What the `#[test]` attribute's expansion refers to; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use looptime_api;

    /// The runtime of one test.
    pub fn runtime() -> crate::AsyncStd {
        crate::AsyncStd::new()
    }
}
