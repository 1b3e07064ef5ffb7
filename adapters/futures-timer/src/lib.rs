//! # looptime-futures-timer
//!
//! [looptime](looptime_api) without a runtime of its own, in two parts:
//!
//! - [`FuturesTimerClock`] — a real [`Clock`](looptime_api::Clock) on
//!   [futures-timer](futures_timer), which runs its timers on a thread of its own and so
//!   works under any executor. Give it to generic code in production; give that code a
//!   [`Proxy`](looptime_api::Proxy) on virtual time in tests.
//! - [`Futures`] — a whole [`Runtime`](looptime_api::Runtime) from the `futures` crate's
//!   executor (a [`ThreadPool`](futures::executor::ThreadPool) for tasks,
//!   [`block_on`](futures::executor::block_on) for the root) plus that clock, so a proxy
//!   over it gives code written for the `futures` executor virtual time and per-test
//!   isolation.
//!
//! ```
//! use looptime_api::{ClockExt, Proxy, ReactorExt, Settings, SpawnerExt};
//! use looptime_futures_timer::Futures;
//! use std::time::Duration;
//!
//! let runtime = Futures::new().unwrap();
//! let proxy = Proxy::new(&runtime);
//! let _on = proxy.setup_looptime(Settings::new()).unwrap();
//! let answer = proxy.block_on(async {
//!     let clock = proxy.clone();
//!     let worker = proxy.spawn(async move {
//!         clock.sleep(Duration::from_secs(60)).await;
//!         42
//!     });
//!     proxy.timeout(Duration::from_secs(3600), worker).await
//! }).unwrap();
//! assert_eq!(answer.unwrap().unwrap(), 42);
//! assert_eq!(proxy.looptime(), Duration::from_secs(60)); // exact, in microseconds of real time
//! ```
//!
//! ## How the runtime meets the contract
//!
//! - `yield_now` is one real scheduler pass: a round trip through the pool's queue (see
//!   [`Futures`]). A self-wake would not do on this executor while it has tasks: the pool
//!   polls a task that woke itself again at once, and the `block_on` thread is not one of
//!   its workers. When no task at all is alive on the runtime, there is nothing for a
//!   trip to give a turn to (and no I/O loop of the pool's own to poll), so that pass is a
//!   plain self-wake, which makes a jump from a `block_on` root cheap.
//! - `alive_tasks` is exact: the adapter counts every task and blocking job it spawns,
//!   so when every task alive belongs to the scope, time jumps after a single pass
//!   (SPEC R9).
//! - I/O (TCP streams and listeners, UDP sockets, fd watchers, signal streams) runs on
//!   async-io's process-wide reactor, made by [`looptime_async_io`]: the `futures`
//!   executor has no reactor of its own, and async-io's driver thread polls that one for
//!   it.
//!
//! ## Tests
//!
//! [`#[looptime_futures_timer::test]`](test) runs an `async fn` test in a fresh scope on virtual time
//! and fails it when it leaks tasks or I/O, taking the settings as arguments
//! (`#[looptime_futures_timer::test(end = "10s", noop_cycles = 1)]`); `LOOPTIME=off` runs such tests on
//! real time.
//!
//! ## Escape hatches (SPEC R20)
//!
//! Virtual time covers what goes through the traits. Code that goes around them escapes
//! it, on purpose:
//! - `futures_timer::Delay` used directly (and any other runtime's timer) waits in real
//!   time, and a proxy on virtual time does not see it: time may jump while such a delay
//!   is pending;
//! - tasks spawned on another executor (a `ThreadPool` or `LocalPool` of your own, another
//!   runtime) are outside the proxy's sight: not tracked, not shut down, and not counted
//!   by [`alive_tasks`](looptime_api::Reactor::alive_tasks). When nothing else outside
//!   the scope is alive on the [`Futures`], the scope skips its `noop_cycles` passes, so
//!   time may jump after a single pass while such tasks still run. (Tasks spawned on the
//!   [`Futures`] itself, bypassing the proxy, are counted: they are not tracked either,
//!   but they get their `noop_cycles` passes to wake the scope before time jumps.)
//! - threads started with `std::thread::spawn` do not hold virtual time still the way
//!   blocking jobs spawned through the proxy do.
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
mod tasks;

pub use clock::FuturesTimerClock;
pub use runtime::Futures;

/// Runs an `async fn` test in a fresh `Proxy` on virtual time over
/// a new `Futures` runtime, then fails it on leaks; see `looptime_api::testing` for
/// the harness and the handle.
///
/// ```
/// use looptime_api::testing::TestHandle;
/// use looptime_api::ClockExt;
/// use std::time::Duration;
///
/// #[looptime_futures_timer::test(resolution = "1ms")]
/// async fn a_minute_in_no_time(lt: TestHandle) {
///     lt.sleep(Duration::from_micros(59_999_001)).await;
///     assert_eq!(lt.looptime(), Duration::from_secs(60));
/// }
/// # fn main() {}
/// ```
pub use looptime_macros::futures_test as test;

/// What the `#[test]` attribute's expansion refers to; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use looptime_api;

    /// The runtime of one test.
    pub fn runtime() -> crate::Futures {
        crate::Futures::new().unwrap_or_else(|error| {
            panic!("looptime_futures_timer::test: cannot start the thread pool: {error}")
        })
    }
}
