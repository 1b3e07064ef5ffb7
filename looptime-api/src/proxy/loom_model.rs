//! The concurrency model of wake tracking and idle detection, checked with [loom]: every
//! interleaving (up to a preemption bound) of a wake from a foreign thread, the runtime's
//! polls of the task and the virtual-time driver's idle check, on the crate's own
//! `TrackState` and `ScopeState` (built with loom's atomics).
//!
//! What no interleaving may do:
//! - let the driver find the scope idle while a poll of one of its tasks spans the whole
//!   check (time would move under a running task);
//! - let the driver find the scope idle after a wake of one of its tasks has returned,
//!   before that task's poll has begun (time would move under a runnable task);
//! - lose a wake: the task's runtime waker and the driver's waker are always called when
//!   they must be (loom reports a thread parked for ever as a deadlock), and a run's root
//!   woken while its run holds it is polled again without them;
//! - leave `busy` above zero, or below it, once everything is over.
//!
//! Run it with `RUSTFLAGS="--cfg looptime_loom" cargo test -p looptime-api --release --lib
//! loom_model` (in a target directory of its own, see `docs/reliability.md`).
//! `LOOM_MAX_PREEMPTIONS` deepens the search; it defaults to [`PREEMPTIONS`] here.
//!
//! [loom]: https://docs.rs/loom

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::Ordering::SeqCst;
use std::task::{Context, Poll, Wake, Waker};

use loom::sync::Notify;
use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
use loom::thread;

use super::scope::ScopeState;
use super::tracking::TrackState;

/// The preemption bound when `LOOM_MAX_PREEMPTIONS` is not set.
const PREEMPTIONS: usize = 3;

fn check(model: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(PREEMPTIONS);
    }
    builder.check(model);
}

/// What the model's observers see of one task: which poll is in progress (0 for none),
/// how many polls have begun, and the loop time (0 until the driver moves it to 1).
///
/// A poll that *begins* after the driver's check may see the time move: its wake raced
/// the check, like an outside event arriving a moment later. What must never happen is
/// a poll that began before the check and is still running after it.
#[derive(Default)]
struct Ghost {
    in_poll: AtomicUsize,
    polls_begun: AtomicUsize,
    time: AtomicU64,
}

/// The task's body for one poll: marks the poll in progress and reads the time.
struct Probe {
    ghost: Arc<Ghost>,
}

impl Future for Probe {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        let ghost = &self.ghost;
        let poll = ghost.polls_begun.fetch_add(1, SeqCst) + 1;
        ghost.in_poll.store(poll, SeqCst);
        // What the task would do with the time; the driver's side asserts it stays put.
        ghost.time.load(SeqCst);
        ghost.in_poll.store(0, SeqCst);
        Poll::Pending
    }
}

/// A runtime waker: sets a flag and notifies the thread that polls the task.
#[derive(Default)]
struct Unpark {
    woken: AtomicBool,
    notify: Notify,
}

impl Unpark {
    /// Blocks until woken, and consumes the wake (loom's `Notify` may wake spuriously).
    fn wait(&self) {
        while self
            .woken
            .compare_exchange(true, false, SeqCst, SeqCst)
            .is_err()
        {
            self.notify.wait();
        }
    }
}

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, SeqCst);
        self.notify.notify();
    }
}

/// Polls the task once as the runtime would, with `runtime` as the runtime's waker.
fn poll_task(track: &Arc<TrackState>, ghost: &Arc<Ghost>, runtime: &Waker) {
    let tracking_waker = Waker::from(track.clone());
    let probe = pin!(Probe {
        ghost: ghost.clone()
    });
    let mut cx = Context::from_waker(runtime);
    let _ = track.poll_as(&tracking_waker, probe, &mut cx);
}

/// The driver's decision, as `Quiescence` and `Driver::decide` make it: idle now, and
/// still idle with no wake since. Moves the time when it holds.
fn driver_moves_time(scope: &ScopeState, ghost: &Ghost) -> bool {
    let Some(epoch) = scope.idle_epoch() else {
        return false;
    };
    if !scope.still_idle(epoch) {
        return false;
    }
    ghost.time.store(1, SeqCst);
    true
}

/// A task that already ran once and waits: idle, with `runtime` registered.
fn idle_task(scope: &Arc<ScopeState>, ghost: &Arc<Ghost>, runtime: &Waker) -> Arc<TrackState> {
    let track = TrackState::new_scheduled(scope.clone());
    poll_task(&track, ghost, runtime);
    assert_eq!(scope.busy(), 0);
    track
}

/// A foreign thread wakes an idle task while the runtime polls it for its own reasons (a
/// poll nobody asked for, which the protocol allows) and the driver checks for idleness:
/// a poll that spans the driver's whole check must stop it.
#[test]
fn loom_model_a_poll_spanning_the_idle_check_stops_time() {
    check(|| {
        let scope = ScopeState::new();
        let ghost = Arc::new(Ghost::default());
        let runtime = futures_util::task::noop_waker();
        let track = idle_task(&scope, &ghost, &runtime);

        let waker = Waker::from(track.clone());
        let foreign = thread::spawn(move || waker.wake());
        let executor = {
            let (track, ghost, runtime) = (track.clone(), ghost.clone(), runtime.clone());
            thread::spawn(move || poll_task(&track, &ghost, &runtime))
        };

        let before = ghost.in_poll.load(SeqCst);
        if driver_moves_time(&scope, &ghost) {
            let after = ghost.in_poll.load(SeqCst);
            assert!(
                before == 0 || before != after,
                "the driver found the scope idle during poll {before}"
            );
        }

        foreign.join().unwrap();
        executor.join().unwrap();
        track.finish();
        assert_eq!(scope.busy(), 0, "busy after everything ended");
    });
}

/// The whole cycle: the runtime polls the task, waits until the task's waker calls it,
/// and polls again; a foreign thread wakes the task after its first poll; the driver
/// waits (on its waker) for the scope to go idle after that wake. No thread may wait for
/// ever, and the driver may not see the scope idle between the wake and the poll it asks
/// for.
#[test]
fn loom_model_no_wake_is_lost_and_a_woken_task_holds_time() {
    check(|| {
        let scope = ScopeState::new();
        let ghost = Arc::new(Ghost::default());
        let track = TrackState::new_scheduled(scope.clone());
        let first_poll_done = Arc::new(Unpark::default());
        let wake_returned = Arc::new(Unpark::default());

        let executor = {
            let (track, ghost) = (track.clone(), ghost.clone());
            let first_poll_done = Waker::from(first_poll_done.clone());
            thread::spawn(move || {
                let unpark = Arc::new(Unpark::default());
                let runtime = Waker::from(unpark.clone());
                poll_task(&track, &ghost, &runtime);
                first_poll_done.wake();
                unpark.wait();
                poll_task(&track, &ghost, &runtime);
            })
        };
        let foreign = {
            let track = track.clone();
            let wake_returned = Waker::from(wake_returned.clone());
            thread::spawn(move || {
                first_poll_done.wait();
                Waker::from(track).wake();
                wake_returned.wake();
            })
        };

        wake_returned.wait();
        let driver = Arc::new(Unpark::default());
        let driver_waker = Waker::from(driver.clone());
        loop {
            if scope.idle_epoch().is_some() {
                let polls = ghost.polls_begun.load(SeqCst);
                assert_eq!(
                    polls, 2,
                    "idle after the wake, before the poll it asked for"
                );
                break;
            }
            scope.watch_driver(&driver_waker);
            if scope.busy() > 0 {
                driver.wait();
            }
        }

        executor.join().unwrap();
        foreign.join().unwrap();
        track.finish();
        assert_eq!(scope.busy(), 0, "busy after everything ended");
    });
}

/// A waker that outlives its task: a foreign wake racing the task's end leaves `busy` at
/// zero, and the driver then finds the scope idle.
#[test]
fn loom_model_a_wake_racing_the_end_of_its_task_leaves_no_busy() {
    check(|| {
        let scope = ScopeState::new();
        let ghost = Arc::new(Ghost::default());
        let runtime = futures_util::task::noop_waker();
        let track = idle_task(&scope, &ghost, &runtime);

        let waker = Waker::from(track.clone());
        let foreign = thread::spawn(move || waker.wake());
        track.finish();
        foreign.join().unwrap();

        assert_eq!(scope.busy(), 0, "busy after the task ended");
        assert!(driver_moves_time(&scope, &ghost));
    });
}

/// A run's root: the run holds it during each of its polls (`TrackState::hold`), so a wake
/// that schedules it meanwhile skips the runtime's waker. A foreign thread sends two messages, waking the root
/// after each, at any point of the run's polls. The run must see both: it polls the root
/// in the same poll, or wakes itself when it lets go, and otherwise the runtime's waker
/// is called. A lost wake leaves the run waiting for ever (a deadlock for loom).
#[test]
fn loom_model_a_held_root_loses_no_wake() {
    /// The root's body: reads how many messages were sent.
    struct Receive {
        sent: Arc<AtomicUsize>,
        received: Arc<AtomicUsize>,
    }

    impl Future for Receive {
        type Output = ();

        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            self.received.store(self.sent.load(SeqCst), SeqCst);
            Poll::Pending
        }
    }

    check(|| {
        let scope = ScopeState::new();
        let sent = Arc::new(AtomicUsize::new(0));
        let received = Arc::new(AtomicUsize::new(0));
        let root = TrackState::new_scheduled(scope.clone());
        let root_waker = Waker::from(root.clone());

        let foreign = {
            let (sent, waker) = (sent.clone(), root_waker.clone());
            thread::spawn(move || {
                for _ in 0..2 {
                    sent.fetch_add(1, SeqCst);
                    waker.wake_by_ref();
                }
            })
        };

        let unpark = Arc::new(Unpark::default());
        let runtime = Waker::from(unpark.clone());
        loop {
            // One poll of the run, as `Run::poll` makes it.
            root.listen(&runtime);
            root.hold();
            if root.is_scheduled() {
                let body = pin!(Receive {
                    sent: sent.clone(),
                    received: received.clone(),
                });
                let _ = root.poll_listened(&root_waker, body);
            }
            if root.release() {
                runtime.wake_by_ref();
            }
            if received.load(SeqCst) == 2 {
                break;
            }
            unpark.wait();
        }

        foreign.join().unwrap();
        root.finish();
        assert_eq!(scope.busy(), 0, "busy after everything ended");
    });
}
