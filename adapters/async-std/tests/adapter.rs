//! What the adapter itself promises, beyond the conformance suite: exact real deadlines,
//! re-pollable sleeps, `block_on` bounds, spawning, and passes that never lose a wake.

use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use looptime_api::{Clock, ClockExt, Instant, Reactor, ReactorExt, SpawnerExt};
use looptime_async_std::AsyncStd;

const RT: AsyncStd = AsyncStd::new();

#[test]
fn sleep_until_never_completes_before_its_deadline() {
    let deadline = RT.now() + Duration::from_millis(30);
    RT.block_on(RT.sleep_until(deadline)).unwrap();
    assert!(RT.now() >= deadline);
    assert!(std::time::Instant::now() >= deadline.to_std().unwrap());
}

#[test]
fn past_deadline_completes_at_first_poll() {
    let mut cx = Context::from_waker(Waker::noop());
    let mut sleep = RT.sleep_until(RT.now());
    assert_eq!(sleep.poll_elapsed(&mut cx), Poll::Ready(Ok(())));
    let mut sleep = pin!(RT.sleep_until(Instant::ZERO));
    assert_eq!(sleep.as_mut().poll(&mut cx), Poll::Ready(()));
}

#[test]
fn a_finished_sleep_stays_finished() {
    let mut sleep = RT.sleep(Duration::from_millis(5));
    RT.block_on(std::future::poll_fn(|cx| sleep.poll_elapsed(cx)))
        .unwrap()
        .unwrap();
    let mut cx = Context::from_waker(Waker::noop());
    assert_eq!(sleep.poll_elapsed(&mut cx), Poll::Ready(Ok(())));
    assert_eq!(pin!(sleep).poll(&mut cx), Poll::Ready(()));
}

#[test]
fn instant_max_never_fires() {
    let result = RT
        .block_on(RT.timeout(Duration::from_millis(20), RT.sleep_until(Instant::MAX)))
        .unwrap();
    assert!(result.is_err_and(|e| e.is_deadline() && !e.is_end_of_time()));
    assert!(!RT.sleep(Duration::MAX).is_virtual());
}

#[test]
fn system_time_is_the_wall_clock() {
    let before = std::time::SystemTime::now();
    let seen = RT.system_time();
    assert!(seen >= before && seen <= std::time::SystemTime::now());
}

#[test]
fn block_on_takes_a_borrowing_non_send_root() {
    let local = Rc::new(Cell::new(1));
    let borrowed = &local;
    let out = RT
        .block_on(async {
            RT.yield_now().await;
            borrowed.set(borrowed.get() + 1);
            borrowed.get()
        })
        .unwrap();
    assert_eq!(out, 2);
}

#[test]
fn block_on_nests_inside_a_task() {
    let out = RT
        .block_on(RT.spawn(async { RT.block_on(async { 7 }).unwrap() }))
        .unwrap();
    assert_eq!(out.unwrap(), 7);
}

#[test]
fn spawn_and_spawn_blocking_deliver_their_output() {
    let caller = std::thread::current().id();
    let (task, job) = RT
        .block_on(async {
            let task = RT.spawn(async { 40 });
            let job = RT.spawn_blocking(move || std::thread::current().id() != caller);
            (task.await, job.await)
        })
        .unwrap();
    assert_eq!(task.unwrap(), 40);
    assert!(job.unwrap(), "a blocking job runs off the calling thread");
}

#[test]
fn concurrent_passes_all_complete() {
    const TASKS: usize = 64;
    const YIELDS: usize = 100;
    let done = Arc::new(AtomicUsize::new(0));
    let result = RT
        .block_on(RT.timeout(Duration::from_secs(60), async {
            let handles: Vec<_> = (0..TASKS)
                .map(|_| {
                    let done = done.clone();
                    RT.spawn(async move {
                        for _ in 0..YIELDS {
                            RT.yield_now().await;
                            done.fetch_add(1, Ordering::SeqCst);
                        }
                    })
                })
                .collect();
            for _ in 0..YIELDS {
                RT.yield_now().await;
            }
            for handle in handles {
                handle.await.unwrap();
            }
        }))
        .unwrap();
    assert!(result.is_ok(), "every pass completed");
    assert_eq!(done.load(Ordering::SeqCst), TASKS * YIELDS);
}

#[test]
fn a_pass_is_lazy_and_cancellable() {
    // Made but never polled, or dropped mid-pass: neither may wedge later passes.
    drop(RT.yield_now());
    let mut cx = Context::from_waker(Waker::noop());
    let mut pass = RT.yield_now();
    let _ = pass.as_mut().poll(&mut cx);
    drop(pass);
    RT.block_on(async {
        for _ in 0..10 {
            RT.yield_now().await;
        }
    })
    .unwrap();
    assert_eq!(RT.alive_tasks(), None);
}
