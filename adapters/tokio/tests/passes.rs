//! `Reactor::start_pass` on tokio: a scheduler pass started without a boxed future.

use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use looptime_api::{Reactor, ReactorExt};
use looptime_tokio::Tokio;

/// What a started pass's waker saw when it was woken.
struct Witness {
    ran: Arc<AtomicBool>,
    /// Whether the task had run, at each wake.
    wakes: Mutex<Vec<bool>>,
    caller: Waker,
}

impl Wake for Witness {
    fn wake(self: Arc<Self>) {
        self.wakes
            .lock()
            .unwrap()
            .push(self.ran.load(Ordering::SeqCst));
        self.caller.wake_by_ref();
    }
}

/// In a current-thread `block_on`, a started pass wakes its waker once, and only after a
/// task that was ready when it started has run, as `tokio::task::yield_now` does: the
/// wake is the end of the pass.
#[test]
fn a_started_pass_ends_with_one_wake_after_ready_tasks_ran() {
    let runtime = Tokio::current_thread().unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let outcome = runtime.block_on(async {
        let flag = ran.clone();
        drop(tokio::spawn(
            async move { flag.store(true, Ordering::SeqCst) },
        ));
        let mut witness = None;
        let pass = poll_fn(|cx| {
            if let Some(witness) = &witness {
                return Poll::Ready(Arc::clone(witness));
            }
            let seen = Arc::new(Witness {
                ran: ran.clone(),
                wakes: Mutex::default(),
                caller: cx.waker().clone(),
            });
            let waker = Waker::from(seen.clone());
            assert!(
                runtime.start_pass(&mut Context::from_waker(&waker)),
                "tokio starts a pass from a poll"
            );
            assert!(!ran.load(Ordering::SeqCst), "the task waits for the pass");
            witness = Some(seen);
            Poll::Pending
        });
        // A pass that never woke the caller would end only with this guard's timer (whose
        // wake polls the pass again), 10 s later, rather than hang.
        let started_at = Instant::now();
        let witness = tokio::time::timeout(Duration::from_secs(10), pass).await;
        // Lets any late second wake happen before it is counted.
        tokio::task::yield_now().await;
        (witness, started_at.elapsed())
    });
    let (witness, took) = outcome.unwrap();
    assert!(
        took < Duration::from_secs(5),
        "the pass woke its caller: {took:?}"
    );
    let wakes = witness
        .expect("the pass ended")
        .wakes
        .lock()
        .unwrap()
        .clone();
    assert_eq!(wakes, [true], "one wake, after the ready task ran");
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
