//! The backends bundled with looptime.

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
