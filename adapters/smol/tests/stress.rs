//! Stress on one shared `Smol`: eight `block_on`s of it at once, each running the shared
//! executor on its own thread (async-executor allows several runners), so a test's tasks
//! may run on any of the eight threads. See [`looptime_conformance::stress`].

#[test]
fn thousand_scoped_tests_from_eight_threads_on_one_smol() {
    looptime_conformance::stress::run(looptime_smol::Smol::new());
}
