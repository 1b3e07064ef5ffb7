//! # looptime-api
//!
//! Virtual time and per-test scopes for async Rust, on any runtime.
//!
//! This crate is the contract: the trait set that generic code depends on, and the
//! runtime-independent machinery that gives it virtual time. Runtime adapters
//! (`looptime-tokio`, …) implement the traits for their runtime; everything else is
//! written once, here.
//!
//! - **Traits** — [`Clock`] (time and waiting), [`Spawner`] (background work), [`Reactor`]
//!   (what only the runtime can do), and [`Runtime`], all three at once. Each has an
//!   extension trait of typed helpers ([`ClockExt`], [`SpawnerExt`], [`ReactorExt`]) so
//!   the core traits stay dyn-compatible: `Arc<dyn Runtime>` works.
//! - **[`Instant`]** — integer nanoseconds; no floating point anywhere on the time path.
//! - **[`io`]** — TCP streams and listeners, UDP sockets, fd watchers and signal streams,
//!   the same types on every runtime ([`Reactor::connect_tcp`] and its siblings).
//! - **[`Proxy`]** — a scope over a runtime (or another proxy) that records the tasks,
//!   blocking jobs, timers and I/O created through it, shuts them down with
//!   [`check_and_shutdown`](Proxy::check_and_shutdown) and reports leaks with the line
//!   that made them, shifts its time with [`advance_time`](Proxy::advance_time), and runs
//!   on a **virtual clock** after [`setup_looptime`](Proxy::setup_looptime).
//!
//! ## Virtual time in one paragraph
//!
//! On a virtual clock, time moves only when the scope is idle: no task of the scope is
//! runnable (known exactly, by tracking every wake) and `noop_cycles` scheduler passes
//! saw no wake. Then it jumps straight to the nearest deadline. A 15-minute timeout
//! completes in microseconds with a loop time of exactly 900 s. While blocking work is in
//! flight, time steps along with real time; while a task waits on I/O made through the
//! proxy, timers wait for it too (up to `io_patience` of silence); when only I/O can wake
//! the scope, it waits in real time up to `idle_timeout`; at `end`, time ends and every
//! fallible wait resolves to [`TimeError::is_end_of_time`]. See [`Settings`] and the rules
//! R9–R18 of the SPEC.
//!
//! ## Generic code, tested on virtual time
//!
//! ```
//! use looptime_api::{Clock, ClockExt, Proxy, ReactorExt, Settings, TimeError};
//! use std::time::Duration;
//!
//! /// Retries `attempt` with exponential backoff, giving up after `limit`.
//! async fn retry<C: Clock + ?Sized>(clock: &C, limit: Duration, mut attempt: impl FnMut() -> bool) -> Result<u32, TimeError> {
//!     clock.timeout(limit, async {
//!         let mut delay = Duration::from_secs(1);
//!         let mut tries = 1;
//!         while !attempt() {
//!             clock.sleep(delay).await;
//!             delay *= 2;
//!             tries += 1;
//!         }
//!         tries
//!     }).await
//! }
//!
//! let runtime = looptime_tokio::Tokio::current_thread().unwrap();
//! let proxy = Proxy::new(&runtime);
//! let _on = proxy.setup_looptime(Settings::new()).unwrap();
//! proxy.block_on(async {
//!     let mut calls = 0;
//!     let tries = retry(&proxy, Duration::from_secs(3600), || { calls += 1; calls == 5 }).await;
//!     assert_eq!(tries, Ok(5));
//!     assert_eq!(proxy.looptime(), Duration::from_secs(1 + 2 + 4 + 8)); // exact
//! }).unwrap();
//! ```
//!
//! ## Decisions where the SPEC is silent
//!
//! - Deadlines round **up** to the resolution (a timer never fires early), like tokio.
//! - `Sleep` as a future is infallible; the end of time reaches it by cancelling its task.
//!   Observe it with [`ClockExt::timeout`] or [`ClockExt::interruptible`].
//! - A sleep until [`Instant::MAX`] (or of `Duration::MAX`) never fires: it waits forever
//!   and is not a deadline time can jump to.
//! - Virtual time moves only while a [`Proxy::run`] (or `block_on`) of the proxy is in
//!   progress and a [`LooptimeGuard`] is alive; otherwise loop time stands still.
//! - `advance_time` steps deadline by deadline, letting tasks run between (tokio's
//!   `advance` skips them).
//! - While tracked I/O is in flight and was active within [`Settings::io_patience`] (1 s by
//!   default), timers do not jump: a `timeout(3600s, read)` waits for a peer that answers
//!   in 200 ms instead of failing at once (tokio's paused clock fails it), and still fails
//!   at exactly 3600 s, after about 1 s of real time, when the peer is silent. Code with no
//!   I/O in flight compacts instantly. `io_patience(None)` gives tokio's behaviour.
//! - An fd watcher owns its descriptor (an `OwnedFd`), so shutdown can close it; watch a
//!   duplicate (`try_clone`) to keep using the original.
//! - A stream accepted by a tracked listener is tracked with the listener's line.
//!
//! ## Bad input
//!
//! Each input gets a clear error or a documented saturation, never a panic inside the
//! library, a hang or an abort. Each row is a test in `looptime-api/tests/bad_input.rs`.
//!
//! | input | what happens | test |
//! |---|---|---|
//! | `sleep(Duration::MAX)` | deadline saturates to [`Instant::MAX`], "never": no jump; ends only by the idle timeout, end of time or shutdown | `duration_max_sleep_never_fires` |
//! | `timeout(Duration::MAX, f)` | no timeout: resolves to `Ok(f's output)` | `duration_max_timeout_is_no_timeout` |
//! | `Instant` overflow | operators saturate (`now + Duration::MAX == Instant::MAX`, `ZERO - 1s == ZERO`, `earlier - later == 0`); `checked_*` give `None`; `timeout_at(Instant::MAX, f)` never times out | `instant_overflow_saturates_or_is_none` |
//! | `end` before `start` (or before the kept loop time) | [`SetupError::EndBeforeStart`]; `end == start` is allowed (time over at once) | `end_before_start_is_rejected` |
//! | zero `resolution` | [`SetupError::ZeroResolution`] | `zero_resolution_is_rejected` |
//! | huge `resolution` | beyond ~584 years: [`SetupError::TooLarge`]; representable (e.g. 1 h): accepted, deadlines round up to it | `huge_resolution_is_rejected_or_rounds_up` |
//! | `start`, `end`, `idle_step` beyond ~584 years | [`SetupError::TooLarge`] naming the field | `durations_beyond_the_clock_are_rejected` |
//! | zero `idle_step` | [`SetupError::ZeroIdleStep`] | `zero_idle_step_is_rejected` |
//! | huge `noop_cycles` | above [`MAX_NOOP_CYCLES`]: [`SetupError::TooManyNoopCycles`] | `huge_noop_cycles_is_rejected` |
//! | negative `advance_time` | not expressible: `Duration` is unsigned | — |
//! | overflowing `advance_time` | [`AdvanceError::Overflow`]; nothing moves, the proxy stays usable | `overflowing_advance_time_is_rejected` |
//! | spawn (or wait, run, setup, `advance_time`) after shutdown | refused at once: [`JoinError::is_refused`], [`SpawnError::is_shut_down`], [`TimeError::is_shut_down`], [`AdvanceError::ShutDown`], [`SetupError::ShutDown`] | `spawn_after_shutdown_is_refused` |
//! | shutdown twice | the second call returns `Ok(())` | `shutdown_twice_is_harmless` |
//! | shutdown of a parent before its child | the parent reports (and cancels) the child's work; the child is shut down with it, its own shutdown returns `Ok(())` and it refuses work | `shutdown_of_parent_before_child` |

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod chronometer;
mod clock;
mod engine;
mod error;
mod instant;
mod interval;
pub mod io;
mod latch;
mod proxy;
mod reactor;
mod runtime;
mod sleep;
mod spawner;
mod sync;
mod task;
#[cfg(all(test, not(looptime_loom)))]
mod test_support;
pub mod testing;
mod timeout;

pub use chronometer::Chronometer;
pub use clock::{Clock, ClockExt};
pub use engine::settings::{MAX_NOOP_CYCLES, Settings, SetupError};
pub use error::{AdvanceError, SpawnError, TimeError};
pub use instant::Instant;
pub use interval::Interval;
pub use latch::Latch;
pub use proxy::{CheckKind, Leak, Leaks, LooptimeGuard, Proxy, Run};
pub use reactor::{BoxFuture, Reactor, ReactorExt};
pub use runtime::Runtime;
pub use sleep::{Sleep, SleepImpl};
pub use spawner::{Spawner, SpawnerExt};
pub use task::{BlockingJob, JoinError, JoinHandle, Task};
pub use timeout::{Interruptible, Timeout};
