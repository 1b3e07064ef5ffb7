//! Faults: a panicking task, a blocking job that never returns, the parent runtime shut
//! down under a live proxy, a proxy dropped without shutdown, a child proxy outliving its
//! parent, and a waker woken from a foreign thread after its scope ended.
//!
//! Each body runs under a watchdog thread, so a hang fails with a message instead of
//! hanging CI.

use std::future::{pending, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use futures_util::FutureExt;
use looptime_api::{
    CheckKind, Chronometer, ClockExt, Proxy, Reactor, ReactorExt, Settings, SpawnerExt,
};
use looptime_tokio::Tokio;

fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

/// Runs `body` on its own thread; fails if it takes longer than `limit` or panics.
fn watchdog<T: Send + 'static>(
    what: &str,
    limit: Duration,
    body: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        let _ = tx.send(catch_unwind(AssertUnwindSafe(body)));
    });
    match rx.recv_timeout(limit) {
        Ok(Ok(value)) => {
            let _ = thread.join();
            value
        }
        Ok(Err(panic)) => resume_unwind(panic),
        Err(_) => panic!("{what}: hung for more than {limit:?}"),
    }
}

/// A flavour's name and how to make a runtime of it.
type Flavour = (&'static str, fn() -> Tokio);

/// The tokio flavours a fault is checked on.
fn flavours() -> [Flavour; 2] {
    [
        ("current-thread", || Tokio::current_thread().unwrap()),
        ("multi-thread", || {
            Tokio::multi_thread_with_workers(2).unwrap()
        }),
    ]
}

/// A raw tokio runtime of the flavour, for the faults that need to shut it down.
fn raw_runtime(flavour: &str) -> tokio::runtime::Runtime {
    let mut builder = if flavour == "current-thread" {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    builder.enable_all().build().unwrap()
}

/// The message of a caught panic.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

/// Sets its flag when dropped: tells that a task's future was dropped (cancelled).
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn panicking_task_is_reported_and_other_scopes_go_on() {
    for (flavour, make) in flavours() {
        watchdog(flavour, Duration::from_secs(20), move || {
            let runtime = make();
            let faulty = Proxy::named(&runtime, "faulty");
            let healthy = Proxy::named(&runtime, "healthy");
            let line = line!() + 3;
            let (report, healthy_result, healthy_report) = runtime
                .block_on(async {
                    let panicked = faulty.spawn(async { panic!("boom (an expected test panic)") });
                    let clock = healthy.clone();
                    let worker = healthy.spawn(async move {
                        clock.sleep(ms(5)).await;
                        21 * 2
                    });
                    while !panicked.is_finished() {
                        healthy.sleep(ms(1)).await;
                    }
                    let report = faulty.check_and_shutdown(CheckKind::ALL).await;
                    let healthy_result = worker.await;
                    let healthy_report = healthy.check_and_shutdown(CheckKind::ALL).await;
                    (report, healthy_result, healthy_report)
                })
                .unwrap();
            let leaks = report.unwrap_err();
            assert_eq!(leaks.len(), 1, "{flavour}: {leaks}");
            let leak = leaks.iter().next().unwrap();
            assert!(leak.is_panic(), "{flavour}: {leaks}");
            assert_eq!(leak.site().line(), line, "{flavour}: {leaks}");
            assert!(leaks.to_string().contains("boom"), "{flavour}: {leaks}");
            assert_eq!(healthy_result.unwrap(), 42, "{flavour}: the other scope");
            assert_eq!(
                healthy_report,
                Ok(()),
                "{flavour}: the other scope is clean"
            );
            // The runtime survived: a new scope works on it.
            let after = Proxy::new(&runtime);
            let value = after.block_on(after.spawn(async { 7 })).unwrap().unwrap();
            assert_eq!(value, 7, "{flavour}: the runtime survived");
        });
    }
}

#[test]
fn blocking_job_that_never_returns_is_reported_within_grace() {
    for (flavour, make) in flavours() {
        watchdog(flavour, Duration::from_secs(20), move || {
            let runtime = make();
            let proxy = Proxy::new(&runtime);
            proxy.set_shutdown_grace(ms(100));
            let (release, stuck) = mpsc::channel::<()>();
            let started = Arc::new(AtomicBool::new(false));
            let (report, real) = proxy
                .block_on(async {
                    let start = started.clone();
                    let _job = proxy.spawn_blocking(move || {
                        start.store(true, Ordering::SeqCst);
                        // Never returns while the test runs (released at its end).
                        let _ = stuck.recv();
                    });
                    while !started.load(Ordering::SeqCst) {
                        proxy.sleep(ms(1)).await;
                    }
                    let chrono = Chronometer::started();
                    let report = proxy.check_and_shutdown(CheckKind::ALL).await;
                    (report, chrono.elapsed())
                })
                .unwrap();
            let leaks = report.unwrap_err();
            assert_eq!(leaks.kinds(), CheckKind::BLOCKING, "{flavour}: {leaks}");
            let detail = leaks.iter().next().unwrap().detail().unwrap_or_default();
            assert!(detail.contains("still running"), "{flavour}: {leaks}");
            assert!(real >= ms(100), "{flavour}: waited the grace: {real:?}");
            assert!(
                real < ms(1000),
                "{flavour}: returned after the grace: {real:?}"
            );
            drop(release);
        });
    }
}

/// A blocking job whose result the scope already received is over, even if its thread
/// has not yet left the proxy's registry when shutdown looks: no leak. (Its thread
/// delivers the result first and leaves the registry a moment later.)
#[test]
fn blocking_job_whose_result_was_received_is_no_leak() {
    for (flavour, make) in flavours() {
        watchdog(flavour, Duration::from_secs(60), move || {
            let runtime = make();
            for round in 0..300 {
                let proxy = Proxy::new(&runtime);
                let report = proxy
                    .block_on(async {
                        let answer = proxy.spawn_blocking(|| 42).await.unwrap();
                        assert_eq!(answer, 42);
                        proxy.check_and_shutdown(CheckKind::ALL).await
                    })
                    .unwrap();
                if let Err(leaks) = report {
                    panic!("{flavour}, round {round}: {leaks}");
                }
            }
        });
    }
}

/// A `Tokio` made `from_handle` does not keep its runtime alive: shutting the runtime down
/// under a live proxy gives these documented results, none of them a hang.
#[test]
fn parent_runtime_shut_down_under_a_live_proxy() {
    for (flavour, _) in flavours() {
        watchdog(flavour, Duration::from_secs(20), move || {
            let runtime = raw_runtime(flavour);
            let tokio = Tokio::from_handle(runtime.handle().clone());
            let proxy = Proxy::new(&tokio);
            let virtual_proxy = Proxy::new(&tokio);
            let _on = virtual_proxy.setup_looptime(Settings::new()).unwrap();
            drop(runtime);

            // Spawns: the dead runtime drops the task at once; the handle says so.
            let spawned = proxy.spawn(async { 1 }).now_or_never();
            let error = spawned.expect("resolved at once").unwrap_err();
            assert!(error.is_cancelled(), "{flavour}: {error}");
            assert!(
                error.to_string().contains("dropped by its runtime"),
                "{flavour}: {error}"
            );
            let blocking = proxy.spawn_blocking(|| 1).now_or_never();
            let error = blocking.expect("resolved at once").unwrap_err();
            assert!(error.is_cancelled(), "{flavour}: {error}");

            // A run with no timer still completes, and so does a spawn awaited inside it.
            assert_eq!(proxy.block_on(async { 1 }), Ok(1), "{flavour}");
            assert_eq!(proxy.block_on(proxy.yield_now()), Ok(()), "{flavour}");
            let inside = proxy.block_on(proxy.spawn(async { 1 })).unwrap();
            assert!(inside.is_err_and(|e| e.is_cancelled()), "{flavour}");

            // Virtual time needs no runtime timer.
            let slept = virtual_proxy.block_on(virtual_proxy.sleep(Duration::from_secs(10)));
            assert_eq!(slept, Ok(()), "{flavour}");
            assert_eq!(
                virtual_proxy.looptime(),
                Duration::from_secs(10),
                "{flavour}"
            );

            // A real-time proxy's timer: the dead runtime drops the task that would fire
            // it, so the wait fails (a fallible one with the error; a plain sleep ends its
            // run with it) instead of hanging.
            let waited = proxy.block_on(proxy.timeout(ms(10), pending::<()>()));
            assert!(
                matches!(&waited, Ok(Err(e)) if e.is_shut_down()),
                "{flavour}: {waited:?}"
            );
            let slept = proxy.block_on(proxy.interruptible(proxy.sleep(ms(10))));
            assert!(
                matches!(&slept, Ok(Err(e)) if e.to_string().contains("runtime under the proxy is shut down")),
                "{flavour}: {slept:?}"
            );

            let plain = proxy.block_on(proxy.sleep(ms(10)));
            assert!(
                plain.as_ref().is_err_and(|e| e.is_shut_down()),
                "{flavour}: a plain sleep ends its run with the error: {plain:?}"
            );

            // A real-time timer of the adapter itself: tokio's own panic.
            let panic = catch_unwind(AssertUnwindSafe(|| tokio.block_on(tokio.sleep(ms(10)))))
                .expect_err("tokio refuses a timer on a shut-down runtime");
            let message = panic_message(&*panic);
            assert!(message.contains("being shutdown"), "{flavour}: {message}");

            // Shutdown of the proxies still works.
            assert_eq!(
                proxy.block_on(proxy.check_and_shutdown(CheckKind::ALL)),
                Ok(Ok(()))
            );
            let done = virtual_proxy.block_on(virtual_proxy.check_and_shutdown(CheckKind::ALL));
            assert_eq!(done, Ok(Ok(())), "{flavour}");
        });
    }
}

#[test]
fn proxy_dropped_without_shutdown_cancels_its_tasks() {
    for (flavour, make) in flavours() {
        watchdog(flavour, Duration::from_secs(20), move || {
            let runtime = make();
            let dropped = Arc::new(AtomicBool::new(false));
            let handle = {
                let proxy = Proxy::named(&runtime, "forgotten");
                let guard = SetOnDrop(dropped.clone());
                let handle = proxy.spawn(async move {
                    let _guard = guard;
                    pending::<()>().await;
                });
                let clock = proxy.clone();
                runtime.block_on(clock.sleep(ms(5))).unwrap();
                drop(clock);
                drop(proxy);
                handle
            };
            let joined = runtime.block_on(handle).unwrap();
            assert!(
                joined.is_err_and(|e| e.is_cancelled()),
                "{flavour}: the task was cancelled"
            );
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while !dropped.load(Ordering::SeqCst) && std::time::Instant::now() < deadline {
                std::thread::sleep(ms(1));
            }
            assert!(
                dropped.load(Ordering::SeqCst),
                "{flavour}: the task's future was dropped"
            );
        });
    }
}

#[test]
fn child_proxy_outliving_its_parent() {
    for (flavour, make) in flavours() {
        watchdog(flavour, Duration::from_secs(20), move || {
            let runtime = make();
            {
                let parent = Proxy::named(&runtime, "parent");
                let child = Proxy::named(&parent, "child");
                let parent_task = parent.spawn(pending::<()>());
                // The last handle to the parent goes; the child keeps its scope alive.
                drop(parent);
                let clock = child.clone();
                let (value, report) = runtime
                    .block_on(async {
                        let value = child
                            .spawn(async move {
                                clock.sleep(ms(2)).await;
                                5
                            })
                            .await;
                        let _leak = child.spawn(pending::<()>());
                        (value, child.check_and_shutdown(CheckKind::ALL).await)
                    })
                    .unwrap();
                assert_eq!(value.unwrap(), 5, "{flavour}: the child works");
                assert_eq!(
                    report.unwrap_err().len(),
                    1,
                    "{flavour}: the child reports its own"
                );
                assert!(
                    !parent_task.is_finished(),
                    "{flavour}: the parent scope lives on"
                );
                // With the child gone, the parent scope ends: its task is cancelled.
                drop(child);
                let joined = runtime.block_on(parent_task).unwrap();
                assert!(joined.is_err_and(|e| e.is_cancelled()), "{flavour}");
            }
        });
    }
}

#[test]
fn waker_woken_from_a_foreign_thread_after_the_scope_ended() {
    for (flavour, make) in flavours() {
        for on_virtual_time in [false, true] {
            watchdog(flavour, Duration::from_secs(20), move || {
                let runtime = make();
                let proxy = Proxy::new(&runtime);
                let on = on_virtual_time.then(|| proxy.setup_looptime(Settings::new()).unwrap());
                let stash: Arc<Mutex<Vec<Waker>>> = Arc::default();
                let report = proxy
                    .block_on(async {
                        let keep = stash.clone();
                        let _task = proxy.spawn(poll_fn(move |cx| {
                            keep.lock().unwrap().push(cx.waker().clone());
                            Poll::<()>::Pending
                        }));
                        let keep = stash.clone();
                        let clock = proxy.clone();
                        let _sleeper = proxy.spawn(async move {
                            let sleep = clock.sleep(Duration::from_secs(3600));
                            let mut sleep = std::pin::pin!(sleep);
                            poll_fn(|cx| {
                                keep.lock().unwrap().push(cx.waker().clone());
                                sleep.as_mut().poll(cx)
                            })
                            .await;
                        });
                        while stash.lock().unwrap().len() < 2 {
                            proxy.yield_now().await;
                        }
                        proxy.check_and_shutdown(CheckKind::ALL).await
                    })
                    .unwrap();
                assert_eq!(report.unwrap_err().len(), 2, "{flavour}");
                drop(on);
                drop(proxy);
                let wakers = std::mem::take(&mut *stash.lock().unwrap());
                let wake_all = |wakers: Vec<Waker>| {
                    std::thread::spawn(move || {
                        for waker in wakers {
                            waker.wake_by_ref();
                            let twin = waker.clone();
                            twin.wake();
                            waker.wake();
                        }
                    })
                    .join()
                    .expect("waking from a foreign thread does not panic");
                };
                // The scope ended while the runtime lives, then the runtime goes too.
                wake_all(wakers.clone());
                runtime.block_on(async {}).unwrap();
                drop(runtime);
                wake_all(wakers);
            });
        }
    }
}
