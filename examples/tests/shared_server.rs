//! One echo server, started once on a shared multi-thread runtime, serving fifty tests at
//! once. Each test runs in its own proxy on virtual time: its client timeouts, retries and
//! leaks are its own, checked by exact loop times and exact leak reports, and none of them
//! takes the server down.
//!
//! The server runs on the bare runtime, outside every proxy: its `SLOW` answers wait in
//! real time, and no test's shutdown can close it. The tests' connections are made through
//! their proxies, so each proxy sees (and closes) only its own.
//!
//! Real-time bounds: lower bounds are exact (a `SLOW 300` answer cannot come before 300 ms;
//! a silent server is waited on for `io_patience` before virtual time moves on); upper
//! bounds leave wide headroom, as fifty tests share the machine's cores.

use std::future::poll_fn;
use std::io::{self, ErrorKind};
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures_util::io::{AsyncReadExt, AsyncWriteExt, ReadHalf};
use looptime_api::io::TcpStream;
use looptime_api::{
    CheckKind, Chronometer, Latch, Proxy, Reactor, ReactorExt, Settings, SpawnerExt,
};
use looptime_examples::echo::{Answer, MAX_LINE, request, request_with_retries, serve};
use looptime_tokio::Tokio;

/// The runtime every test shares, and the address of the one server on it.
struct Shared {
    runtime: Tokio,
    addr: SocketAddr,
}

/// The shared runtime and server, started by whichever test comes first.
fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let runtime = Tokio::multi_thread().expect("a multi-thread runtime builds");
        let listener = runtime
            .bind_tcp("127.0.0.1:0".parse().unwrap())
            .expect("the server binds a port");
        let addr = listener.local_addr().unwrap();
        // On the bare runtime: no proxy tracks the server, its listener or its connections.
        let server = runtime.spawn(serve(runtime.clone(), listener));
        drop(server);
        Shared { runtime, addr }
    })
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// The `idle_step` of the cases that step loop time along with real time.
const IDLE_STEP: Duration = Duration::from_millis(10);

/// The client timeout of requests expected to succeed.
const PATIENT: Duration = Duration::from_secs(5);

/// A real-time upper bound, with headroom for fifty tests sharing the cores.
#[track_caller]
fn real_below(real: Duration, bound: Duration, what: &str) {
    assert!(
        real < bound,
        "{what} took {real:?} of real time (bound {bound:?})"
    );
}

/// A real-time lower bound.
#[track_caller]
fn real_at_least(real: Duration, bound: Duration, what: &str) {
    assert!(
        real >= bound,
        "{what} took only {real:?} of real time (at least {bound:?} expected)"
    );
}

/// How many requests the server has received, this one included.
async fn count(proxy: &Proxy, addr: SocketAddr) -> u64 {
    let answer = request(proxy, addr, "COUNT", PATIENT).await;
    let answer = answer.unwrap_or_else(|e| panic!("the server does not answer COUNT: {e}"));
    answer.parse().expect("COUNT answers a number")
}

/// One test: a proxy of its own, on virtual time, over the shared runtime.
struct Case {
    index: u64,
    name: &'static str,
    addr: SocketAddr,
    proxy: Proxy,
}

impl Case {
    /// Runs the case for `index` in a fresh proxy named `name`.
    fn run(index: u64, name: &'static str) {
        let shared = shared();
        let proxy = Proxy::named(&shared.runtime, name);
        let _on = proxy.setup_looptime(Case::settings(index)).unwrap();
        let case = Case {
            index,
            name,
            addr: shared.addr,
            proxy,
        };
        match index % 7 {
            0 => case.roundtrip(),
            1 => case.slow_answer_within_the_timeout(),
            2 => case.silent_server_times_out(),
            3 => case.retries_after_dropped_connections(),
            4 => case.retries_give_up_on_timeouts(),
            5 => case.leaks_are_reported_and_closed(),
            _ => case.retries_give_up_on_drops(),
        }
    }

    /// Default settings, but every other `SLOW 300` case steps loop time along with real
    /// time while it waits.
    fn settings(index: u64) -> Settings {
        if index % 7 == 1 && index / 7 % 2 == 1 {
            Settings::new().idle_step(IDLE_STEP)
        } else {
            Settings::new()
        }
    }

    /// Runs `body` on the proxy between two `COUNT`s. `body` returns how many requests it
    /// knows the server received; the second `COUNT` must show at least those, and the
    /// proxy must shut down clean.
    fn clean<F: Future<Output = u64>>(&self, body: impl FnOnce() -> F) {
        let (proxy, addr) = (&self.proxy, self.addr);
        proxy
            .block_on(async {
                let stepping = proxy.settings().idle_step.is_some();
                let before = count(proxy, addr).await;
                // Without `idle_step`, an answer within `io_patience` is awaited without
                // moving loop time.
                if !stepping {
                    assert_eq!(proxy.looptime(), Duration::ZERO);
                }
                let made = body().await;
                let looptime = proxy.looptime();
                let after = count(proxy, addr).await;
                assert!(
                    after > before + made,
                    "the server counted {after} requests after {before} + {made}"
                );
                if !stepping {
                    assert_eq!(proxy.looptime(), looptime);
                }
                let shutdown = proxy.check_and_shutdown(CheckKind::ALL).await;
                shutdown.unwrap_or_else(|leaks| panic!("{leaks}"));
            })
            .unwrap();
    }

    /// `ECHO` of a text whose length varies with the index (up to 44 KiB: several reads):
    /// the answer is the text, and loop time never moves.
    fn roundtrip(&self) {
        let (proxy, addr) = (&self.proxy, self.addr);
        let text = format!("{} says hello ✓ ", self.name).repeat(self.index as usize * 40);
        assert!(text.len() < MAX_LINE);
        self.clean(|| async move {
            let chrono = Chronometer::started();
            let answer = request(proxy, addr, &format!("ECHO {text}"), PATIENT).await;
            assert_eq!(answer.unwrap(), text);
            assert_eq!(proxy.looptime(), Duration::ZERO);
            real_below(chrono.elapsed(), secs(2), "an echo");
            1
        });
    }

    /// `SLOW 300` under a 5 s client timeout: the client waits for the real answer (the
    /// server answers within `io_patience`), so the timeout does not fire. Loop time, with
    /// no `idle_step`, does not move at all; with one, it follows the real wait in whole
    /// steps.
    fn slow_answer_within_the_timeout(&self) {
        let (proxy, addr, name) = (&self.proxy, self.addr, self.name);
        self.clean(|| async move {
            let chrono = Chronometer::started();
            let start = proxy.looptime();
            let answer = request(proxy, addr, &format!("SLOW 300 {name}"), PATIENT).await;
            let real = chrono.elapsed();
            assert_eq!(answer.unwrap(), name);
            let looptime = proxy.looptime() - start;
            if proxy.settings().idle_step.is_none() {
                assert_eq!(looptime, Duration::ZERO);
            } else {
                // Loop time follows real time in whole steps, each taking as much real time
                // (a step cut short in its last fifth counts whole): within a few steps of
                // the real wait.
                assert_eq!(
                    looptime.as_nanos() % IDLE_STEP.as_nanos(),
                    0,
                    "{looptime:?}"
                );
                assert!(looptime >= ms(250), "{looptime:?} for a 300 ms wait");
                assert!(
                    looptime <= real + IDLE_STEP * 3,
                    "{looptime:?} after {real:?}"
                );
            }
            real_at_least(real, ms(300), "a SLOW 300 answer");
            real_below(real, secs(3), "a SLOW 300 answer");
            1
        });
    }

    /// A server that never answers (`SLOW 600000`) under a 60 s client timeout: a deadline
    /// error at loop time exactly 60 s, after `io_patience` (1 s) of real time.
    fn silent_server_times_out(&self) {
        let (proxy, addr) = (&self.proxy, self.addr);
        let patience = Settings::new().io_patience.unwrap();
        self.clean(|| async move {
            let chrono = Chronometer::started();
            let error = request(proxy, addr, "SLOW 600000 never", secs(60)).await;
            let real = chrono.elapsed();
            let error = error.unwrap_err();
            assert!(error.is_deadline(), "{error}");
            assert!(error.is_retryable());
            assert_eq!(proxy.looptime(), secs(60));
            real_at_least(real, patience, "a timeout on a silent server");
            real_below(real, secs(3), "a timeout on a silent server");
            // The timed-out request may or may not have been counted yet.
            0
        });
    }

    /// `FLAKY 2`: the first two connections are dropped, the third is answered. The
    /// backoff (a tenth of a second per index) is slept with no I/O in flight, so it
    /// compacts exactly: loop time is backoff + 2 × backoff.
    fn retries_after_dropped_connections(&self) {
        let (proxy, addr, name) = (&self.proxy, self.addr, self.name);
        let backoff = ms(100 * self.index);
        self.clean(|| async move {
            let chrono = Chronometer::started();
            let line = format!("FLAKY 2 {name}");
            let answer = request_with_retries(proxy, addr, &line, PATIENT, 5, backoff).await;
            let expected = Answer {
                text: name.to_owned(),
                attempts: 3,
            };
            assert_eq!(answer.unwrap(), expected);
            assert_eq!(proxy.looptime(), backoff * 3);
            real_below(chrono.elapsed(), secs(2), "two drops and an answer");
            3
        });
    }

    /// A silent server under a 10 s timeout, two attempts 1 s apart: the client gives up
    /// after exactly 10 + 1 + 10 s of loop time and two `io_patience`s of real time.
    fn retries_give_up_on_timeouts(&self) {
        let (proxy, addr) = (&self.proxy, self.addr);
        let patience = Settings::new().io_patience.unwrap();
        self.clean(|| async move {
            let chrono = Chronometer::started();
            let line = "SLOW 600000 never";
            let outcome = request_with_retries(proxy, addr, line, secs(10), 2, secs(1)).await;
            let real = chrono.elapsed();
            let error = outcome.unwrap_err();
            assert_eq!(error.attempts, 2);
            assert!(error.last_error.is_deadline(), "{}", error.last_error);
            assert_eq!(error.elapsed, secs(10 + 1 + 10));
            assert_eq!(proxy.looptime(), secs(21));
            real_at_least(real, patience * 2, "two timeouts on a silent server");
            real_below(real, secs(6), "two timeouts on a silent server");
            0
        });
    }

    /// `DROP` on every attempt: the client gives up after four attempts, having slept
    /// 250 + 500 + 1000 ms, exactly, at no real cost.
    fn retries_give_up_on_drops(&self) {
        let (proxy, addr) = (&self.proxy, self.addr);
        self.clean(|| async move {
            let chrono = Chronometer::started();
            let outcome = request_with_retries(proxy, addr, "DROP", PATIENT, 4, ms(250)).await;
            let error = outcome.unwrap_err();
            assert_eq!(error.attempts, 4);
            assert!(error.last_error.is_dropped(), "{}", error.last_error);
            assert_eq!(error.elapsed, ms(250 + 500 + 1000));
            assert_eq!(proxy.looptime(), ms(1750));
            real_below(chrono.elapsed(), secs(2), "four drops");
            4
        });
    }

    /// The test forgets a connection (it keeps the writing half) and a task waiting on its
    /// reading half: the shutdown reports exactly those two, with this file's lines, closes
    /// both halves, cancels the task, and the server answers the next proxy as before.
    fn leaks_are_reported_and_closed(&self) {
        let (proxy, addr) = (&self.proxy, self.addr);
        let before = proxy
            .block_on(async {
                let before = count(proxy, addr).await;
                let connect_line = line!() + 1;
                let stream = proxy.connect_tcp(addr).await.unwrap();
                // The test keeps the writing half; a task waits on the reading half.
                let (reader, mut writer) = stream.split();
                writer.write_all(b"SLOW 600000 forgotten\n").await.unwrap();
                let waiting = Arc::new(Latch::new());
                let spawn_line = line!() + 1;
                let waiter = proxy.spawn(wait_for_answer(reader, waiting.clone()));
                poll_fn(|cx| waiting.poll_wait(cx)).await;

                let leaks = proxy.check_and_shutdown(CheckKind::ALL).await.unwrap_err();
                let found: Vec<_> = leaks
                    .iter()
                    .map(|leak| (leak.kind(), leak.site().file(), leak.site().line()))
                    .collect();
                assert_eq!(
                    found,
                    [
                        (CheckKind::TASKS, file!(), spawn_line),
                        (CheckKind::TRANSPORTS, file!(), connect_line),
                    ],
                    "{leaks}"
                );
                let report = leaks.to_string();
                assert!(report.contains(&format!("'{}'", self.name)), "{report}");
                assert!(report.contains(&format!("-> {addr}")), "{report}");
                assert!(waiter.await.unwrap_err().is_cancelled());
                // The kept half is closed too.
                let write = writer.write(b"x").await;
                assert_eq!(write.unwrap_err().kind(), ErrorKind::NotConnected);
                // A second shutdown finds nothing; the proxy refuses new work.
                assert_eq!(proxy.check_and_shutdown(CheckKind::ALL).await, Ok(()));
                assert!(request(proxy, addr, "COUNT", PATIENT).await.is_err());
                before
            })
            .unwrap();

        let after_leak = Proxy::named(&shared().runtime, format!("{} after its leak", self.name));
        let _on = after_leak.setup_looptime(Settings::new()).unwrap();
        after_leak
            .block_on(async {
                let after = count(&after_leak, addr).await;
                assert!(after > before, "COUNT went from {before} to {after}");
                let text = format!("still here for {}", self.name);
                let echo = request(&after_leak, addr, &format!("ECHO {text}"), PATIENT).await;
                assert_eq!(echo.unwrap(), text);
                assert_eq!(after_leak.looptime(), Duration::ZERO);
                let shutdown = after_leak.check_and_shutdown(CheckKind::ALL).await;
                shutdown.unwrap_or_else(|leaks| panic!("{leaks}"));
            })
            .unwrap();
    }
}

/// Waits for an answer on `reader`, setting `waiting` once the read is pending.
async fn wait_for_answer(
    mut reader: ReadHalf<TcpStream>,
    waiting: Arc<Latch>,
) -> io::Result<usize> {
    let mut answer = [0u8; 64];
    let mut read = pin!(reader.read(&mut answer));
    poll_fn(|cx| {
        let poll = read.as_mut().poll(cx);
        if poll.is_pending() {
            waiting.set();
        }
        poll
    })
    .await
}

/// One `#[test]` per name, each running the case of its index.
macro_rules! echo_tests {
    ($($name:ident = $index:literal),* $(,)?) => {$(
        #[test]
        fn $name() {
            Case::run($index, stringify!($name));
        }
    )*};
}

echo_tests! {
    echo_01 = 1, echo_02 = 2, echo_03 = 3, echo_04 = 4, echo_05 = 5,
    echo_06 = 6, echo_07 = 7, echo_08 = 8, echo_09 = 9, echo_10 = 10,
    echo_11 = 11, echo_12 = 12, echo_13 = 13, echo_14 = 14, echo_15 = 15,
    echo_16 = 16, echo_17 = 17, echo_18 = 18, echo_19 = 19, echo_20 = 20,
    echo_21 = 21, echo_22 = 22, echo_23 = 23, echo_24 = 24, echo_25 = 25,
    echo_26 = 26, echo_27 = 27, echo_28 = 28, echo_29 = 29, echo_30 = 30,
    echo_31 = 31, echo_32 = 32, echo_33 = 33, echo_34 = 34, echo_35 = 35,
    echo_36 = 36, echo_37 = 37, echo_38 = 38, echo_39 = 39, echo_40 = 40,
    echo_41 = 41, echo_42 = 42, echo_43 = 43, echo_44 = 44, echo_45 = 45,
    echo_46 = 46, echo_47 = 47, echo_48 = 48, echo_49 = 49, echo_50 = 50,
}

/// Malformed input from a misbehaving client — unknown and malformed requests, an empty
/// line, invalid UTF-8, an oversized line, a half line, a connection closed at once — is
/// answered or shrugged off, and the server still answers everyone.
#[test]
fn server_survives_abuse() {
    let Shared { runtime, addr } = shared();
    let addr = *addr;
    let proxy = Proxy::named(runtime, "server_survives_abuse");
    let _on = proxy.setup_looptime(Settings::new()).unwrap();
    proxy
        .block_on(async {
            let before = count(&proxy, addr).await;
            for (line, answer) in [
                ("HELLO", "ERR unknown request \"HELLO\""),
                ("", "ERR unknown request \"\""),
                ("SLOW soon x", "ERR SLOW takes <ms> <text>"),
                ("FLAKY 1", "ERR FLAKY takes <n> <key>"),
                ("ECHO", ""),
                ("ECHO  two  spaces ", " two  spaces "),
            ] {
                let got = request(&proxy, addr, line, PATIENT).await;
                assert_eq!(got.unwrap(), answer, "for {line:?}");
            }
            assert!(request(&proxy, addr, "ECHO a\nb", PATIENT).await.is_err());

            // Several requests on one connection, written at once; then raw bytes.
            let mut stream = proxy.connect_tcp(addr).await.unwrap();
            stream
                .write_all(b"ECHO one\r\nECHO two\n\xff\xfe\nCOUNT\n")
                .await
                .unwrap();
            let mut answers = String::new();
            while answers.matches('\n').count() < 4 {
                let mut chunk = [0u8; 256];
                let n = stream.read(&mut chunk).await.unwrap();
                assert_ne!(n, 0, "the server hung up after {answers:?}");
                answers.push_str(std::str::from_utf8(&chunk[..n]).unwrap());
            }
            let lines: Vec<&str> = answers.lines().collect();
            assert_eq!(lines[..3], ["one", "two", "ERR request is not UTF-8"]);
            // Six requests above, four here: the last is this COUNT.
            assert!(lines[3].parse::<u64>().unwrap() >= before + 10);

            // An oversized line: an error, then the server hangs up. (Exactly one byte
            // more than a line and its `\r` can hold, so that the server has read all of
            // it when it closes: unread input would turn its close into a reset.)
            let oversized = vec![b'x'; MAX_LINE + 2];
            stream.write_all(&oversized).await.unwrap();
            let mut rest = Vec::new();
            stream.read_to_end(&mut rest).await.unwrap();
            let expected = format!("ERR request longer than {MAX_LINE} bytes\n");
            assert_eq!(String::from_utf8(rest).unwrap(), expected);
            drop(stream);

            // A half line, then gone; a connection closed at once.
            let mut half = proxy.connect_tcp(addr).await.unwrap();
            half.write_all(b"ECHO never finish").await.unwrap();
            drop(half);
            drop(proxy.connect_tcp(addr).await.unwrap());

            let text = "still here";
            let echo = request(&proxy, addr, &format!("ECHO {text}"), PATIENT).await;
            assert_eq!(echo.unwrap(), text);
            // The oversized and the half line are not requests; the echo and this COUNT are.
            assert!(count(&proxy, addr).await >= before + 12);
            assert_eq!(proxy.looptime(), Duration::ZERO);
            let shutdown = proxy.check_and_shutdown(CheckKind::ALL).await;
            shutdown.unwrap_or_else(|leaks| panic!("{leaks}"));
        })
        .unwrap();
}

/// Nobody listening: each refused connection is retried after its backoff, which compacts
/// exactly, and the client gives up with the refusal.
#[test]
fn refused_connections_are_retried() {
    let proxy = Proxy::named(&shared().runtime, "refused_connections_are_retried");
    let _on = proxy.setup_looptime(Settings::new()).unwrap();
    proxy
        .block_on(async {
            let listener = proxy.bind_tcp("127.0.0.1:0".parse().unwrap()).unwrap();
            let closed = listener.local_addr().unwrap();
            drop(listener);
            let outcome = request_with_retries(&proxy, closed, "COUNT", PATIENT, 3, secs(2)).await;
            let error = outcome.unwrap_err();
            assert_eq!(error.attempts, 3);
            assert!(error.last_error.is_retryable(), "{}", error.last_error);
            assert!(!error.last_error.is_dropped(), "{}", error.last_error);
            assert_eq!(error.elapsed, secs(2 + 4));
            assert_eq!(proxy.looptime(), secs(6));
            let shutdown = proxy.check_and_shutdown(CheckKind::ALL).await;
            shutdown.unwrap_or_else(|leaks| panic!("{leaks}"));
        })
        .unwrap();
}
