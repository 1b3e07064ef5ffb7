//! The lease renewer on virtual time: a day of renewals in milliseconds, and failures
//! reported at exact loop times.

use std::time::{Duration, Instant as RealInstant};

use looptime_api::{ClockExt, Settings};
use looptime_examples::lease::{LeaseFailure, LeaseRenewer};

mod support;
use support::{assert_loose_real_bound, run_clean, virtual_proxy, virtual_proxy_multi_thread};

const DAY: Duration = Duration::from_secs(24 * 3600);

fn secs(times: &[Duration]) -> Vec<u64> {
    times.iter().map(Duration::as_secs).collect()
}

#[test]
fn renews_a_thirty_second_lease_for_a_day() {
    let real = RealInstant::now();
    let (proxy, _on) = virtual_proxy(Settings::new());
    let renewer = LeaseRenewer::new(Duration::from_secs(30)).unwrap();
    assert_eq!(renewer.period(), Duration::from_secs(10));
    run_clean(&proxy, async {
        let mut calls = 0u32;
        let renewals = renewer
            .run(&proxy, DAY, || {
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
        assert_eq!(proxy.looptime(), DAY);
    });
    assert_loose_real_bound(real);
}

#[test]
fn a_hanging_renewal_times_out_after_one_period() {
    let (proxy, _on) = virtual_proxy(Settings::new());
    let renewer = LeaseRenewer::new(Duration::from_secs(30)).unwrap();
    run_clean(&proxy, async {
        let mut calls = 0;
        let error = renewer
            .run(&proxy, DAY, || {
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
        assert_eq!(proxy.looptime(), Duration::from_secs(40));
        // Reported while the lease (renewed at 20 s, valid 30 s) still holds.
        let last = *error.renewals.last().unwrap();
        assert_eq!(last + renewer.lease() - error.at, renewer.period());
    });
}

#[test]
fn a_rejected_renewal_stops_at_once() {
    let (proxy, _on) = virtual_proxy(Settings::new());
    let renewer = LeaseRenewer::new(Duration::from_secs(30)).unwrap();
    run_clean(&proxy, async {
        let mut calls = 0;
        let error = renewer
            .run(&proxy, DAY, || {
                calls += 1;
                let reply = if calls == 3 {
                    Err("lease taken over")
                } else {
                    Ok(())
                };
                let clock = &proxy;
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
        assert_eq!(proxy.looptime(), Duration::from_secs(21));
        assert_eq!(
            error.to_string(),
            "lease renewal stopped at 21s after 2 renewal(s): renewal rejected: lease taken over"
        );
    });
}

#[test]
fn slow_renewals_do_not_make_the_schedule_drift() {
    let (proxy, _on) = virtual_proxy(Settings::new());
    let renewer = LeaseRenewer::new(Duration::from_secs(30)).unwrap();
    run_clean(&proxy, async {
        // Each renewal takes 7 s of the 10 s period.
        let renewals = renewer
            .run(&proxy, Duration::from_secs(55), || async {
                proxy.sleep(Duration::from_secs(7)).await;
                Ok::<(), ()>(())
            })
            .await
            .unwrap();
        assert_eq!(secs(&renewals), [7, 17, 27, 37, 47, 57]);
        // The renewal started at 50 s finishes at 57 s, past `until` (55 s).
        assert_eq!(proxy.looptime(), Duration::from_secs(57));
    });
}

#[test]
fn returns_exactly_at_until_between_ticks() {
    let (proxy, _on) = virtual_proxy(Settings::new());
    let renewer = LeaseRenewer::new(Duration::from_secs(30)).unwrap();
    run_clean(&proxy, async {
        let renewals = renewer
            .run(&proxy, Duration::from_secs(25), || async {
                Ok::<(), ()>(())
            })
            .await
            .unwrap();
        assert_eq!(secs(&renewals), [0, 10, 20]);
        assert_eq!(proxy.looptime(), Duration::from_secs(25));
    });
}

#[test]
fn the_end_of_time_stops_an_endless_renewer() {
    let (proxy, _on) = virtual_proxy(Settings::new().end(Duration::from_secs(100)));
    let renewer = LeaseRenewer::new(Duration::from_secs(30)).unwrap();
    run_clean(&proxy, async {
        let error = renewer
            .run(&proxy, Duration::MAX, || async { Ok::<(), ()>(()) })
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
        assert_eq!(proxy.looptime(), Duration::from_secs(100));
    });
}

#[test]
fn starts_from_the_current_loop_time() {
    let (proxy, _on) = virtual_proxy(Settings::new().start(Duration::from_secs(1000)));
    let renewer = LeaseRenewer::new(Duration::from_millis(1500)).unwrap();
    assert_eq!(renewer.period(), Duration::from_millis(500));
    run_clean(&proxy, async {
        let renewals = renewer
            .run(&proxy, Duration::from_secs(2), || async {
                Ok::<(), ()>(())
            })
            .await
            .unwrap();
        let millis: Vec<u128> = renewals.iter().map(Duration::as_millis).collect();
        assert_eq!(millis, [0, 500, 1000, 1500, 2000]);
        assert_eq!(proxy.looptime(), Duration::from_secs(1002));
    });
}

#[test]
fn too_short_leases_are_refused() {
    assert_eq!(LeaseRenewer::new(Duration::ZERO), None);
    assert_eq!(LeaseRenewer::new(Duration::from_nanos(2)), None);
    let shortest = LeaseRenewer::new(Duration::from_nanos(3)).unwrap();
    assert_eq!(shortest.period(), Duration::from_nanos(1));
}

#[test]
fn renews_for_an_hour_on_a_multi_thread_runtime() {
    let real = RealInstant::now();
    let (proxy, _on) = virtual_proxy_multi_thread(Settings::new());
    let renewer = LeaseRenewer::new(Duration::from_secs(30)).unwrap();
    run_clean(&proxy, async {
        let renewals = renewer
            .run(&proxy, Duration::from_secs(3600), || async {
                Ok::<(), ()>(())
            })
            .await
            .unwrap();
        assert_eq!(renewals.len(), 361);
        assert_eq!(renewals.last(), Some(&Duration::from_secs(3600)));
        assert_eq!(proxy.looptime(), Duration::from_secs(3600));
    });
    assert_loose_real_bound(real);
}
