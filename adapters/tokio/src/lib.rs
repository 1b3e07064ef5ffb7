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
//! ## Escape hatches (SPEC R20)
//!
//! Virtual time covers what goes through the traits. Code that calls tokio directly
//! escapes it, on purpose:
//! - `tokio::time::sleep`, `tokio::time::timeout`, `tokio::time::interval` run in real
//!   time (or in tokio's own paused time, if the runtime was built with it);
//! - `tokio::spawn` / `Handle::spawn` tasks are outside the proxy's sight: they are not
//!   tracked, not shut down, and time may jump while they run (the `noop_cycles` passes
//!   give them a chance to wake the scope first);
//! - `tokio::task::spawn_blocking` jobs do not hold virtual time still.
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

pub use runtime::{Flavor, Tokio};
