//! The token bucket on virtual time: a burst at loop time zero, then an hour of steady
//! rate, every token taken at an exact loop time, in milliseconds of real time.
//!
//! Each `#[looptime_tokio::test]` or `#[looptime_smol::test]` body runs in a fresh proxy
//! on virtual time over a new runtime; when it returns, anything it left alive fails the
//! test.

use std::sync::Arc;
use std::time::Duration;

use looptime_api::testing::TestHandle;
use looptime_api::{Clock, ClockExt, SpawnerExt};
use looptime_examples::rate_limit::{Exhausted, TokenBucket};

const HOUR: Duration = Duration::from_secs(3600);

/// A loose sanity bound on real time: tests share the cores.
const REAL_BOUND: Duration = Duration::from_secs(20);

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Takes `n` tokens one after another; returns the loop time at which each was taken.
async fn take(bucket: &TokenBucket<impl Clock>, lt: &TestHandle, n: usize) -> Vec<Duration> {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        bucket.acquire().await;
        times.push(lt.looptime());
    }
    times
}

/// Ten calls at once, then one every 6 s (ten a minute) for an hour: 600 more calls, the
/// last at exactly 3600 s.
#[looptime_tokio::test]
async fn a_burst_then_an_hour_at_the_steady_rate(lt: TestHandle) {
    let bucket = TokenBucket::new(lt.proxy(), 10, secs(6)).unwrap();
    assert_eq!(bucket.available(), 10);

    let burst = take(&bucket, &lt, 10).await;
    assert_eq!(burst, [Duration::ZERO; 10]);
    assert_eq!(bucket.available(), 0);
    assert_eq!(
        bucket.try_acquire(),
        Err(Exhausted {
            retry_after: secs(6)
        })
    );

    let steady = take(&bucket, &lt, 600).await;
    let expected: Vec<Duration> = (1..=600).map(|k| secs(6 * k)).collect();
    assert_eq!(steady, expected);
    assert_eq!(lt.looptime(), HOUR);
    assert!(lt.chronometer().elapsed() < REAL_BOUND);
}

/// The same on smol: the bucket only needs a clock.
#[looptime_smol::test]
async fn a_burst_then_an_hour_on_smol(lt: TestHandle) {
    let bucket = TokenBucket::new(lt.proxy(), 10, secs(6)).unwrap();
    assert_eq!(take(&bucket, &lt, 10).await, [Duration::ZERO; 10]);
    let steady = take(&bucket, &lt, 600).await;
    let expected: Vec<Duration> = (1..=600).map(|k| secs(6 * k)).collect();
    assert_eq!(steady, expected);
    assert_eq!(lt.looptime(), HOUR);
    assert!(lt.chronometer().elapsed() < REAL_BOUND);
}

/// Sub-second refills: 5 a second (one every 200 ms), bursts of 20, for an hour: exactly
/// 18 000 tokens after the burst, the last at 3600 s.
#[looptime_tokio::test]
async fn eighteen_thousand_tokens_in_an_hour(lt: TestHandle) {
    let bucket = TokenBucket::new(lt.proxy(), 20, Duration::from_millis(200)).unwrap();
    assert_eq!(take(&bucket, &lt, 20).await, [Duration::ZERO; 20]);
    let steady = take(&bucket, &lt, 18_000).await;
    for (k, at) in (1u32..).zip(&steady) {
        assert_eq!(*at, Duration::from_millis(200) * k, "token {k}");
    }
    assert_eq!(lt.looptime(), HOUR);
    assert!(bucket.try_acquire().is_err());
    assert!(lt.chronometer().elapsed() < REAL_BOUND);
}

/// An idle bucket refills one token per period, up to its capacity and no further; a
/// partial period already waited counts towards the next token.
#[looptime_tokio::test]
async fn idle_time_refills_up_to_the_capacity(lt: TestHandle) {
    let bucket = TokenBucket::new(lt.proxy(), 3, secs(10)).unwrap();
    assert_eq!(take(&bucket, &lt, 3).await, [Duration::ZERO; 3]);

    // 25 s idle: two tokens (at 10 s and 20 s), and 5 s towards the third.
    lt.sleep(secs(25)).await;
    assert_eq!(bucket.available(), 2);
    assert_eq!(take(&bucket, &lt, 2).await, [secs(25); 2]);
    assert_eq!(
        bucket.try_acquire(),
        Err(Exhausted {
            retry_after: secs(5)
        })
    );
    assert_eq!(take(&bucket, &lt, 1).await, [secs(30)]);

    // An hour idle: full, but never more than full.
    lt.sleep(HOUR).await;
    assert_eq!(bucket.available(), 3);
    let start = lt.looptime();
    let times = take(&bucket, &lt, 5).await;
    assert_eq!(
        times,
        [start, start, start, start + secs(10), start + secs(20)]
    );
}

/// `try_acquire` never waits, and says exactly how long until the next token.
#[looptime_tokio::test]
async fn try_acquire_reports_the_wait(lt: TestHandle) {
    let bucket = TokenBucket::new(lt.proxy(), 2, secs(60)).unwrap();
    assert_eq!(bucket.try_acquire(), Ok(()));
    assert_eq!(bucket.try_acquire(), Ok(()));
    let empty = bucket.try_acquire().unwrap_err();
    assert_eq!(empty.retry_after, secs(60));
    assert_eq!(
        empty.to_string(),
        "rate limited: the next token comes in 60s"
    );
    lt.sleep(secs(45)).await;
    assert_eq!(bucket.try_acquire().unwrap_err().retry_after, secs(15));
    lt.sleep(secs(15)).await;
    assert_eq!(bucket.try_acquire(), Ok(()));
    assert_eq!(lt.looptime(), secs(60));
}

/// A waiting `acquire` cut off by a timeout takes nothing: the token it waited for is
/// still there for the next caller.
#[looptime_tokio::test]
async fn a_cancelled_acquire_takes_nothing(lt: TestHandle) {
    let bucket = TokenBucket::new(lt.proxy(), 1, secs(30)).unwrap();
    bucket.acquire().await;
    let waited = lt.timeout(secs(20), bucket.acquire()).await;
    assert!(waited.unwrap_err().is_deadline());
    assert_eq!(lt.looptime(), secs(20));
    lt.sleep(secs(10)).await;
    assert_eq!(bucket.available(), 1);
    assert_eq!(bucket.try_acquire(), Ok(()));
    assert_eq!(lt.looptime(), secs(30));
}

/// Three workers share one bucket (bursts of 5, one token a second) and each makes 100
/// calls: the 300 calls go through at exactly the bucket's schedule — five at 0, then one
/// a second — whoever makes them, and the last worker finishes at 295 s.
#[looptime_tokio::test]
async fn workers_sharing_a_bucket_get_its_schedule(lt: TestHandle) {
    let bucket = Arc::new(TokenBucket::new(lt.proxy().clone(), 5, secs(1)).unwrap());
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let bucket = bucket.clone();
            lt.spawn(async move {
                let mut times = Vec::new();
                for _ in 0..100 {
                    bucket.acquire().await;
                    times.push(bucket.clock().looptime());
                }
                times
            })
        })
        .collect();
    let mut all = Vec::new();
    for worker in workers {
        let times = worker.await.unwrap();
        assert_eq!(times.len(), 100);
        all.extend(times);
    }
    all.sort();
    let expected: Vec<Duration> = std::iter::repeat_n(Duration::ZERO, 5)
        .chain((1..=295).map(secs))
        .collect();
    assert_eq!(all, expected);
    assert_eq!(lt.looptime(), secs(295));
}

/// Through a `dyn Clock` and on a multi-thread runtime: the same exact schedule.
#[looptime_tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn works_through_a_dyn_clock_on_a_multi_thread_runtime(lt: TestHandle) {
    let clock: Arc<dyn Clock> = Arc::new(lt.proxy().clone());
    let bucket = TokenBucket::new(clock, 4, Duration::from_millis(1500)).unwrap();
    let times = take(&bucket, &lt, 10).await;
    let millis: Vec<u128> = times.iter().map(Duration::as_millis).collect();
    assert_eq!(millis, [0, 0, 0, 0, 1500, 3000, 4500, 6000, 7500, 9000]);
}

#[test]
fn empty_buckets_and_unlimited_rates_are_refused() {
    let runtime = looptime_tokio::Tokio::current_thread().unwrap();
    assert!(TokenBucket::new(&runtime, 0, secs(1)).is_none());
    assert!(TokenBucket::new(&runtime, 1, Duration::ZERO).is_none());
    let bucket = TokenBucket::new(&runtime, u32::MAX, Duration::from_nanos(1)).unwrap();
    assert_eq!(bucket.capacity(), u32::MAX);
    assert_eq!(bucket.refill(), Duration::from_nanos(1));
    assert_eq!(bucket.available(), u32::MAX);
}
