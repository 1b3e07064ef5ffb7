//! [`attribute_tests!`](crate::attribute_tests): the tests of an adapter's `#[test]`
//! attribute, written once.

/// The attribute tests every adapter's `#[test]` runs: `attribute_tests!(looptime_smol)`
/// in a test file of the adapter turns them into `#[test]`s on its runtime (the arguments
/// and the harness are covered in depth by `looptime-tokio`'s `tests/attribute.rs`).
///
/// The file needs `looptime-api` as a dependency.
#[macro_export]
macro_rules! attribute_tests {
    ($krate:ident) => {
        use std::future::pending;
        use std::time::Duration;

        use ::looptime_api::testing::{TestHandle, TimeMode};
        use ::looptime_api::{ClockExt, Proxy, SpawnerExt};

        #[$krate::test]
        async fn a_plain_body_runs() {
            let mut ran = false;
            async { ran = true }.await;
            assert!(ran);
        }

        #[$krate::test]
        async fn the_handle_reads_exact_loop_time(lt: TestHandle) {
            assert_eq!(lt.mode(), TimeMode::Virtual);
            let waited = lt.timeout(Duration::from_secs(900), pending::<()>()).await;
            assert!(waited.unwrap_err().is_deadline());
            assert_eq!(lt.looptime(), Duration::from_secs(900));
            assert!(lt.chronometer().elapsed() < Duration::from_secs(1));
        }

        #[$krate::test]
        async fn the_handle_spawns_and_advances_time(lt: TestHandle) {
            let clock = lt.proxy().clone();
            let worker = lt.spawn(async move {
                clock.sleep(Duration::from_secs(10)).await;
                clock.looptime()
            });
            lt.advance_time(Duration::from_secs(10)).await.unwrap();
            assert_eq!(worker.await.unwrap(), Duration::from_secs(10));
            assert_eq!(lt.looptime(), Duration::from_secs(10));
        }

        #[$krate::test]
        async fn the_body_may_take_the_proxy(proxy: Proxy) {
            proxy.sleep(Duration::from_secs(60)).await;
            assert_eq!(proxy.looptime(), Duration::from_secs(60));
        }

        #[$krate::test(end = "10s")]
        async fn the_end_of_time_is_caught_by_the_body(lt: TestHandle) {
            let waited = lt.timeout(Duration::from_secs(60), pending::<()>()).await;
            assert!(waited.unwrap_err().is_end_of_time());
            assert_eq!(lt.looptime(), Duration::from_secs(10));
        }

        #[$krate::test(end = "10s")]
        #[should_panic(expected = "end of time")]
        async fn an_end_of_time_the_body_does_not_catch_fails_the_test(lt: TestHandle) {
            lt.sleep(Duration::from_secs(20)).await;
            unreachable!("time ends at 10 s");
        }

        #[$krate::test(noop_cycles = 1, resolution = "1ms")]
        async fn settings_are_set(lt: TestHandle) {
            assert_eq!(lt.settings().noop_cycles, 1);
            assert_eq!(lt.settings().resolution, Duration::from_millis(1));
            for _ in 0..100 {
                lt.sleep(Duration::from_micros(999_001)).await;
            }
            assert_eq!(lt.looptime(), Duration::from_secs(100));
        }

        #[$krate::test(leaks = "warn")]
        async fn a_leak_only_warns_when_asked(lt: TestHandle) {
            let _detached = lt.spawn(pending::<()>());
        }

        #[should_panic(expected = "leaked 1 resource")]
        #[$krate::test]
        async fn a_leaked_task_fails_the_test(lt: TestHandle) {
            let _detached = lt.spawn(pending::<()>());
        }

        #[$krate::test(check = "TASKS")]
        #[should_panic(expected = "leaked")]
        async fn a_leak_fails_with_the_attribute_above_should_panic(lt: TestHandle) {
            let _detached = lt.spawn(pending::<()>());
        }

        #[$krate::test]
        async fn the_body_may_return_a_result(lt: TestHandle) -> Result<(), String> {
            let answer: u64 = "42".parse().map_err(|e| format!("{e}"))?;
            lt.sleep(Duration::from_secs(answer)).await;
            if lt.looptime() == Duration::from_secs(42) {
                Ok(())
            } else {
                Err(format!("loop time is {:?}", lt.looptime()))
            }
        }
    };
}
