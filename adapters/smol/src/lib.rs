//! # looptime-smol
//!
//! [looptime](looptime_api) for smol: [`Smol`] implements the trait set
//! ([`Clock`](looptime_api::Clock), [`Spawner`](looptime_api::Spawner),
//! [`Reactor`](looptime_api::Reactor)) on smol's stack — an [`async_executor::Executor`]
//! for tasks, the [`async_io`] reactor for timers and I/O, and the [`blocking`] thread pool
//! for blocking jobs — so a [`Proxy`](looptime_api::Proxy) over it gives smol code virtual
//! time and per-test isolation.
//!
//! ```
//! use looptime_api::{ClockExt, Proxy, ReactorExt, Settings, SpawnerExt};
//! use looptime_smol::Smol;
//! use std::time::Duration;
//!
//! let runtime = Smol::new();
//! let proxy = Proxy::new(&runtime);
//! let _on = proxy.setup_looptime(Settings::new()).unwrap();
//! proxy.block_on(async {
//!     let clock = proxy.clone();
//!     let task = proxy.spawn(async move {
//!         clock.sleep(Duration::from_secs(60)).await;
//!         clock.looptime()
//!     });
//!     // An hour-long timeout around a minute of sleep: no real time passes.
//!     let woke_at = proxy.timeout(Duration::from_secs(3600), task).await;
//!     assert_eq!(woke_at.unwrap().unwrap(), Duration::from_secs(60));
//! }).unwrap();
//! assert_eq!(proxy.looptime(), Duration::from_secs(60));
//! ```
//!
//! ## The runtime
//!
//! [`Smol::new`] makes a fresh executor that runs while a `block_on` of the `Smol` is in
//! progress, on the calling thread: single-threaded and deterministic (the same program
//! gives the same order of completions on every run). Work spawned between two runs waits,
//! queued, for the next one. The executor is private to the `Smol`, which is how
//! [`alive_tasks`](looptime_api::Reactor::alive_tasks) can count the work on it exactly.
//!
//! I/O made through the [`Reactor`](looptime_api::Reactor) (TCP streams and listeners,
//! UDP sockets, fd watchers, signal streams) is registered with the async-io reactor by
//! [`looptime_async_io`], shared with `looptime-async-std` and `looptime-futures-timer`.
//!
//! ## Scheduler passes
//!
//! Virtual time gives work outside a scope `noop_cycles` scheduler passes to wake the
//! scope before time jumps, through [`yield_now`](looptime_api::Reactor::yield_now). On
//! smol's stack a self-waking yield is no such pass: async-executor's `Executor::run` puts
//! a task that wakes itself back on its queue and runs it again in the same round (up to
//! 200 tasks a round), before async-io's `block_on` polls the reactor and before the root
//! future is polled again. So a `Smol` counts passes in its `block_on` loop instead: a
//! yield completes in a later round of that loop than the one it started in. Between two
//! rounds, `async_io::block_on` polls the reactor, so by the time the yielding task
//! resumes, the tasks ready before it have run, and I/O that was ready has been seen: the
//! tasks it woke run before a yielding task does (the root future, polled first in each
//! round, sees their wakes but resumes before they run, as with tokio's `yield_now`).
//!
//! One limit comes from async-io itself: its reactor is shared by the whole process and
//! polled by whichever thread holds it. When the thread in `block_on` holds it, a pass
//! sees the I/O that was ready; while another thread holds it (async-io's helper thread,
//! or another `block_on` waiting for I/O), that thread delivers the events concurrently,
//! and a yield may resume before an event that was already ready has been delivered. How
//! often each case happens depends on the machine's timing (measured between almost never
//! and almost always), and async-io offers no way to poll its reactor on demand, so this
//! adapter promises that ready *tasks* run within a pass, not that ready I/O is seen.
//! Virtual time copes: it counts many passes (`noop_cycles`), and any wake resets the
//! count.
//!
//! ## Tests
//!
//! [`#[looptime_smol::test]`](test) runs an `async fn` test in a fresh scope on virtual time
//! and fails it when it leaks tasks or I/O, taking the settings as arguments
//! (`#[looptime_smol::test(end = "10s", noop_cycles = 1)]`); `LOOPTIME=off` runs such tests on
//! real time.
//!
//! ## Escape hatches (SPEC R20)
//!
//! Virtual time covers what goes through the traits. Code that calls smol's stack directly
//! escapes it, on purpose:
//! - `async_io::Timer` (re-exported as `smol::Timer`) runs in real time, and so does
//!   everything built on it: `Timer::after(d).await`, `Timer::interval`, a future raced
//!   against a timer with `or`;
//! - tasks spawned on an executor directly (`smol::spawn` on smol's global executor, or an
//!   `Executor` of your own) are outside the proxy's sight: not tracked, not shut down,
//!   and time may jump while they run. They are not counted by `alive_tasks` either, so
//!   when a scope's own tasks are all the work of its `Smol`, time jumps after a single
//!   pass without waiting for them;
//! - `blocking::unblock` (`smol::unblock`) jobs started directly do not hold virtual time
//!   still, and are not counted by `alive_tasks`.
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

pub use runtime::Smol;

/// Runs an `async fn` test in a fresh `Proxy` on virtual time over
/// a new `Smol`, then fails it on leaks; see `looptime_api::testing` for the harness
/// and the handle.
///
/// ```
/// use looptime_api::testing::TestHandle;
/// use looptime_api::ClockExt;
/// use std::time::Duration;
///
/// #[looptime_smol::test(end = "10s")]
/// async fn time_ends(lt: TestHandle) {
///     let waited = lt.timeout(Duration::from_secs(60), std::future::pending::<()>()).await;
///     assert!(waited.unwrap_err().is_end_of_time());
///     assert_eq!(lt.looptime(), Duration::from_secs(10));
/// }
/// # fn main() {}
/// ```
pub use looptime_macros::smol_test as test;

/// What the `#[test]` attribute's expansion refers to; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use looptime_api;

    /// The runtime of one test.
    pub fn runtime() -> crate::Smol {
        crate::Smol::new()
    }
}
