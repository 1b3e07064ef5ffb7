//! # looptime-macros
//!
//! The `#[test]` attribute of each looptime adapter. Use it through the adapter's
//! re-export — `#[looptime_tokio::test]`, `#[looptime_smol::test]`,
//! `#[looptime_async_std::test]`, `#[looptime_futures_timer::test]` — not from this crate:
//! the expansion refers to the adapter by name.
//!
//! Every attribute expands to the same thing, a `#[test]` that runs the `async fn` through
//! `looptime_api::testing::run_test` on the adapter's runtime; they differ only in the
//! runtime they make.
//!
//! ```rust,test_harness
//! use looptime_api::ClockExt;
//! use looptime_api::testing::TestHandle;
//! use std::time::Duration;
//!
//! #[looptime_tokio::test(end = "1h", noop_cycles = 1)]
//! async fn fifteen_minutes_in_no_time(lt: TestHandle) {
//!     let waited = lt.timeout(Duration::from_secs(900), std::future::pending::<()>()).await;
//!     assert!(waited.unwrap_err().is_deadline());
//!     assert_eq!(lt.looptime(), Duration::from_secs(900));
//! }
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]

use proc_macro::TokenStream;

mod args;
mod duration;
mod expand;

/// The adapter an attribute belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Adapter {
    Tokio,
    Smol,
    AsyncStd,
    Futures,
}

impl Adapter {
    /// The adapter crate's name, as paths spell it.
    fn crate_name(self) -> &'static str {
        match self {
            Adapter::Tokio => "looptime_tokio",
            Adapter::Smol => "looptime_smol",
            Adapter::AsyncStd => "looptime_async_std",
            Adapter::Futures => "looptime_futures_timer",
        }
    }

    /// The attribute as users write it.
    fn attribute(self) -> &'static str {
        match self {
            Adapter::Tokio => "looptime_tokio::test",
            Adapter::Smol => "looptime_smol::test",
            Adapter::AsyncStd => "looptime_async_std::test",
            Adapter::Futures => "looptime_futures_timer::test",
        }
    }

    /// The keys the attribute accepts.
    fn keys(self) -> &'static [&'static str] {
        const KEYS: &[&str] = &[
            "start",
            "end",
            "resolution",
            "noop_cycles",
            "idle_step",
            "idle_timeout",
            "io_patience",
            "check",
            "leaks",
            "flavor",
            "worker_threads",
        ];
        match self {
            Adapter::Tokio => KEYS,
            _ => &KEYS[..KEYS.len() - 2],
        }
    }

    /// The accepted keys, for error messages.
    fn keys_hint(self) -> String {
        let keys: Vec<String> = self.keys().iter().map(|k| format!("`{k}`")).collect();
        format!("the arguments are {}", keys.join(", "))
    }
}

/// Runs an `async fn` test on virtual time over a new tokio runtime: re-exported as
/// `looptime_tokio::test`.
///
/// The runtime is tokio's current-thread one, unless `flavor = "multi_thread"` (with
/// `worker_threads = N` if given).
///
/// ```
/// use looptime_api::ClockExt;
/// use looptime_api::testing::TestHandle;
/// use std::time::Duration;
///
/// #[looptime_tokio::test]
/// async fn fifteen_minutes_in_no_time(lt: TestHandle) {
///     let waited = lt.timeout(Duration::from_secs(900), std::future::pending::<()>()).await;
///     assert!(waited.unwrap_err().is_deadline());
///     assert_eq!(lt.looptime(), Duration::from_secs(900));
/// }
///
/// #[looptime_tokio::test(flavor = "multi_thread", worker_threads = 2, end = "10s")]
/// async fn time_ends(lt: TestHandle) {
///     let waited = lt.timeout(Duration::from_secs(60), std::future::pending::<()>()).await;
///     assert!(waited.unwrap_err().is_end_of_time());
///     assert_eq!(lt.looptime(), Duration::from_secs(10));
/// }
/// # fn main() {}
/// ```
#[doc = include_str!("arguments.md")]
#[proc_macro_attribute]
pub fn tokio_test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(Adapter::Tokio, args.into(), item.into()).into()
}

/// Runs an `async fn` test on virtual time over a new smol executor: re-exported as
/// `looptime_smol::test`.
///
/// ```
/// use looptime_api::{ClockExt, SpawnerExt};
/// use looptime_api::testing::TestHandle;
/// use std::time::Duration;
///
/// #[looptime_smol::test(noop_cycles = 1)]
/// async fn a_minute_in_no_time(lt: TestHandle) {
///     let clock = lt.proxy().clone();
///     let worker = lt.spawn(async move { clock.sleep(Duration::from_secs(60)).await });
///     worker.await.unwrap();
///     assert_eq!(lt.looptime(), Duration::from_secs(60));
/// }
/// # fn main() {}
/// ```
#[doc = include_str!("arguments.md")]
#[proc_macro_attribute]
pub fn smol_test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(Adapter::Smol, args.into(), item.into()).into()
}

/// Runs an `async fn` test on virtual time over async-std's global runtime: re-exported as
/// `looptime_async_std::test`.
///
/// Each test gets its own scope and virtual clock; the runtime's worker threads are shared
/// by the process, as async-std's are.
#[doc = include_str!("arguments.md")]
#[proc_macro_attribute]
pub fn async_std_test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(Adapter::AsyncStd, args.into(), item.into()).into()
}

/// Runs an `async fn` test on virtual time over a new `futures` thread pool with
/// futures-timer: re-exported as `looptime_futures_timer::test`.
#[doc = include_str!("arguments.md")]
#[proc_macro_attribute]
pub fn futures_test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(Adapter::Futures, args.into(), item.into()).into()
}
