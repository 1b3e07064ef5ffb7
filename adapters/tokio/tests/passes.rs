//! `Reactor::start_pass` on tokio: a scheduler pass started without a boxed future.

use std::future::poll_fn;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use looptime_api::{Reactor, ReactorExt};
use looptime_tokio::Tokio;

/// In a current-thread `block_on`, a started pass wakes the caller, and a task that was
/// ready when it started runs before the caller's next poll, as with
/// `tokio::task::yield_now`.
#[test]
fn a_started_pass_lets_ready_tasks_run_first() {
    let runtime = Tokio::current_thread().unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let outcome = runtime.block_on(async {
        let flag = ran.clone();
        drop(tokio::spawn(
            async move { flag.store(true, Ordering::SeqCst) },
        ));
        let mut started = false;
        let pass = poll_fn(|cx| {
            if started {
                return Poll::Ready(());
            }
            started = true;
            assert!(runtime.start_pass(cx), "tokio starts a pass from a poll");
            assert!(!ran.load(Ordering::SeqCst), "the task waits for the pass");
            Poll::Pending
        });
        // A pass that never woke the caller would end only with this guard's timer (whose
        // wake polls the pass again), 10 s later, rather than hang.
        let started_at = Instant::now();
        let _ = tokio::time::timeout(Duration::from_secs(10), pass).await;
        (ran.load(Ordering::SeqCst), started_at.elapsed())
    });
    let (ran, took) = outcome.unwrap();
    assert!(ran, "the ready task ran before the pass ended");
    assert!(
        took < Duration::from_secs(5),
        "the pass woke its caller: {took:?}"
    );
}

/// Off the workers of a multi-thread runtime a pass is a round trip through them, which
/// needs its future: `start_pass` declines, and `yield_now` is used instead.
#[test]
fn off_the_workers_a_pass_needs_its_future() {
    let runtime = Tokio::multi_thread_with_workers(2).unwrap();
    let started = runtime.block_on(poll_fn(|cx| Poll::Ready(runtime.start_pass(cx))));
    assert_eq!(started, Ok(false));
    assert_eq!(runtime.block_on(runtime.yield_now()), Ok(()));
}
