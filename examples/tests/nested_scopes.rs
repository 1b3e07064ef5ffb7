//! Nested scopes over one shared runtime: global → module → test.
//!
//! - The **global** scope is a proxy over a multi-thread runtime that every test of this
//!   file shares. The echo server is started in it once, by whichever test comes first.
//! - Each test module (`module_a`, `module_b`) has a **module** scope: a proxy whose
//!   parent is the global one (`Proxy::named(&parent_proxy, name)`, like
//!   `Proxy::new(&parent_proxy)`, nests).
//! - Each test has a **test** scope: a proxy whose parent is its module's, on virtual time
//!   of its own. Its connections go through the module and global scopes to the runtime;
//!   every layer records them with the line in the test that made them.
//!
//! What a test scope leaks is also visible to its module and to the global scope — until
//! the test scope shuts down, which closes it and takes it off every ancestor's books. So
//! each test's leak report names only its own resources, and one test that leaks on
//! purpose (`module_a::leaks_only_its_own`) leaves the module and global scopes clean.
//! `module_b::a_childs_leak_is_its_parents_until_the_child_shuts_down` shows both sides
//! on a module scope of its own: a child that shut down takes its leak with it, a child
//! that did not leaves it to its parent's report.
//!
//! The module and global scopes are checked at the end: the last test of a module to
//! finish shuts the module's scope down and asserts that it is clean, and the last module
//! shuts the global scope down and asserts that it holds nothing but the server; a leak
//! found there fails whichever test finished last. (When a filter runs only some of the
//! tests, those checks do not run.)
//!
//! The `#[looptime_tokio::test]` attribute makes a fresh runtime and scope for each test;
//! scopes nested over one shared runtime are made explicitly, so these are plain
//! `#[test]`s with explicit proxies.

use std::future::{Future, pending};
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use looptime_api::{
    CheckKind, Chronometer, Leaks, Proxy, Reactor, ReactorExt, Settings, SpawnerExt,
};
use looptime_examples::echo::{request, serve};
use looptime_tokio::Tokio;

/// The runtime every test shares, the global scope over it, and the echo server in it.
struct Global {
    runtime: Tokio,
    scope: Proxy,
    addr: SocketAddr,
    /// This file's lines that bound the server's listener and spawned its task.
    bind_line: u32,
    serve_line: u32,
    /// How many modules have finished all their tests.
    modules_done: AtomicU32,
}

/// The number of test modules below.
const MODULES: u32 = 2;

/// The shared runtime, global scope and server, started by whichever test comes first.
fn global() -> &'static Global {
    static GLOBAL: OnceLock<Global> = OnceLock::new();
    GLOBAL.get_or_init(|| {
        let runtime = Tokio::multi_thread().expect("a multi-thread runtime builds");
        let scope = Proxy::named(&runtime, "global");
        let bind_line = line!() + 1;
        let listener = scope.bind_tcp("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        let serve_line = line!() + 1;
        let server = scope.spawn_named("echo server", serve(scope.clone(), listener));
        // Detached: the global scope owns the server until it shuts down.
        drop(server);
        Global {
            runtime,
            scope,
            addr,
            bind_line,
            serve_line,
            modules_done: AtomicU32::new(0),
        }
    })
}

impl Global {
    /// A module has finished all its tests; after the last one, the global scope is shut
    /// down and must hold nothing but the server.
    fn module_finished(&self) {
        if self.modules_done.fetch_add(1, Ordering::SeqCst) + 1 < MODULES {
            return;
        }
        let shutdown = self
            .runtime
            .block_on(self.scope.check_and_shutdown(CheckKind::ALL))
            .unwrap();
        let leaks = shutdown.expect_err("the server is still running in the global scope");
        let found = sites(&leaks);
        assert!(
            found.contains(&(CheckKind::TASKS, file!(), self.serve_line)),
            "{leaks}"
        );
        assert!(
            found.contains(&(CheckKind::SERVERS, file!(), self.bind_line)),
            "{leaks}"
        );
        // Besides the server's task and listener, only the server's own connections (tasks
        // spawned in `echo.rs`, streams accepted by the listener) may still be closing:
        // nothing that any test made.
        for (kind, file, line) in found {
            let servers = file == file!() && [self.serve_line, self.bind_line].contains(&line);
            let connections = file.ends_with("echo.rs") && kind == CheckKind::TASKS;
            assert!(
                servers || connections,
                "{kind:?} at {file}:{line} in {leaks}"
            );
        }
    }
}

/// A module scope, and how many of its tests have finished.
struct Module {
    name: &'static str,
    scope: Proxy,
    tests: u32,
    done: AtomicU32,
}

impl Module {
    /// The module scope in `cell`, made on first use as a child of the global scope.
    fn get(cell: &'static OnceLock<Module>, name: &'static str, tests: u32) -> &'static Module {
        cell.get_or_init(|| Module {
            name,
            scope: Proxy::named(&global().scope, name),
            tests,
            done: AtomicU32::new(0),
        })
    }

    /// A test scope named `test`: a child of this module's, on virtual time.
    fn test_scope(&self, test: &str) -> Proxy {
        assert!(
            !self.scope.is_shut_down(),
            "{} already shut down",
            self.name
        );
        Proxy::named(&self.scope, format!("{}::{test}", self.name))
    }

    /// Runs `body` in a new test scope on virtual time, then shuts the scope down; returns
    /// the body's output and the scope's leak report.
    fn run<F, Fut>(&self, test: &str, body: F) -> (Fut::Output, Result<(), Leaks>)
    where
        F: FnOnce(Proxy) -> Fut,
        Fut: Future,
    {
        let proxy = self.test_scope(test);
        let _on = proxy.setup_looptime(Settings::new()).unwrap();
        proxy
            .block_on(async {
                let output = body(proxy.clone()).await;
                (output, proxy.check_and_shutdown(CheckKind::ALL).await)
            })
            .unwrap()
    }

    /// Like [`run`](Module::run), for a test that must leave nothing behind; then counts
    /// the test as finished (so a test calls it last, and once).
    fn run_clean<F, Fut>(&self, test: &str, body: F) -> Fut::Output
    where
        F: FnOnce(Proxy) -> Fut,
        Fut: Future,
    {
        let (output, shutdown) = self.run(test, body);
        shutdown.unwrap_or_else(|leaks| panic!("{leaks}"));
        self.finished();
        output
    }

    /// One more test of the module has passed; after the last, the module scope is shut
    /// down and must be clean.
    fn finished(&self) {
        if self.done.fetch_add(1, Ordering::SeqCst) + 1 < self.tests {
            return;
        }
        let shutdown = global()
            .runtime
            .block_on(self.scope.check_and_shutdown(CheckKind::ALL))
            .unwrap();
        shutdown.unwrap_or_else(|leaks| panic!("the module scope is not clean: {leaks}"));
        global().module_finished();
    }
}

/// Each leak's kind, and the file and line that made it.
fn sites(leaks: &Leaks) -> Vec<(CheckKind, &'static str, u32)> {
    leaks
        .iter()
        .map(|leak| (leak.kind(), leak.site().file(), leak.site().line()))
        .collect()
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// The client timeout of requests expected to succeed.
const PATIENT: Duration = Duration::from_secs(5);

/// A real-time upper bound, with wide headroom: the tests share the cores.
#[track_caller]
fn real_below(chrono: &Chronometer, bound: Duration) {
    let real = chrono.elapsed();
    assert!(real < bound, "took {real:?} of real time (bound {bound:?})");
}

mod module_a {
    use super::*;
    use looptime_examples::rate_limit::TokenBucket;
    use looptime_examples::retry::{Jitter, RetryPolicy, retry};

    fn module() -> &'static Module {
        static MODULE: OnceLock<Module> = OnceLock::new();
        Module::get(&MODULE, "nested_scopes::module_a", 4)
    }

    /// A request and an answer through three scopes: no loop time passes.
    #[test]
    fn echo_through_three_scopes() {
        let addr = global().addr;
        module().run_clean("echo_through_three_scopes", |proxy| async move {
            let chrono = Chronometer::started();
            let answer = request(&proxy, addr, "ECHO three scopes deep", PATIENT).await;
            assert_eq!(answer.unwrap(), "three scopes deep");
            let count: u64 = request(&proxy, addr, "COUNT", PATIENT)
                .await
                .unwrap()
                .parse()
                .unwrap();
            assert!(count >= 2, "COUNT {count}");
            assert_eq!(proxy.looptime(), Duration::ZERO);
            real_below(&chrono, secs(3));
        });
    }

    /// `FLAKY 3`: three dropped connections, then the answer; the attempts start at the
    /// loop times the seeded policy's delays add up to.
    #[test]
    fn flaky_server_on_a_seeded_schedule() {
        let addr = global().addr;
        let policy = RetryPolicy {
            first_delay: secs(2),
            factor: 2,
            max_delay: secs(60),
            max_attempts: 6,
            jitter: Some(Jitter::new(0x5eed, 100)),
        };
        let schedule: Vec<Duration> = std::iter::once(Duration::ZERO)
            .chain(policy.delays().scan(Duration::ZERO, |at, delay| {
                *at += delay;
                Some(*at)
            }))
            .collect();
        module().run_clean("flaky_server_on_a_seeded_schedule", |proxy| async move {
            let chrono = Chronometer::started();
            let mut starts = Vec::new();
            let answer = retry(&proxy, &policy, |_| {
                starts.push(proxy.looptime());
                request(&proxy, addr, "FLAKY 3 module_a", PATIENT)
            })
            .await;
            assert_eq!(answer.unwrap(), "module_a");
            assert_eq!(starts, schedule[..4]);
            assert_eq!(proxy.looptime(), schedule[3]);
            // Full jitter: each delay is at most its base delay, 2 + 4 + 8 s in all.
            assert!(proxy.looptime() <= secs(14), "{:?}", proxy.looptime());
            real_below(&chrono, secs(3));
        });
    }

    /// Six requests through a token bucket (bursts of 2, one token a minute): the requests
    /// go out at exactly 0, 0, 60, 120, 180 and 240 s.
    #[test]
    fn rate_limited_requests() {
        let addr = global().addr;
        module().run_clean("rate_limited_requests", |proxy| async move {
            let bucket = TokenBucket::new(&proxy, 2, secs(60)).unwrap();
            let mut sent = Vec::new();
            for n in 0..6 {
                bucket.acquire().await;
                sent.push(proxy.looptime().as_secs());
                let answer = request(&proxy, addr, &format!("ECHO {n}"), PATIENT).await;
                assert_eq!(answer.unwrap(), n.to_string());
            }
            assert_eq!(sent, [0, 0, 60, 120, 180, 240]);
        });
    }

    /// The test forgets a connection, held by a task that never ends. Its own shutdown
    /// reports exactly those two, at this test's lines, in its own scope's name — nothing
    /// of the other tests running at the same time, of the module or of the server — and
    /// closes both; the module scope stays clean (checked when the module finishes).
    #[test]
    fn leaks_only_its_own() {
        let addr = global().addr;
        let name = "nested_scopes::module_a::leaks_only_its_own";
        let ((connect_line, spawn_line, waiter), shutdown) =
            module().run("leaks_only_its_own", |proxy| async move {
                let connect_line = line!() + 1;
                let stream = proxy.connect_tcp(addr).await.unwrap();
                let spawn_line = line!() + 1;
                let waiter = proxy.spawn(async move {
                    let _held = stream;
                    pending::<()>().await
                });
                (connect_line, spawn_line, waiter)
            });
        let leaks = shutdown.unwrap_err();
        assert_eq!(
            sites(&leaks),
            [
                (CheckKind::TASKS, file!(), spawn_line),
                (CheckKind::TRANSPORTS, file!(), connect_line),
            ],
            "{leaks}"
        );
        let report = leaks.to_string();
        assert!(
            report.starts_with(&format!("proxy '{name}' created at")),
            "{report}"
        );
        assert!(report.contains(&format!("-> {addr}")), "{report}");
        assert!(!report.contains("'global'"), "{report}");
        assert!(!report.contains("'nested_scopes::module_a'"), "{report}");
        // The task was cancelled by the shutdown.
        let outcome = global().runtime.block_on(waiter).unwrap();
        assert!(outcome.unwrap_err().is_cancelled());

        // The server still answers the next test scope of the module (and this test is
        // counted as finished).
        module().run_clean("leaks_only_its_own::after", |proxy| async move {
            let answer = request(&proxy, addr, "ECHO still here", PATIENT).await;
            assert_eq!(answer.unwrap(), "still here");
        });
    }
}

mod module_b {
    use super::*;
    use looptime_examples::lease::LeaseRenewer;

    fn module() -> &'static Module {
        static MODULE: OnceLock<Module> = OnceLock::new();
        Module::get(&MODULE, "nested_scopes::module_b", 3)
    }

    /// A server that never answers (`SLOW 600000`) under an hour's timeout: a deadline
    /// error at loop time exactly 3600 s, after about `io_patience` (1 s) of real time,
    /// while the server, on the global scope's real time, still waits.
    #[test]
    fn silent_server_times_out_at_exactly_an_hour() {
        let addr = global().addr;
        let patience = Settings::new().io_patience.unwrap();
        module().run_clean(
            "silent_server_times_out_at_exactly_an_hour",
            |proxy| async move {
                let chrono = Chronometer::started();
                let error = request(&proxy, addr, "SLOW 600000 never", secs(3600)).await;
                assert!(error.unwrap_err().is_deadline());
                assert_eq!(proxy.looptime(), secs(3600));
                assert!(chrono.elapsed() >= patience, "{:?}", chrono.elapsed());
                real_below(&chrono, secs(5));
            },
        );
    }

    /// A 30-minute lease renewed through the server every 10 minutes for a day: 145
    /// renewals, each a request and its answer, at exactly 0, 600, …, 86 400 s.
    #[test]
    fn lease_renewed_through_the_server_for_a_day() {
        let addr = global().addr;
        module().run_clean(
            "lease_renewed_through_the_server_for_a_day",
            |proxy| async move {
                let chrono = Chronometer::started();
                let renewer = LeaseRenewer::new(secs(1800)).unwrap();
                let renewals = renewer
                    .run(&proxy, secs(86_400), || async {
                        let answer = request(&proxy, addr, "ECHO renew", PATIENT).await?;
                        if answer == "renew" {
                            Ok(())
                        } else {
                            Err(looptime_examples::echo::ClientError::Protocol(answer))
                        }
                    })
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                let expected: Vec<Duration> = (0..=144).map(|k| secs(600 * k)).collect();
                assert_eq!(renewals, expected);
                assert_eq!(proxy.looptime(), secs(86_400));
                real_below(&chrono, secs(10));
            },
        );
    }

    /// A child's leak is visible to its parent until the child shuts down. Shown on a
    /// module scope of its own (a sibling of the two modules), so that shutting it down
    /// here touches no other test: two test scopes under it leak alike; the tidy one shuts
    /// itself down and reports its leak; the careless one does not, and its leak shows up
    /// in the module scope's report, with the careless test's lines.
    #[test]
    fn a_childs_leak_is_its_parents_until_the_child_shuts_down() {
        let Global {
            runtime,
            scope,
            addr,
            ..
        } = global();
        let addr = *addr;
        let scratch = Proxy::named(scope, "nested_scopes::module_b::scratch");
        let tidy = Proxy::named(&scratch, "tidy");
        let careless = Proxy::named(&scratch, "careless");
        runtime
            .block_on(async {
                let tidy_connect = line!() + 1;
                let stream = tidy.connect_tcp(addr).await.unwrap();
                let tidy_spawn = line!() + 1;
                let tidy_task = tidy.spawn(async move {
                    let _held = stream;
                    pending::<()>().await
                });
                let careless_connect = line!() + 1;
                let stream = careless.connect_tcp(addr).await.unwrap();
                let careless_spawn = line!() + 1;
                let careless_task = careless.spawn(async move {
                    let _held = stream;
                    pending::<()>().await
                });

                // The tidy child shuts down: its leak is reported, in its name, and closed.
                let leaks = tidy.check_and_shutdown(CheckKind::ALL).await.unwrap_err();
                assert_eq!(
                    sites(&leaks),
                    [
                        (CheckKind::TASKS, file!(), tidy_spawn),
                        (CheckKind::TRANSPORTS, file!(), tidy_connect),
                    ],
                    "{leaks}"
                );
                assert!(leaks.to_string().starts_with("proxy 'tidy' created at"));
                assert!(tidy_task.await.unwrap_err().is_cancelled());

                // The parent: the careless child's leak, at the careless child's lines;
                // nothing of the tidy child's.
                let leaks = scratch
                    .check_and_shutdown(CheckKind::ALL)
                    .await
                    .unwrap_err();
                assert_eq!(
                    sites(&leaks),
                    [
                        (CheckKind::TASKS, file!(), careless_spawn),
                        (CheckKind::TRANSPORTS, file!(), careless_connect),
                    ],
                    "{leaks}"
                );
                let report = leaks.to_string();
                assert!(
                    report.starts_with("proxy 'nested_scopes::module_b::scratch' created at"),
                    "{report}"
                );
                // The parent's shutdown closed the child too: nothing is left to report.
                assert!(careless.is_shut_down());
                assert_eq!(careless.check_and_shutdown(CheckKind::ALL).await, Ok(()));
                assert!(careless_task.await.unwrap_err().is_cancelled());
            })
            .unwrap();
        module().finished();
    }
}
