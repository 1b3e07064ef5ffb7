//! What is specific to the smol adapter: the count of alive work, scheduler passes, and
//! real-time sleeps.

use std::future::{Future, pending};
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures_lite::future::poll_once;
use looptime_api::{
    Chronometer, Clock, ClockExt, Instant, Proxy, Reactor, ReactorExt, Settings, SpawnerExt,
    TimeError,
};
use looptime_smol::Smol;

/// Waits (in real time, up to a second) until `smol` counts `n` alive tasks.
fn wait_for_count(smol: &Smol, n: usize) {
    let chrono = Chronometer::started();
    while smol.alive_tasks() != Some(n) && chrono.elapsed() < Duration::from_secs(1) {
        std::thread::yield_now();
    }
    assert_eq!(smol.alive_tasks(), Some(n));
}

#[test]
fn alive_count_follows_tasks() {
    let smol = Smol::new();
    assert_eq!(smol.alive_tasks(), Some(0));

    // Queued, not run yet: alive.
    let quick = smol.spawn(async { 7 });
    let stuck = smol.spawn(pending::<()>());
    assert_eq!(smol.alive_tasks(), Some(2));

    // A clone counts the same work.
    let clone = smol.clone();
    assert_eq!(clone.alive_tasks(), Some(2));

    // The finished task leaves the count, the pending one stays.
    assert_eq!(smol.block_on(quick).unwrap().unwrap(), 7);
    assert_eq!(smol.alive_tasks(), Some(1));

    // An aborted task leaves once the executor has run it to its end.
    stuck.abort();
    smol.block_on(async {
        assert!(stuck.await.unwrap_err().is_cancelled());
        smol.yield_now().await;
    })
    .unwrap();
    assert_eq!(smol.alive_tasks(), Some(0));
}

#[test]
fn alive_count_includes_detached_and_proxied_tasks() {
    let smol = Smol::new();
    let proxy = Proxy::new(&smol);
    drop(proxy.spawn(pending::<()>())); // detached, still alive
    drop(smol.spawn(pending::<()>()));
    assert_eq!(smol.alive_tasks(), Some(2));
    assert_eq!(
        proxy.alive_tasks(),
        Some(2),
        "a proxy reports its runtime's count"
    );

    // Shutting the scope down cancels its task: only the outside one stays.
    smol.block_on(async {
        let _ = proxy
            .check_and_shutdown(looptime_api::CheckKind::empty())
            .await;
    })
    .unwrap();
    assert_eq!(smol.alive_tasks(), Some(1));
}

#[test]
fn alive_count_includes_blocking_jobs() {
    let smol = Smol::new();
    let (release, wait) = mpsc::channel::<()>();
    let job = smol.spawn_blocking(move || {
        wait.recv().unwrap();
        std::thread::current().id()
    });
    assert_eq!(smol.alive_tasks(), Some(1));
    release.send(()).unwrap();
    let thread = smol.block_on(job).unwrap().unwrap();
    assert_ne!(
        thread,
        std::thread::current().id(),
        "jobs run off the block_on thread"
    );
    // The job leaves the count just after it delivered its result.
    wait_for_count(&smol, 0);
}

#[test]
fn yield_interleaves_with_the_executor() {
    // Each pass of the root lets a yielding task make exactly one step: a yield on the
    // executor is not re-run within the same pass.
    let smol = Smol::new();
    let steps = Arc::new(AtomicUsize::new(0));
    let seen = smol
        .block_on(async {
            let (runtime, counter) = (smol.clone(), steps.clone());
            let task = smol.spawn(async move {
                for _ in 0..10 {
                    counter.fetch_add(1, Ordering::SeqCst);
                    runtime.yield_now().await;
                }
            });
            let mut seen = Vec::new();
            for _ in 0..5 {
                smol.yield_now().await;
                seen.push(steps.load(Ordering::SeqCst));
            }
            task.await.unwrap();
            seen
        })
        .unwrap();
    assert_eq!(seen, [1, 2, 3, 4, 5]);
}

#[test]
fn many_yields_in_one_pass_all_step_once() {
    // Twenty tasks park their yields in the same pass (only the first wakes the loop):
    // every pass still moves each of them exactly one step.
    let smol = Smol::new();
    let steps = Arc::new(AtomicUsize::new(0));
    let seen = smol
        .block_on(async {
            let tasks: Vec<_> = (0..20)
                .map(|_| {
                    let (runtime, counter) = (smol.clone(), steps.clone());
                    smol.spawn(async move {
                        for _ in 0..10 {
                            counter.fetch_add(1, Ordering::SeqCst);
                            runtime.yield_now().await;
                        }
                    })
                })
                .collect();
            let mut seen = Vec::new();
            for _ in 0..5 {
                smol.yield_now().await;
                seen.push(steps.load(Ordering::SeqCst));
            }
            for task in tasks {
                task.await.unwrap();
            }
            seen
        })
        .unwrap();
    assert_eq!(seen, [20, 40, 60, 80, 100]);
    assert_eq!(steps.load(Ordering::SeqCst), 200);
}

#[test]
fn yield_of_the_root_runs_ready_tasks() {
    let smol = Smol::new();
    let ran = Arc::new(AtomicUsize::new(0));
    let seen = smol
        .block_on(async {
            for _ in 0..150 {
                let ran = ran.clone();
                drop(smol.spawn(async move {
                    ran.fetch_add(1, Ordering::SeqCst);
                }));
            }
            smol.yield_now().await;
            ran.load(Ordering::SeqCst)
        })
        .unwrap();
    assert_eq!(seen, 150);
}

#[test]
fn tasks_run_in_spawn_order() {
    let smol = Smol::new();
    let order = Arc::new(Mutex::new(Vec::new()));
    smol.block_on(async {
        let handles: Vec<_> = (0..1000)
            .map(|i| {
                let order = order.clone();
                smol.spawn(async move { order.lock().unwrap().push(i) })
            })
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
    })
    .unwrap();
    assert_eq!(*order.lock().unwrap(), (0..1000).collect::<Vec<_>>());
}

#[test]
fn yield_outside_block_on_is_a_self_wake() {
    let smol = Smol::new();
    let mut yielding = pin!(smol.yield_now());
    let mut cx = Context::from_waker(Waker::noop());
    assert!(yielding.as_mut().poll(&mut cx).is_pending());
    assert!(yielding.as_mut().poll(&mut cx).is_ready());
    assert!(yielding.as_mut().poll(&mut cx).is_ready(), "stays complete");
}

#[test]
fn yield_left_waiting_is_released_when_block_on_ends() {
    let smol = Smol::new();
    let mut yielding = smol.yield_now();
    smol.block_on(async {
        assert!(poll_once(&mut yielding).await.is_none());
    })
    .unwrap();
    let mut cx = Context::from_waker(Waker::noop());
    assert!(yielding.as_mut().poll(&mut cx).is_ready());
}

#[test]
fn sleeps_are_real_and_stay_complete() {
    let smol = Smol::new();
    let chrono = Chronometer::started();
    let start = smol.now();
    let mut sleep = smol.sleep(Duration::from_millis(30));
    smol.block_on(&mut sleep).unwrap();
    assert!(chrono.elapsed() >= Duration::from_millis(30));
    assert!(smol.now() - start >= Duration::from_millis(30));
    let mut cx = Context::from_waker(Waker::noop());
    assert_eq!(sleep.poll_elapsed(&mut cx), Poll::Ready(Ok(())));
    assert_eq!(sleep.poll_elapsed(&mut cx), Poll::Ready(Ok(())));

    let chrono = Chronometer::started();
    smol.block_on(smol.sleep_real(Duration::from_millis(20)))
        .unwrap();
    assert!(chrono.elapsed() >= Duration::from_millis(20));
}

#[test]
fn sleep_until_max_never_fires() {
    let smol = Smol::new();
    let result = smol
        .block_on(smol.timeout(Duration::from_millis(10), smol.sleep_until(Instant::MAX)))
        .unwrap();
    assert!(result.unwrap_err().is_deadline());
    let result = smol
        .block_on(smol.timeout(Duration::from_millis(10), smol.sleep(Duration::MAX)))
        .unwrap();
    assert!(result.unwrap_err().is_deadline());
}

#[test]
fn virtual_time_over_smol() {
    let smol = Smol::new();
    let proxy = Proxy::new(&smol);
    let _on = proxy.setup_looptime(Settings::new()).unwrap();
    let chrono = Chronometer::started();
    let result = proxy
        .block_on(proxy.timeout(Duration::from_secs(900), pending::<()>()))
        .unwrap();
    assert!(result.unwrap_err().is_deadline());
    assert_eq!(proxy.looptime(), Duration::from_secs(900));
    assert!(chrono.elapsed() < Duration::from_secs(1));
}

/// Races a task outside the scope, which ends after `yields` yields on the runtime,
/// against a 1-second timeout on virtual time with `noop_cycles` passes.
fn outside_task_vs_timeout(noop_cycles: u32, yields: usize) -> Result<u32, TimeError> {
    let smol = Smol::new();
    let proxy = Proxy::new(&smol);
    let _on = proxy
        .setup_looptime(Settings::new().noop_cycles(noop_cycles))
        .unwrap();
    let runtime = smol.clone();
    let outside = smol.spawn(async move {
        for _ in 0..yields {
            runtime.yield_now().await;
        }
        7
    });
    proxy
        .block_on(proxy.timeout(Duration::from_secs(1), async { outside.await.unwrap() }))
        .unwrap()
}

#[test]
fn outside_work_gets_exactly_noop_cycles_passes() {
    // One pass of the scope is one step of the outside task: with 5 passes, 4 yields
    // get through before time jumps, 5 do not.
    assert_eq!(outside_task_vs_timeout(5, 4), Ok(7));
    assert!(outside_task_vs_timeout(5, 5).unwrap_err().is_deadline());
    assert_eq!(outside_task_vs_timeout(42, 41), Ok(7));
    assert!(outside_task_vs_timeout(42, 42).unwrap_err().is_deadline());
}
