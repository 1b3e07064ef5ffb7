//! The backends bundled with looptime.

use looptime_async_std::AsyncStd;
use looptime_futures_timer::Futures;
use looptime_smol::Smol;
use looptime_tokio::Tokio;

use crate::Backend;

/// tokio's current-thread runtime, all drivers enabled.
pub struct TokioCurrentThread;

impl Backend for TokioCurrentThread {
    type Runtime = Tokio;
    const NAME: &'static str = "tokio-current-thread";

    fn runtime() -> Tokio {
        Tokio::current_thread().expect("a tokio current-thread runtime builds")
    }
}

/// tokio's multi-thread runtime with two workers, all drivers enabled.
pub struct TokioMultiThread;

impl Backend for TokioMultiThread {
    type Runtime = Tokio;
    const NAME: &'static str = "tokio-multi-thread";
    const SINGLE_THREADED: bool = false;

    fn runtime() -> Tokio {
        Tokio::multi_thread_with_workers(2).expect("a tokio multi-thread runtime builds")
    }
}

/// smol: a fresh executor driven by `block_on` on the calling thread, async-io timers,
/// the `blocking` pool.
pub struct SmolBackend;

impl Backend for SmolBackend {
    type Runtime = Smol;
    const NAME: &'static str = "smol";

    fn runtime() -> Smol {
        Smol::new()
    }
}

/// async-std's global runtime: tasks on its worker pool, the root on the `block_on`
/// thread (discontinued upstream; prefer smol).
pub struct AsyncStdBackend;

impl Backend for AsyncStdBackend {
    type Runtime = AsyncStd;
    const NAME: &'static str = "async-std";
    const SINGLE_THREADED: bool = false;

    fn runtime() -> AsyncStd {
        AsyncStd::new()
    }
}

/// The `futures` executor (a two-thread pool) with futures-timer.
pub struct FuturesBackend;

impl Backend for FuturesBackend {
    type Runtime = Futures;
    const NAME: &'static str = "futures";
    const SINGLE_THREADED: bool = false;

    fn runtime() -> Futures {
        Futures::new().expect("a futures thread pool starts")
    }
}
