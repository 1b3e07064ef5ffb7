//! # looptime-examples
//!
//! Small, realistic programs written against looptime's [`Clock`](looptime_api::Clock)
//! trait, and tested on virtual time.
//!
//! Each module is ordinary generic code: it takes `&C` where `C: Clock + ?Sized`, so
//! production passes a runtime adapter (such as `looptime_tokio::Tokio`) and tests pass a
//! [`Proxy`](looptime_api::Proxy) on a virtual clock. The tests under `tests/` then assert
//! the loop time by exact equality: hours of backoff and renewal schedules run in
//! milliseconds of real time.
//!
//! - [`retry`] — a retrying caller with deterministic exponential backoff.
//! - [`lease`] — a lease renewer that renews on an interval, each renewal under a timeout.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod lease;
pub mod retry;

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
