//! R7: after `check_and_shutdown`, the process's open file descriptors are back to what
//! they were before the scope, on every backend.
//!
//! One test in its own binary, so no other test opens or closes descriptors meanwhile.
//! Each backend first runs one scope to completion, so that descriptors its runtime opens
//! once for good (reactor, signal pipes) are open before the count.

use std::os::unix::net::UnixStream;

use futures_util::io::AsyncWriteExt;
use looptime_api::io::SignalKind;
use looptime_api::{CheckKind, Proxy, Reactor, ReactorExt, Runtime};
use looptime_conformance::Backend;
use looptime_conformance::backends::{
    AsyncStdBackend, FuturesBackend, SmolBackend, TokioCurrentThread, TokioMultiThread,
};

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd is readable")
        .count()
}

/// The count once it has stopped changing: a runtime dropped by the previous backend may
/// still be closing its descriptors on a thread of its own.
fn settled_descriptors() -> usize {
    let mut last = open_descriptors();
    let mut same = 0;
    while same < 5 {
        std::thread::sleep(std::time::Duration::from_millis(20));
        let now = open_descriptors();
        same = if now == last { same + 1 } else { 0 };
        last = now;
    }
    last
}

/// Makes one of each kind of I/O through a fresh proxy, leaves it all open, shuts the
/// proxy down and returns how many leaks it reported, with the handles (still alive, as a
/// careless test's would be).
fn leaky_scope<R: Runtime + Clone + 'static>(runtime: &R) -> (usize, Box<dyn std::any::Any>) {
    let proxy = Proxy::new(runtime);
    let (a, b) = UnixStream::pair().expect("a socket pair");
    a.set_nonblocking(true).expect("non-blocking");
    b.set_nonblocking(true).expect("non-blocking");
    let loopback = "127.0.0.1:0".parse().expect("an address");
    let listener = proxy.bind_tcp(loopback).expect("bind");
    let addr = listener.local_addr().expect("address");
    let (client, accepted) = proxy
        .block_on(async {
            let mut client = proxy.connect_tcp(addr).await?;
            client.write_all(b"hello").await?;
            let (accepted, _) = listener.accept().await?;
            Ok::<_, std::io::Error>((client, accepted))
        })
        .expect("a run")
        .expect("connect and accept");
    let udp = proxy.bind_udp(loopback).expect("bind udp");
    let reader = proxy.watch_readable(a.into()).expect("reader");
    let writer = proxy.watch_writable(b.into()).expect("writer");
    let signals = proxy.signal(SignalKind::user_defined2()).expect("signals");
    let report = proxy
        .block_on(proxy.check_and_shutdown(CheckKind::ALL))
        .expect("a run")
        .expect_err("the open I/O is reported");
    let handles = (listener, client, accepted, udp, reader, writer, signals);
    (report.len(), Box::new(handles))
}

fn check<B: Backend>() {
    let runtime = B::runtime();
    let (leaks, handles) = leaky_scope(&runtime);
    assert_eq!(leaks, 7, "{}: leaks reported (warm-up)", B::NAME);
    drop(handles);
    let before = settled_descriptors();
    for round in 0..3 {
        let (leaks, handles) = leaky_scope(&runtime);
        assert_eq!(leaks, 7, "{}: leaks reported", B::NAME);
        assert_eq!(
            open_descriptors(),
            before,
            "{}: open descriptors after round {round}, handles still alive",
            B::NAME
        );
        drop(handles);
    }
}

#[test]
fn shutdown_gives_back_every_descriptor() {
    check::<TokioCurrentThread>();
    check::<TokioMultiThread>();
    check::<SmolBackend>();
    check::<AsyncStdBackend>();
    check::<FuturesBackend>();
}
