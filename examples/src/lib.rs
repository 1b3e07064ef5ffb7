//! # looptime-examples
//!
//! Small, realistic programs written against looptime's traits, and tested on virtual
//! time.
//!
//! Each module is ordinary generic code: it takes `&C` where `C: Clock + ?Sized` (or, to
//! make I/O and spawn tasks as well, `Clock + Reactor` or a whole `Runtime`), so
//! production passes a runtime adapter (such as `looptime_tokio::Tokio`) and tests pass a
//! [`Proxy`](looptime_api::Proxy) on a virtual clock. The tests under `tests/` then assert
//! the loop time by exact equality: hours of backoff and renewal schedules run in
//! milliseconds of real time.
//!
//! - [`retry`] — a retrying caller with exponential backoff and seeded jitter.
//! - [`lease`] — a lease renewer that renews on an interval, each renewal under a timeout.
//! - [`rate_limit`] — a token bucket: bursts up to its capacity, then a steady rate.
//! - [`echo`] — a line-based TCP server (with commands that answer slowly, drop the
//!   connection, or fail the first few calls) and its client with timeouts and retries,
//!   generic over the whole [`Runtime`](looptime_api::Runtime); its tests share one server
//!   among many proxies, and among nested ones (global → module → test).
//!
//! Most tests use the `#[looptime_tokio::test]` and `#[looptime_smol::test]` attributes:
//! each test body runs in a fresh proxy on virtual time over a new runtime, and is checked
//! for leaks when it returns. The tests that share one runtime and one server
//! (`shared_server`, `nested_scopes`) make their proxies explicitly. `cargo run -p looptime-examples --example NAME` (`retry`, `lease`,
//! `rate_limit`, `echo`) runs each program on a real runtime, in real time.
//!
//! ```
//! use looptime_api::{Proxy, ReactorExt, Settings};
//! use looptime_examples::retry::{RetryPolicy, retry};
//! use std::time::Duration;
//!
//! // Production would pass a runtime; the test passes a proxy on virtual time.
//! let runtime = looptime_tokio::Tokio::current_thread().unwrap();
//! let proxy = Proxy::new(&runtime);
//! let _virtual_time = proxy.setup_looptime(Settings::new()).unwrap();
//! let policy = RetryPolicy::default(); // 100 ms, doubling, at most 5 attempts
//! let answer = proxy
//!     .block_on(retry(&proxy, &policy, |attempt| async move {
//!         if attempt < 5 { Err("busy") } else { Ok(attempt) }
//!     }))
//!     .unwrap();
//! assert_eq!(answer, Ok(5));
//! // Four backoffs, 100 + 200 + 400 + 800 ms, by exact equality.
//! assert_eq!(proxy.looptime(), Duration::from_millis(1500));
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod echo;
pub mod lease;
pub mod rate_limit;
pub mod retry;

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
