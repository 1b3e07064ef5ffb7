//! The retrying caller on virtual time: every backoff schedule is checked by the exact
//! loop time it produces.

use std::time::{Duration, Instant as RealInstant};

use looptime_api::{Clock, ClockExt, Settings};
use looptime_examples::retry::{RetryError, RetryPolicy, retry};

mod support;
use support::{assert_loose_real_bound, run_clean, virtual_proxy, virtual_proxy_multi_thread};

fn policy(first_secs: u64, factor: u32, max_secs: u64, max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        first_delay: Duration::from_secs(first_secs),
        factor,
        max_delay: Duration::from_secs(max_secs),
        max_attempts,
    }
}

#[test]
fn succeeds_on_the_fifth_attempt_after_fifteen_seconds() {
    let real = RealInstant::now();
    let (proxy, _on) = virtual_proxy(Settings::new());
    run_clean(&proxy, async {
        let mut calls = Vec::new();
        let outcome = retry(&proxy, &policy(1, 2, 3600, 10), |attempt| {
            calls.push((attempt, proxy.looptime().as_secs()));
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
        assert_eq!(proxy.looptime(), Duration::from_secs(1 + 2 + 4 + 8));
        assert_eq!(calls, [(1, 0), (2, 1), (3, 3), (4, 7), (5, 15)]);
    });
    assert_loose_real_bound(real);
}

#[test]
fn gives_up_after_max_attempts_without_a_final_sleep() {
    let (proxy, _on) = virtual_proxy(Settings::new());
    run_clean(&proxy, async {
        let mut calls = 0;
        let outcome: Result<(), _> = retry(&proxy, &policy(1, 2, 3600, 3), |attempt| {
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
        assert_eq!(proxy.looptime(), Duration::from_secs(1 + 2));
    });
}

#[test]
fn max_delay_caps_the_backoff() {
    let (proxy, _on) = virtual_proxy(Settings::new());
    let policy = policy(1, 2, 5, 6);
    assert_eq!(policy.total_backoff(), Duration::from_secs(17));
    run_clean(&proxy, async {
        let outcome: Result<(), _> = retry(&proxy, &policy, |_| async { Err(()) }).await;
        assert_eq!(outcome.unwrap_err().attempts, 6);
        // Delays 1, 2, 4, then 8 and 16 capped at 5.
        assert_eq!(proxy.looptime(), Duration::from_secs(1 + 2 + 4 + 5 + 5));
    });
}

#[test]
fn time_spent_inside_attempts_adds_to_the_backoff() {
    let (proxy, _on) = virtual_proxy(Settings::new());
    run_clean(&proxy, async {
        // Each attempt takes 250 ms of clock time and fails; three attempts.
        let outcome: Result<(), _> = retry(&proxy, &policy(1, 3, 60, 3), |_| async {
            proxy.sleep(Duration::from_millis(250)).await;
            Err("slow failure")
        })
        .await;
        let error = outcome.unwrap_err();
        // 3 × 250 ms of attempts + 1 s + 3 s of backoff.
        assert_eq!(error.elapsed, Duration::from_millis(3 * 250 + 1000 + 3000));
        assert_eq!(proxy.looptime(), Duration::from_millis(4750));
    });
}

#[test]
fn bounded_attempts_under_a_per_attempt_timeout() {
    let (proxy, _on) = virtual_proxy(Settings::new());
    run_clean(&proxy, async {
        // The first two attempts hang and are cut off after 10 s each.
        let outcome = retry(&proxy, &policy(1, 2, 60, 5), |attempt| {
            proxy.timeout(Duration::from_secs(10), async move {
                if attempt <= 2 {
                    std::future::pending::<()>().await;
                }
                attempt
            })
        })
        .await;
        assert_eq!(outcome, Ok(3));
        assert_eq!(proxy.looptime(), Duration::from_secs(10 + 1 + 10 + 2));
    });
}

#[test]
fn huge_policies_saturate_instead_of_overflowing() {
    let extreme = RetryPolicy {
        first_delay: Duration::MAX,
        factor: u32::MAX,
        max_delay: Duration::MAX,
        max_attempts: u32::MAX,
    };
    assert_eq!(extreme.delay_after(1), Duration::MAX);
    assert_eq!(extreme.delay_after(u32::MAX), Duration::MAX);
    assert_eq!(extreme.total_backoff(), Duration::MAX);

    let zero = RetryPolicy {
        max_attempts: 0,
        ..RetryPolicy::default()
    };
    assert_eq!(zero.attempts(), 1);
    assert_eq!(zero.delays().count(), 0);

    // A 1 ns first delay multiplied by u32::MAX quickly reaches the one-day cap.
    let capped = RetryPolicy {
        first_delay: Duration::from_nanos(1),
        factor: u32::MAX,
        max_delay: Duration::from_secs(86_400),
        max_attempts: 100,
    };
    assert_eq!(
        capped.delay_after(2),
        Duration::from_nanos(u64::from(u32::MAX))
    );
    assert_eq!(capped.delay_after(3), Duration::from_secs(86_400));

    // Nanosecond delays: a 1 ns resolution keeps them exact (the default 1 µs would
    // round each deadline up to the next microsecond).
    let settings = Settings::new().resolution(Duration::from_nanos(1));
    let (proxy, _on) = virtual_proxy(settings);
    run_clean(&proxy, async {
        let outcome: Result<(), _> = retry(&proxy, &capped, |_| async { Err(()) }).await;
        assert_eq!(outcome.unwrap_err().attempts, 100);
        // 99 sleeps: 1 ns, u32::MAX ns, then 97 capped days.
        let expected =
            Duration::from_nanos(1 + u64::from(u32::MAX)) + Duration::from_secs(97 * 86_400);
        assert_eq!(proxy.looptime(), expected);
        assert_eq!(capped.total_backoff(), expected);
    });
}

#[test]
fn works_through_a_dyn_clock() {
    let (proxy, _on) = virtual_proxy(Settings::new());
    let clock: &dyn Clock = &proxy;
    run_clean(&proxy, async {
        let mut failures_left = 2;
        let outcome = retry(clock, &policy(2, 5, 3600, 4), |attempt| {
            let fail = failures_left > 0;
            failures_left -= u32::from(fail);
            async move { if fail { Err(()) } else { Ok(attempt) } }
        })
        .await;
        assert_eq!(outcome, Ok(3));
        assert_eq!(proxy.looptime(), Duration::from_secs(2 + 10));
    });
}

#[test]
fn backoff_on_a_multi_thread_runtime() {
    let real = RealInstant::now();
    let (proxy, _on) = virtual_proxy_multi_thread(Settings::new());
    run_clean(&proxy, async {
        let outcome = retry(&proxy, &policy(1, 2, 3600, 10), |attempt| async move {
            if attempt <= 4 { Err(()) } else { Ok(attempt) }
        })
        .await;
        assert_eq!(outcome, Ok(5));
        assert_eq!(proxy.looptime(), Duration::from_secs(15));
    });
    assert_loose_real_bound(real);
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
