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
mod io;
mod passes;
mod reactor;
mod runtime;
mod spawner;

pub use runtime::{Flavor, Tokio};
