//! Stress: one shared runtime, 1 000 scoped tests on virtual time, run from 8 threads at
//! once. Every test must see exactly its own loop times, every leak must be reported by
//! the proxy that made it and by no other, and no test may hang (a watchdog fails the run,
//! naming the test, instead of hanging). Each adapter calls [`run`] from a test of its own.

use std::future::pending;
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, Location, catch_unwind};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use looptime_api::io::TcpListener;
use looptime_api::{
    CheckKind, ClockExt, JoinHandle, Proxy, Reactor, ReactorExt, Runtime, Settings, SpawnerExt,
};

const THREADS: usize = 8;
const TESTS_PER_THREAD: usize = 125;
/// Real-time bound on one test.
const TEST_LIMIT: Duration = Duration::from_secs(10);
/// Real-time bound on the whole stress run.
const TOTAL_LIMIT: Duration = Duration::from_secs(120);

/// splitmix64: a tiny seeded generator, so every test's mix is reproducible.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed ^ 0x5EED_1007_7133_u64)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// In `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    /// A duration of whole microseconds (the default resolution) in `1 µs..=10 s`, made
    /// distinct per test by mixing the test number into the low digits.
    fn duration(&mut self, n: usize) -> Duration {
        Duration::from_micros(self.range(1, 10_000) * 1_000 + (n as u64 % 1_000) + 1)
    }
}

/// A pending task named `leak-{n}`, and the line that spawned it (the caller's).
#[track_caller]
fn leak_task(proxy: &Proxy, n: usize) -> (JoinHandle<()>, &'static Location<'static>) {
    (
        proxy.spawn_named(format!("leak-{n}"), pending::<()>()),
        Location::caller(),
    )
}

/// A TCP listener made through the proxy, and the line that made it (the caller's).
#[track_caller]
fn leak_listener(proxy: &Proxy) -> (TcpListener, &'static Location<'static>) {
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    (proxy.bind_tcp(addr).unwrap(), Location::caller())
}

/// Which leaks test `n` makes: a task in every 7th test, a listener in every 11th.
fn leaks_of(n: usize) -> (bool, bool) {
    (n % 7 == 3, n % 11 == 5)
}

/// One scoped test on the shared runtime.
fn one_test<R: Runtime + Clone + 'static>(runtime: &R, n: usize) {
    let proxy = Proxy::named(runtime, format!("t{n}"));
    let _on = proxy.setup_looptime(Settings::new()).unwrap();
    let mut rng = Rng::new(n as u64);
    let (leak_a_task, leak_a_listener) = leaks_of(n);

    let expected = proxy
        .block_on(async {
            let mut expected = Duration::ZERO;
            assert_eq!(proxy.looptime(), expected, "t{n}: start");

            // Sequential sleeps.
            for _ in 0..rng.range(1, 4) {
                let d = rng.duration(n);
                proxy.sleep(d).await;
                expected += d;
                assert_eq!(proxy.looptime(), expected, "t{n}: after a sleep of {d:?}");
            }

            // A timeout that fires.
            let limit = rng.duration(n);
            let waited = proxy.timeout(limit, pending::<()>()).await;
            assert!(waited.unwrap_err().is_deadline(), "t{n}: timeout fired");
            expected += limit;
            assert_eq!(
                proxy.looptime(),
                expected,
                "t{n}: after a timeout of {limit:?}"
            );

            // A timeout that does not fire, around a shorter sleep.
            let short = rng.duration(n);
            let waited = proxy
                .timeout(short + Duration::from_secs(1), proxy.sleep(short))
                .await;
            assert!(waited.is_ok(), "t{n}: timeout did not fire");
            expected += short;
            assert_eq!(
                proxy.looptime(),
                expected,
                "t{n}: after a sleep of {short:?}"
            );

            // Spawned tasks with their own sleeps, each waking at exactly its deadline.
            let start = expected;
            let mut tasks = Vec::new();
            for _ in 0..rng.range(1, 5) {
                let d = rng.duration(n);
                let clock = proxy.clone();
                let steps = rng.range(1, 3);
                let task = proxy.spawn(async move {
                    for _ in 0..steps {
                        clock.sleep(d).await;
                    }
                    clock.looptime()
                });
                tasks.push((start + d * steps as u32, task));
            }
            let latest = tasks.iter().map(|(at, _)| *at).max().unwrap();
            for (at, task) in tasks {
                let woke = task.await.unwrap();
                assert_eq!(woke, at, "t{n}: a spawned task woke at its own deadline");
            }
            expected = latest;
            assert_eq!(proxy.looptime(), expected, "t{n}: after the spawned tasks");

            // Deliberate leaks, made last so nothing else waits on them.
            let task = leak_a_task.then(|| leak_task(&proxy, n));
            let listener = leak_a_listener.then(|| {
                let (listener, site) = leak_listener(&proxy);
                let addr = listener.local_addr().unwrap();
                (listener, site, addr)
            });
            let report = proxy.check_and_shutdown(CheckKind::ALL).await;
            assert_eq!(proxy.looptime(), expected, "t{n}: shutdown moved time");

            match (&task, &listener) {
                (None, None) => assert!(report.is_ok(), "t{n}: no leak expected: {report:?}"),
                _ => {
                    let leaks = report.expect_err("leaks expected");
                    let text = leaks.to_string();
                    assert!(
                        text.starts_with(&format!("proxy 't{n}' created at ")),
                        "t{n}: reported by another proxy: {text}"
                    );
                    let mut found = leaks.iter();
                    if let Some((_, site)) = &task {
                        let leak = found.next().expect("the task leak");
                        assert_eq!(leak.kind(), CheckKind::TASKS, "t{n}: {text}");
                        assert_eq!(leak.name(), Some(format!("leak-{n}").as_str()), "{text}");
                        assert_eq!(leak.site(), *site, "t{n}: {text}");
                    }
                    if let Some((_, site, addr)) = &listener {
                        let leak = found.next().expect("the listener leak");
                        assert_eq!(leak.kind(), CheckKind::SERVERS, "t{n}: {text}");
                        assert_eq!(leak.site(), *site, "t{n}: {text}");
                        assert_eq!(leak.name(), None, "t{n}: {text}");
                        assert!(
                            leak.detail().unwrap().contains(&addr.to_string()),
                            "t{n}: another listener: {text}"
                        );
                    }
                    assert!(found.next().is_none(), "t{n}: foreign leaks: {text}");
                }
            }
            if let Some((task, _)) = task {
                assert!(
                    task.await.unwrap_err().is_cancelled(),
                    "t{n}: leak cancelled"
                );
            }
            if let Some((listener, _, _)) = listener {
                assert!(listener.accept().await.is_err(), "t{n}: listener closed");
            }
            expected
        })
        .unwrap_or_else(|e| panic!("t{n}: the run failed: {e}"));
    assert_eq!(proxy.looptime(), expected, "t{n}: after the run");
}

enum Event {
    Started(usize, usize, Instant),
    Finished(usize),
    Failed(usize, String),
}

/// Runs `THREADS * TESTS_PER_THREAD` tests on `runtime` from `THREADS` threads, failing
/// (not hanging) when one test takes longer than `TEST_LIMIT` or the whole run longer
/// than `TOTAL_LIMIT`.
/// Runs the stress on `runtime`: 1 000 scoped tests on virtual time from 8 threads at
/// once, each with a seeded mix of sleeps, timeouts and spawned tasks asserted to exact
/// loop times, every 7th leaking a named task and every 11th a listener. Each leak must be
/// reported by the proxy that made it and by no other.
///
/// # Panics
///
/// On the first wrong loop time or leak report, or when a test runs for over 10 s of real
/// time (naming it) or the whole run for over 120 s.
pub fn run<R: Runtime + Clone + 'static>(runtime: R) {
    let began = Instant::now();
    let (events, watch) = mpsc::channel();
    for thread_no in 0..THREADS {
        let runtime = runtime.clone();
        let events = events.clone();
        thread::Builder::new()
            .name(format!("stress-{thread_no}"))
            .spawn(move || {
                for i in 0..TESTS_PER_THREAD {
                    let n = i * THREADS + thread_no;
                    let _ = events.send(Event::Started(thread_no, n, Instant::now()));
                    match catch_unwind(AssertUnwindSafe(|| one_test(&runtime, n))) {
                        Ok(()) => {
                            let _ = events.send(Event::Finished(thread_no));
                        }
                        Err(panic) => {
                            let message = panic
                                .downcast_ref::<String>()
                                .cloned()
                                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                                .unwrap_or_default();
                            let _ = events.send(Event::Failed(n, message));
                            return;
                        }
                    }
                }
            })
            .unwrap();
    }
    drop(events);

    let mut running: Vec<Option<(usize, Instant)>> = vec![None; THREADS];
    let mut finished = 0;
    let mut slowest = (Duration::ZERO, 0);
    loop {
        match watch.recv_timeout(Duration::from_millis(200)) {
            Ok(Event::Started(thread_no, n, at)) => running[thread_no] = Some((n, at)),
            Ok(Event::Finished(thread_no)) => {
                let (n, at) = running[thread_no].take().unwrap();
                slowest = slowest.max((at.elapsed(), n));
                finished += 1;
            }
            Ok(Event::Failed(n, message)) => panic!("test t{n} failed: {message}"),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        for (n, at) in running.iter().flatten() {
            assert!(
                at.elapsed() < TEST_LIMIT,
                "test t{n} hangs: still running after {:?} ({finished} tests done)",
                at.elapsed()
            );
        }
        assert!(
            began.elapsed() < TOTAL_LIMIT,
            "the stress run takes over {TOTAL_LIMIT:?} ({finished} tests done)"
        );
    }
    assert_eq!(finished, THREADS * TESTS_PER_THREAD);
    let leaked_tasks = (0..finished).filter(|&n| leaks_of(n).0).count();
    let leaked_listeners = (0..finished).filter(|&n| leaks_of(n).1).count();
    eprintln!(
        "stress: {finished} tests ({leaked_tasks} leaking a task, {leaked_listeners} a \
         listener) from {THREADS} threads in {:?}; slowest t{} took {:?}",
        began.elapsed(),
        slowest.1,
        slowest.0
    );
}
