//! Plumbing shared by the integration tests: a proxy on virtual time over a fresh tokio
//! runtime, a run that must end without leaks, and a loose bound on real time.

use std::future::Future;
use std::time::{Duration, Instant as RealInstant};

use looptime_api::{CheckKind, LooptimeGuard, Proxy, ReactorExt, Settings};
use looptime_tokio::Tokio;

/// A proxy on virtual time with `settings`, over a fresh current-thread runtime.
///
/// Virtual time stays on while the guard lives: bind it to a name such as `_on`, not `_`.
#[track_caller]
pub fn virtual_proxy(settings: Settings) -> (Proxy, LooptimeGuard) {
    on_virtual_time(&Tokio::current_thread().unwrap(), settings)
}

/// Like [`virtual_proxy`], over a fresh multi-thread runtime.
#[track_caller]
pub fn virtual_proxy_multi_thread(settings: Settings) -> (Proxy, LooptimeGuard) {
    on_virtual_time(&Tokio::multi_thread().unwrap(), settings)
}

/// A proxy over `runtime`, put on virtual time. The proxy keeps the runtime alive.
#[track_caller]
fn on_virtual_time(runtime: &Tokio, settings: Settings) -> (Proxy, LooptimeGuard) {
    let proxy = Proxy::new(runtime);
    let guard = proxy.setup_looptime(settings).unwrap();
    (proxy, guard)
}

/// Runs `body` to completion on `proxy`, then shuts the proxy down, asserts that nothing
/// of any kind was left alive, and returns the body's output.
///
/// Panics as well when the end of time or an idle timeout stops the run.
#[track_caller]
pub fn run_clean<F: Future>(proxy: &Proxy, body: F) -> F::Output {
    let (output, shutdown) = proxy
        .block_on(async {
            let output = body.await;
            (output, proxy.check_and_shutdown(CheckKind::ALL).await)
        })
        .unwrap();
    if let Err(leaks) = shutdown {
        panic!("{leaks}");
    }
    output
}

/// Asserts that less than a loose bound of real time has passed since `started`.
#[track_caller]
pub fn assert_loose_real_bound(started: RealInstant) {
    let elapsed = started.elapsed();
    assert!(
        // A loose sanity bound: tests share the cores; the benchmarks give tight figures.
        elapsed < Duration::from_secs(20),
        "{elapsed:?}"
    );
}
