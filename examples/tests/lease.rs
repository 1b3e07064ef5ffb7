//! The lease renewer on virtual time: a day of renewals in milliseconds, and failures
//! reported at exact loop times.
//!
//! Each `#[looptime_tokio::test]` (or `#[looptime_smol::test]`) body runs in a fresh proxy
//! on virtual time over a new runtime; when it returns, anything it left alive fails the
//! test.

use std::cell::RefCell;
use std::time::Duration;

use looptime_api::ClockExt;
use looptime_api::testing::TestHandle;
use looptime_examples::lease::{LeaseFailure, LeaseRenewer};

/// A loose sanity bound on real time: tests share the cores.
const REAL_BOUND: Duration = Duration::from_secs(20);

const DAY: Duration = Duration::from_secs(24 * 3600);

fn secs(times: &[Duration]) -> Vec<u64> {
    times.iter().map(Duration::as_secs).collect()
}

#[looptime_tokio::test]
async fn renews_a_thirty_second_lease_for_a_day(lt: TestHandle) {
    let renewer = LeaseRenewer::new(Duration::from_secs(30)).unwrap();
    assert_eq!(renewer.period(), Duration::from_secs(10));
    let mut calls = 0u32;
    let renewals = renewer
        .run(lt.proxy(), DAY, || {
            calls += 1;
            async { Ok::<(), String>(()) }
        })
        .await
        .unwrap();
    // Ticks at 0, 10 s, …, 86 400 s inclusive: the first one at once.
    assert_eq!(renewals.len(), 24 * 3600 / 10 + 1);
    assert_eq!(renewals.len(), 8641);
    assert_eq!(calls, 8641);
    let expected: Vec<Duration> = (0..=8640).map(|k| Duration::from_secs(10 * k)).collect();
    assert_eq!(renewals, expected);
    assert_eq!(lt.looptime(), DAY);
    assert!(lt.chronometer().elapsed() < REAL_BOUND);
}

#[looptime_tokio::test]
async fn a_hanging_renewal_times_out_after_one_period(lt: TestHandle) {
    let renewer = LeaseRenewer::new(Duration::from_secs(30)).unwrap();
    let mut calls = 0;
    let error = renewer
        .run(lt.proxy(), DAY, || {
            calls += 1;
            let hang = calls == 4;
            async move {
                if hang {
                    std::future::pending::<()>().await;
                }
                Ok::<(), String>(())
            }
        })
        .await
        .unwrap_err();
    // Renewed at 0, 10, 20; the renewal started at 30 s is given up at 40 s.
    assert_eq!(secs(&error.renewals), [0, 10, 20]);
    assert_eq!(error.at, Duration::from_secs(40));
    assert!(
        matches!(&error.cause, LeaseFailure::Unanswered(e) if e.is_deadline()),
        "{error:?}"
    );
    assert_eq!(lt.looptime(), Duration::from_secs(40));
    // Reported while the lease (renewed at 20 s, valid 30 s) still holds.
    let last = *error.renewals.last().unwrap();
    assert_eq!(last + renewer.lease() - error.at, renewer.period());
}

#[looptime_tokio::test]
async fn a_rejected_renewal_stops_at_once(lt: TestHandle) {
    let renewer = LeaseRenewer::new(Duration::from_secs(30)).unwrap();
    let mut calls = 0;
    let error = renewer
        .run(lt.proxy(), DAY, || {
            calls += 1;
            let reply = if calls == 3 {
                Err("lease taken over")
            } else {
                Ok(())
            };
            let clock = lt.proxy();
            async move {
                clock.sleep(Duration::from_secs(1)).await;
                reply
            }
        })
        .await
        .unwrap_err();
    assert_eq!(secs(&error.renewals), [1, 11]);
    assert_eq!(error.cause, LeaseFailure::Rejected("lease taken over"));
    assert_eq!(error.at, Duration::from_secs(21));
    assert_eq!(lt.looptime(), Duration::from_secs(21));
    assert_eq!(
        error.to_string(),
        "lease renewal stopped at 21s after 2 renewal(s): renewal rejected: lease taken over"
    );
}

#[looptime_tokio::test]
async fn slow_renewals_do_not_make_the_schedule_drift(lt: TestHandle) {
    let renewer = LeaseRenewer::new(Duration::from_secs(30)).unwrap();
    // Each renewal takes 7 s of the 10 s period.
    let renewals = renewer
        .run(lt.proxy(), Duration::from_secs(55), || async {
            lt.sleep(Duration::from_secs(7)).await;
            Ok::<(), ()>(())
        })
        .await
        .unwrap();
    assert_eq!(secs(&renewals), [7, 17, 27, 37, 47, 57]);
    // The renewal started at 50 s finishes at 57 s, past `until` (55 s).
    assert_eq!(lt.looptime(), Duration::from_secs(57));
}

#[looptime_tokio::test]
async fn returns_exactly_at_until_between_ticks(lt: TestHandle) {
    let renewer = LeaseRenewer::new(Duration::from_secs(30)).unwrap();
    let renewals = renewer
        .run(lt.proxy(), Duration::from_secs(25), || async {
            Ok::<(), ()>(())
        })
        .await
        .unwrap();
    assert_eq!(secs(&renewals), [0, 10, 20]);
    assert_eq!(lt.looptime(), Duration::from_secs(25));
}

#[looptime_tokio::test(end = "100s")]
async fn the_end_of_time_stops_an_endless_renewer(lt: TestHandle) {
    let renewer = LeaseRenewer::new(Duration::from_secs(30)).unwrap();
    let error = renewer
        .run(lt.proxy(), Duration::MAX, || async { Ok::<(), ()>(()) })
        .await
        .unwrap_err();
    // Ticks at 0..=90 s renew; the tick at 100 s is the end of time (inclusive).
    assert_eq!(
        secs(&error.renewals),
        [0, 10, 20, 30, 40, 50, 60, 70, 80, 90]
    );
    assert!(
        matches!(&error.cause, LeaseFailure::Stopped(e) if e.is_end_of_time()),
        "{error:?}"
    );
    assert_eq!(error.at, Duration::from_secs(100));
    assert_eq!(lt.looptime(), Duration::from_secs(100));
}

#[looptime_tokio::test(start = "1000s")]
async fn starts_from_the_current_loop_time(lt: TestHandle) {
    let renewer = LeaseRenewer::new(Duration::from_millis(1500)).unwrap();
    assert_eq!(renewer.period(), Duration::from_millis(500));
    let renewals = renewer
        .run(lt.proxy(), Duration::from_secs(2), || async {
            Ok::<(), ()>(())
        })
        .await
        .unwrap();
    let millis: Vec<u128> = renewals.iter().map(Duration::as_millis).collect();
    assert_eq!(millis, [0, 500, 1000, 1500, 2000]);
    assert_eq!(lt.looptime(), Duration::from_secs(1002));
}

#[test]
fn too_short_leases_are_refused() {
    assert_eq!(LeaseRenewer::new(Duration::ZERO), None);
    assert_eq!(LeaseRenewer::new(Duration::from_nanos(2)), None);
    let shortest = LeaseRenewer::new(Duration::from_nanos(3)).unwrap();
    assert_eq!(shortest.period(), Duration::from_nanos(1));
}

#[looptime_tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renews_for_an_hour_on_a_multi_thread_runtime(lt: TestHandle) {
    let renewer = LeaseRenewer::new(Duration::from_secs(30)).unwrap();
    let renewals = renewer
        .run(lt.proxy(), Duration::from_secs(3600), || async {
            Ok::<(), ()>(())
        })
        .await
        .unwrap();
    assert_eq!(renewals.len(), 361);
    assert_eq!(renewals.last(), Some(&Duration::from_secs(3600)));
    assert_eq!(lt.looptime(), Duration::from_secs(3600));
    assert!(lt.chronometer().elapsed() < REAL_BOUND);
}

/// A lease store that refuses renewals of an expired lease, as a lock service would.
struct LeaseStore {
    lease: Duration,
    /// When the lease expires, as loop time; `None` before the first renewal.
    expires_at: Option<Duration>,
    /// The shortest margin seen between a renewal and the expiry it extended.
    tightest: Duration,
}

impl LeaseStore {
    fn new(lease: Duration) -> RefCell<Self> {
        RefCell::new(LeaseStore {
            lease,
            expires_at: None,
            tightest: Duration::MAX,
        })
    }

    /// A renewal arriving at loop time `now`.
    fn renew(&mut self, now: Duration) -> Result<(), String> {
        if let Some(expires_at) = self.expires_at {
            if now >= expires_at {
                return Err(format!(
                    "the lease expired at {expires_at:?}, renewed at {now:?}"
                ));
            }
            self.tightest = self.tightest.min(expires_at - now);
        }
        self.expires_at = Some(now + self.lease);
        Ok(())
    }
}

/// A day of renewals whose requests take 0 to 8 s of network delay each: every renewal
/// reaches the store before the lease expires, at exactly the loop time the schedule
/// says, and the schedule does not drift.
#[looptime_tokio::test]
async fn renews_before_expiry_for_a_day_despite_network_delays(lt: TestHandle) {
    let renewer = LeaseRenewer::new(Duration::from_secs(30)).unwrap();
    let store = LeaseStore::new(renewer.lease());
    let mut sent = 0u64;
    let renewals = renewer
        .run(lt.proxy(), DAY, || {
            // 0, 8, 7, 6, …, 1, 0, 8, … seconds.
            let delay = Duration::from_secs(sent * 8 % 9);
            sent += 1;
            let (lt, store) = (&lt, &store);
            async move {
                lt.sleep(delay).await;
                store.borrow_mut().renew(lt.looptime())
            }
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sent, 8641);
    let expected: Vec<Duration> = (0..=8640u64)
        .map(|k| Duration::from_secs(10 * k + k * 8 % 9))
        .collect();
    assert_eq!(renewals, expected);
    // The tightest call: a renewal delayed 8 s right after one delayed 0 s — renewed at
    // 10 k, then at 10 k + 18: 12 s before the expiry at 10 k + 30.
    let store = store.into_inner();
    assert_eq!(store.tightest, Duration::from_secs(12));
    assert_eq!(store.expires_at, Some(DAY + Duration::from_secs(30)));
    assert_eq!(lt.looptime(), DAY);
    assert!(lt.chronometer().elapsed() < REAL_BOUND);
}

/// The store's check can fail: renewals every 10 s of a lease that lasts only 10 s reach
/// it exactly at expiry, and it refuses the second one.
#[looptime_tokio::test]
async fn a_store_refuses_a_renewal_at_expiry(lt: TestHandle) {
    let renewer = LeaseRenewer::new(Duration::from_secs(30)).unwrap();
    let store = LeaseStore::new(Duration::from_secs(10));
    let error = renewer
        .run(lt.proxy(), DAY, || {
            let (lt, store) = (&lt, &store);
            async move { store.borrow_mut().renew(lt.looptime()) }
        })
        .await
        .unwrap_err();
    assert_eq!(secs(&error.renewals), [0]);
    assert_eq!(
        error.cause,
        LeaseFailure::Rejected("the lease expired at 10s, renewed at 10s".to_owned())
    );
    assert_eq!(lt.looptime(), Duration::from_secs(10));
}

/// The same day of renewals on smol: the renewer is generic over the clock, and the
/// schedule is the same to the nanosecond.
#[looptime_smol::test]
async fn renews_for_a_day_on_smol(lt: TestHandle) {
    let renewer = LeaseRenewer::new(Duration::from_secs(30)).unwrap();
    let store = LeaseStore::new(renewer.lease());
    let renewals = renewer
        .run(lt.proxy(), DAY, || {
            let (lt, store) = (&lt, &store);
            async move { store.borrow_mut().renew(lt.looptime()) }
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let expected: Vec<Duration> = (0..=8640).map(|k| Duration::from_secs(10 * k)).collect();
    assert_eq!(renewals, expected);
    assert_eq!(store.into_inner().tightest, Duration::from_secs(20));
    assert_eq!(lt.looptime(), DAY);
    assert!(lt.chronometer().elapsed() < REAL_BOUND);
}
