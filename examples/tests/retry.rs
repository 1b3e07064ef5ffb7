//! The retrying caller on virtual time: every backoff schedule, jittered ones included, is
//! checked by the exact loop time of each attempt.
//!
//! Each `#[looptime_tokio::test]` body runs in a fresh proxy on virtual time over a new
//! runtime; when it returns, anything it left alive fails the test.

use std::cell::RefCell;
use std::time::Duration;

use looptime_api::testing::TestHandle;
use looptime_api::{CheckKind, Clock, ClockExt, Proxy, Reactor, SpawnerExt};
use looptime_examples::echo::{ClientError, request, request_with_policy, serve};
use looptime_examples::retry::{Jitter, RetryError, RetryPolicy, retry};

fn policy(first_secs: u64, factor: u32, max_secs: u64, max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        first_delay: Duration::from_secs(first_secs),
        factor,
        max_delay: Duration::from_secs(max_secs),
        max_attempts,
        jitter: None,
    }
}

fn micros(n: u64) -> Duration {
    Duration::from_micros(n)
}

/// A loose sanity bound on real time: tests share the cores.
const REAL_BOUND: Duration = Duration::from_secs(20);

#[looptime_tokio::test]
async fn succeeds_on_the_fifth_attempt_after_fifteen_seconds(lt: TestHandle) {
    let mut calls = Vec::new();
    let outcome = retry(lt.proxy(), &policy(1, 2, 3600, 10), |attempt| {
        calls.push((attempt, lt.looptime().as_secs()));
        async move {
            if attempt <= 4 {
                Err(format!("attempt {attempt} refused"))
            } else {
                Ok(attempt * 100)
            }
        }
    })
    .await;
    assert_eq!(outcome, Ok(500));
    assert_eq!(lt.looptime(), Duration::from_secs(1 + 2 + 4 + 8));
    assert_eq!(calls, [(1, 0), (2, 1), (3, 3), (4, 7), (5, 15)]);
    assert!(lt.chronometer().elapsed() < REAL_BOUND);
}

#[looptime_tokio::test]
async fn gives_up_after_max_attempts_without_a_final_sleep(lt: TestHandle) {
    let mut calls = 0;
    let outcome: Result<(), _> = retry(lt.proxy(), &policy(1, 2, 3600, 3), |attempt| {
        calls += 1;
        async move { Err(attempt) }
    })
    .await;
    assert_eq!(
        outcome,
        Err(RetryError {
            attempts: 3,
            elapsed: Duration::from_secs(3),
            last_error: 3,
        })
    );
    assert_eq!(calls, 3);
    assert_eq!(lt.looptime(), Duration::from_secs(1 + 2));
}

#[looptime_tokio::test]
async fn max_delay_caps_the_backoff(lt: TestHandle) {
    let policy = policy(1, 2, 5, 6);
    assert_eq!(policy.total_backoff(), Duration::from_secs(17));
    let outcome: Result<(), _> = retry(lt.proxy(), &policy, |_| async { Err(()) }).await;
    assert_eq!(outcome.unwrap_err().attempts, 6);
    // Delays 1, 2, 4, then 8 and 16 capped at 5.
    assert_eq!(lt.looptime(), Duration::from_secs(1 + 2 + 4 + 5 + 5));
}

#[looptime_tokio::test]
async fn time_spent_inside_attempts_adds_to_the_backoff(lt: TestHandle) {
    // Each attempt takes 250 ms of clock time and fails; three attempts.
    let outcome: Result<(), _> = retry(lt.proxy(), &policy(1, 3, 60, 3), |_| async {
        lt.sleep(Duration::from_millis(250)).await;
        Err("slow failure")
    })
    .await;
    let error = outcome.unwrap_err();
    // 3 × 250 ms of attempts + 1 s + 3 s of backoff.
    assert_eq!(error.elapsed, Duration::from_millis(3 * 250 + 1000 + 3000));
    assert_eq!(lt.looptime(), Duration::from_millis(4750));
}

#[looptime_tokio::test]
async fn bounded_attempts_under_a_per_attempt_timeout(lt: TestHandle) {
    // The first two attempts hang and are cut off after 10 s each.
    let outcome = retry(lt.proxy(), &policy(1, 2, 60, 5), |attempt| {
        lt.timeout(Duration::from_secs(10), async move {
            if attempt <= 2 {
                std::future::pending::<()>().await;
            }
            attempt
        })
    })
    .await;
    assert_eq!(outcome, Ok(3));
    assert_eq!(lt.looptime(), Duration::from_secs(10 + 1 + 10 + 2));
}

#[test]
fn huge_policies_saturate_instead_of_overflowing() {
    let extreme = RetryPolicy {
        first_delay: Duration::MAX,
        factor: u32::MAX,
        max_delay: Duration::MAX,
        max_attempts: u32::MAX,
        jitter: Some(Jitter::new(u64::MAX, u8::MAX)),
    };
    assert_eq!(extreme.delay_after(1), Duration::MAX);
    assert_eq!(extreme.delay_after(u32::MAX), Duration::MAX);
    assert_eq!(extreme.total_backoff(), Duration::MAX);
    // Full jitter of Duration::MAX: a draw (under 2⁶⁴ µs) is taken off; never a panic.
    let floor = Duration::MAX - micros(u64::MAX);
    assert!(
        extreme
            .delays()
            .take(3)
            .all(|d| d >= floor && d < Duration::MAX)
    );

    let zero = RetryPolicy {
        max_attempts: 0,
        ..RetryPolicy::default()
    };
    assert_eq!(zero.attempts(), 1);
    assert_eq!(zero.delays().count(), 0);
}

// Nanosecond delays: a 1 ns resolution keeps them exact (the default 1 µs would round
// each deadline up to the next microsecond).
#[looptime_tokio::test(resolution = "1ns")]
async fn nanosecond_delays_reach_a_one_day_cap(lt: TestHandle) {
    // A 1 ns first delay multiplied by u32::MAX quickly reaches the one-day cap.
    let capped = RetryPolicy {
        first_delay: Duration::from_nanos(1),
        factor: u32::MAX,
        max_delay: Duration::from_secs(86_400),
        max_attempts: 100,
        jitter: None,
    };
    assert_eq!(
        capped.delay_after(2),
        Duration::from_nanos(u64::from(u32::MAX))
    );
    assert_eq!(capped.delay_after(3), Duration::from_secs(86_400));
    let outcome: Result<(), _> = retry(lt.proxy(), &capped, |_| async { Err(()) }).await;
    assert_eq!(outcome.unwrap_err().attempts, 100);
    // 99 sleeps: 1 ns, u32::MAX ns, then 97 capped days.
    let expected = Duration::from_nanos(1 + u64::from(u32::MAX)) + Duration::from_secs(97 * 86_400);
    assert_eq!(lt.looptime(), expected);
    assert_eq!(capped.total_backoff(), expected);
}

#[looptime_tokio::test]
async fn works_through_a_dyn_clock(lt: TestHandle) {
    let clock: &dyn Clock = lt.proxy();
    let mut failures_left = 2;
    let outcome = retry(clock, &policy(2, 5, 3600, 4), |attempt| {
        let fail = failures_left > 0;
        failures_left -= u32::from(fail);
        async move { if fail { Err(()) } else { Ok(attempt) } }
    })
    .await;
    assert_eq!(outcome, Ok(3));
    assert_eq!(lt.looptime(), Duration::from_secs(2 + 10));
}

#[looptime_tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backoff_on_a_multi_thread_runtime(lt: TestHandle) {
    let outcome = retry(lt.proxy(), &policy(1, 2, 3600, 10), |attempt| async move {
        if attempt <= 4 { Err(()) } else { Ok(attempt) }
    })
    .await;
    assert_eq!(outcome, Ok(5));
    assert_eq!(lt.looptime(), Duration::from_secs(15));
    assert!(lt.chronometer().elapsed() < REAL_BOUND);
}

#[test]
fn total_backoff_is_the_sum_of_the_delays() {
    for (first, factor, max, attempts) in
        [(1, 0, 10, 6), (3, 1, 10, 5), (1, 3, 100, 8), (7, 2, 5, 4)]
    {
        let policy = policy(first, factor, max, attempts);
        let sum: Duration = policy.delays().sum();
        assert_eq!(policy.total_backoff(), sum, "{policy:?}");
        assert_eq!(policy.delays().count(), attempts as usize - 1);
        for (n, delay) in (1..).zip(policy.delays()) {
            assert_eq!(policy.delay_after(n), delay, "{policy:?} after {n}");
        }
    }
    // Factor 0: one first delay, then immediate retries.
    let secs: Vec<u64> = policy(1, 0, 10, 4).delays().map(|d| d.as_secs()).collect();
    assert_eq!(secs, [1, 0, 0]);
}

// ---- Seeded jitter ----

/// 1 s, doubling, 50 % jitter from seed 2024, at most 6 attempts.
fn jittered() -> RetryPolicy {
    RetryPolicy {
        jitter: Some(Jitter::new(2024, 50)),
        ..policy(1, 2, 3600, 6)
    }
}

/// The loop times at which the attempts of [`jittered`] start: the base delays 1, 2, 4, 8,
/// 16 s, each shortened by the seed's draws.
const JITTERED_ATTEMPTS: [Duration; 6] = [
    Duration::ZERO,
    Duration::from_micros(819_519),
    Duration::from_micros(2_342_137),
    Duration::from_micros(5_187_011),
    Duration::from_micros(11_808_231),
    Duration::from_micros(26_133_347),
];

/// SplitMix64 and the jitter formula, written out again from their definitions, so that
/// the schedule the library computes is checked against an independent derivation.
fn reference_delays(policy: &RetryPolicy) -> Vec<Duration> {
    let jitter = policy.jitter.expect("a jittered policy");
    let mut state = jitter.seed;
    let mut base = policy.first_delay.min(policy.max_delay);
    let mut delays = Vec::new();
    for _ in 1..policy.attempts() {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        let draw = z ^ (z >> 31);
        let most = base.as_micros() as u64 * u64::from(jitter.percent.min(100)) / 100;
        delays.push(base - micros(draw % (most + 1)));
        base = (base * policy.factor).min(policy.max_delay);
    }
    delays
}

#[test]
fn jittered_delays_follow_the_seed() {
    let seeded = jittered();
    let delays: Vec<Duration> = seeded.delays().collect();
    assert_eq!(delays, reference_delays(&seeded));
    // The attempts start at the running sums of the delays.
    let starts: Vec<Duration> = std::iter::once(Duration::ZERO)
        .chain(delays.iter().scan(Duration::ZERO, |at, d| {
            *at += *d;
            Some(*at)
        }))
        .collect();
    assert_eq!(starts, JITTERED_ATTEMPTS);
    // Every delay lies between half its base delay and the base delay.
    for (n, delay) in (1..).zip(&delays) {
        let base = seeded.delay_after(n);
        assert!(base / 2 <= *delay && *delay <= base, "{delay:?} after {n}");
    }
    assert!(delays.iter().sum::<Duration>() < seeded.total_backoff());

    // Other seeds and spreads, against the reference; different seeds, different delays.
    let mut seen = Vec::new();
    for seed in [0, 1, 7, 42, u64::MAX] {
        for percent in [1, 10, 50, 100] {
            let other = RetryPolicy {
                jitter: Some(Jitter::new(seed, percent)),
                ..policy(3, 3, 600, 8)
            };
            let delays: Vec<Duration> = other.delays().collect();
            assert_eq!(delays, reference_delays(&other), "{other:?}");
            assert!(!seen.contains(&delays), "{other:?} repeats a schedule");
            seen.push(delays);
        }
    }
}

#[test]
fn jitter_of_zero_percent_keeps_the_base_delays_and_percent_is_clamped() {
    let exact = policy(1, 2, 3600, 8);
    let zero = RetryPolicy {
        jitter: Some(Jitter::new(99, 0)),
        ..exact.clone()
    };
    assert!(zero.delays().eq(exact.delays()));
    let full = |percent| RetryPolicy {
        jitter: Some(Jitter::new(99, percent)),
        ..exact.clone()
    };
    assert!(full(100).delays().eq(full(250).delays()));
    assert!(!full(100).delays().eq(exact.delays()));
}

#[looptime_tokio::test]
async fn a_jittered_schedule_lands_on_exact_loop_times(lt: TestHandle) {
    let mut starts = Vec::new();
    let outcome: Result<(), _> = retry(lt.proxy(), &jittered(), |attempt| {
        starts.push(lt.looptime());
        async move { Err(attempt) }
    })
    .await;
    let error = outcome.unwrap_err();
    assert_eq!(error.attempts, 6);
    assert_eq!(error.elapsed, JITTERED_ATTEMPTS[5]);
    assert_eq!(starts, JITTERED_ATTEMPTS);
    // The same policy again, from where the first run ended: the same delays.
    let again: Result<(), _> = retry(lt.proxy(), &jittered(), |_| async { Err(()) }).await;
    assert_eq!(again.unwrap_err().elapsed, JITTERED_ATTEMPTS[5]);
    assert_eq!(lt.looptime(), JITTERED_ATTEMPTS[5] * 2);
}

/// The echo server drops the first four `FLAKY 4` requests for a key and answers the
/// fifth. It runs in a scope of its own next to the test's (over the same runtime, on real
/// time), so its listener waiting for connections is not I/O of the test's scope: the
/// client's backoffs compact at once, and its attempts start at exactly the seeded
/// schedule's loop times.
#[looptime_tokio::test]
async fn retries_a_flaky_tcp_server_on_the_seeded_schedule(lt: TestHandle) {
    let server = Proxy::named(lt.parent(), "flaky server");
    let bind_line = line!() + 1;
    let listener = server.bind_tcp("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let serving = server.spawn(serve(server.clone(), listener));

    let timeout = Duration::from_secs(5);
    let mut starts = Vec::new();
    let dropped = RefCell::new(Vec::new());
    let answer = retry(lt.proxy(), &jittered(), |attempt| {
        starts.push(lt.looptime());
        let (proxy, dropped) = (lt.proxy(), &dropped);
        async move {
            match request(proxy, addr, "FLAKY 4 seeded", timeout).await {
                Ok(text) => Ok((attempt, text)),
                Err(error) => {
                    dropped.borrow_mut().push(error.is_dropped());
                    Err(error)
                }
            }
        }
    })
    .await;
    let (attempt, text) = answer.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((attempt, text.as_str()), (5, "seeded"));
    assert_eq!(
        dropped.take(),
        [true; 4],
        "every failure is a dropped connection"
    );
    assert_eq!(starts, JITTERED_ATTEMPTS[..5]);
    assert_eq!(lt.looptime(), JITTERED_ATTEMPTS[4]);
    assert!(lt.chronometer().elapsed() < REAL_BOUND);

    // The same through the echo client's own retrying call, on a fresh key.
    let from = lt.looptime();
    let policy = jittered();
    let answer = request_with_policy(lt.proxy(), addr, "FLAKY 2 again", timeout, &policy).await;
    assert_eq!(answer.unwrap().attempts, 3);
    assert_eq!(lt.looptime() - from, JITTERED_ATTEMPTS[2]);

    // Out of attempts: the sixth drop is the last error.
    let from = lt.looptime();
    let outcome = request_with_policy(lt.proxy(), addr, "FLAKY 9 never", timeout, &policy).await;
    let error = outcome.unwrap_err();
    assert_eq!(error.attempts, 6);
    assert!(matches!(error.last_error, ClientError::Closed), "{error}");
    assert_eq!(error.elapsed, JITTERED_ATTEMPTS[5]);
    assert_eq!(lt.looptime() - from, JITTERED_ATTEMPTS[5]);

    // The server's scope closes it: its one listener is what it reports (its tasks are
    // closed silently), at the line that bound it.
    let leaks = server
        .check_and_shutdown(CheckKind::SERVERS)
        .await
        .unwrap_err();
    let found: Vec<_> = leaks
        .iter()
        .map(|leak| (leak.kind(), leak.site().file(), leak.site().line()))
        .collect();
    assert_eq!(found, [(CheckKind::SERVERS, file!(), bind_line)], "{leaks}");
    let ended = serving.await;
    assert!(ended.is_err() || ended.is_ok_and(|served| served.is_err()));
}

#[looptime_tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jittered_schedule_on_a_multi_thread_runtime(lt: TestHandle) {
    let mut starts = Vec::new();
    let outcome = retry(lt.proxy(), &jittered(), |attempt| {
        starts.push(lt.looptime());
        async move { if attempt < 4 { Err(()) } else { Ok(attempt) } }
    })
    .await;
    assert_eq!(outcome, Ok(4));
    assert_eq!(starts, JITTERED_ATTEMPTS[..4]);
}
