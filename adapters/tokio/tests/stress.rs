//! Stress on one shared tokio multi-thread runtime (2 workers): see
//! [`looptime_conformance::stress`].

#[test]
fn thousand_scoped_tests_from_eight_threads_on_one_multi_thread_runtime() {
    looptime_conformance::stress::run(looptime_tokio::Tokio::multi_thread_with_workers(2).unwrap());
}
