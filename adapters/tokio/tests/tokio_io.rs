//! I/O made by the tokio adapter, over real sockets, descriptors and signals: directly on
//! both flavours, and through a `Proxy` over each.
//!
//! Signals are raised in-process with `libc::kill` (an `unsafe` call with no memory-safety
//! precondition), each flavour with its own signal so that concurrent tests cannot satisfy
//! each other's wait.

#![cfg(unix)]

use std::future::Future;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::os::unix::net::UnixStream;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use looptime_api::io::{Interest, SignalKind};
use looptime_api::{Proxy, Reactor, ReactorExt};
use looptime_tokio::Tokio;

/// How long any single wait may take before the test fails instead of hanging.
const PATIENCE: Duration = Duration::from_secs(10);

/// How long a helper thread waits before acting, so that the watcher waits first.
const LATER: Duration = Duration::from_millis(50);

fn current_thread() -> Tokio {
    Tokio::current_thread().expect("a current-thread runtime builds")
}

fn multi_thread() -> Tokio {
    Tokio::multi_thread_with_workers(2).expect("a multi-thread runtime builds")
}

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// `future`, failing the test after [`PATIENCE`] (tokio's timer, in real time).
async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(PATIENCE, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what}: nothing after {PATIENCE:?}"),
    }
}

// ---- scenarios, for any reactor ----

/// Connect, accept, and one message each way; then closing the client's write half ends
/// the server's reads.
fn tcp_echo(reactor: &impl Reactor) {
    reactor
        .block_on(within("TCP echo", async {
            let listener = reactor.bind_tcp(loopback()).unwrap();
            let addr = listener.local_addr().unwrap();
            assert!(addr.ip().is_loopback());
            assert_ne!(addr.port(), 0, "the OS chose a port");

            let mut client = reactor.connect_tcp(addr).await.unwrap();
            let (mut server, peer) = listener.accept().await.unwrap();
            assert_eq!(client.peer_addr().unwrap(), addr);
            assert_eq!(server.local_addr().unwrap(), addr);
            assert_eq!(peer, client.local_addr().unwrap());
            assert_eq!(server.peer_addr().unwrap(), peer);

            client.write_all(b"ping").await.unwrap();
            let mut buf = [0; 4];
            server.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"ping");

            server.write_all(b"pong").await.unwrap();
            client.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"pong");

            client.close().await.unwrap();
            let mut rest = Vec::new();
            assert_eq!(server.read_to_end(&mut rest).await.unwrap(), 0);
        }))
        .unwrap();
}

/// Connecting where nobody listens fails with the OS's error.
fn tcp_connect_refused(reactor: &impl Reactor) {
    let addr = reactor.bind_tcp(loopback()).unwrap().local_addr().unwrap();
    let outcome = reactor
        .block_on(within("refused connect", reactor.connect_tcp(addr)))
        .unwrap();
    assert_eq!(
        outcome.unwrap_err().kind(),
        io::ErrorKind::ConnectionRefused
    );
}

/// A datagram each way between two sockets; the sender's address comes with it.
fn udp_roundtrip(reactor: &impl Reactor) {
    reactor
        .block_on(within("UDP roundtrip", async {
            let a = reactor.bind_udp(loopback()).unwrap();
            let b = reactor.bind_udp(loopback()).unwrap();
            let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
            assert_ne!(a_addr, b_addr);

            assert_eq!(a.send_to(b"hello", b_addr).await.unwrap(), 5);
            let mut buf = [0; 16];
            let (n, from) = b.recv_from(&mut buf).await.unwrap();
            assert_eq!((&buf[..n], from), (&b"hello"[..], a_addr));

            assert_eq!(b.send_to(b"back", from).await.unwrap(), 4);
            let (n, from) = a.recv_from(&mut buf).await.unwrap();
            assert_eq!((&buf[..n], from), (&b"back"[..], b_addr));
        }))
        .unwrap();
}

/// A reader waits for data written later; an operation that reports `WouldBlock` waits
/// for the next readiness and runs again.
fn fd_reader(reactor: &impl Reactor) {
    let (ours, mut theirs) = UnixStream::pair().unwrap();
    ours.set_nonblocking(true).unwrap();
    let reader = reactor
        .watch_readable(ours.try_clone().unwrap().into())
        .unwrap();
    assert_eq!(reader.interest(), Interest::Readable);

    let peer = thread::spawn(move || {
        for byte in [b"a", b"b"] {
            thread::sleep(LATER);
            theirs.write_all(byte).unwrap();
        }
        theirs
    });
    let mut got = Vec::new();
    let mut runs = 0;
    reactor
        .block_on(within(
            "fd reader",
            reader.with_ready(|_fd| {
                runs += 1;
                let mut buf = [0; 8];
                let n = (&ours).read(&mut buf)?;
                got.extend_from_slice(&buf[..n]);
                if got.len() < 2 {
                    Err(io::ErrorKind::WouldBlock.into())
                } else {
                    Ok(())
                }
            }),
        ))
        .unwrap()
        .unwrap();
    assert_eq!(got, b"ab");
    assert!(runs >= 2, "the operation ran {runs} times for two writes");
    drop(peer.join().unwrap());
}

/// A writer on a full socket waits until the peer drains it.
fn fd_writer(reactor: &impl Reactor) {
    let (ours, mut theirs) = UnixStream::pair().unwrap();
    ours.set_nonblocking(true).unwrap();
    let writer = reactor
        .watch_writable(ours.try_clone().unwrap().into())
        .unwrap();
    assert_eq!(writer.interest(), Interest::Writable);

    let mut filled = 0;
    for chunk in [&[0u8; 4096][..], &[0u8; 1][..]] {
        loop {
            match (&ours).write(chunk) {
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("filling the socket: {e}"),
            }
        }
    }
    let draining = Arc::new(AtomicBool::new(false));
    let peer = thread::spawn({
        let draining = draining.clone();
        move || {
            thread::sleep(LATER);
            draining.store(true, Ordering::SeqCst);
            let mut buf = vec![0; filled + 3];
            theirs.read_exact(&mut buf).unwrap();
            buf.split_off(filled)
        }
    });
    let written = reactor
        .block_on(within(
            "fd writer",
            writer.with_ready(|_fd| (&ours).write(b"end")),
        ))
        .unwrap()
        .unwrap();
    assert_eq!(written, 3);
    assert!(
        draining.load(Ordering::SeqCst),
        "the write went through before the peer drained the socket"
    );
    assert_eq!(peer.join().unwrap(), b"end");
}

/// Watching a regular file fails (epoll refuses it).
fn fd_regular_file_refused(reactor: &impl Reactor) {
    let file = std::fs::File::open(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
    let err = reactor.watch_readable(file.into()).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EPERM));
}

fn raise(kind: SignalKind) {
    // SAFETY: `kill` has no memory-safety precondition. The callers registered a stream
    // for `kind` first, so its handler is installed and the signal does not end the process.
    let sent = unsafe { libc::kill(libc::getpid(), kind.as_raw()) };
    assert_eq!(sent, 0, "kill: {}", io::Error::last_os_error());
}

/// A stream registered before the signal is raised receives each delivery.
fn signal_stream(reactor: &impl Reactor, kind: SignalKind) {
    let mut signals = reactor.signal(kind).unwrap();
    reactor
        .block_on(async {
            assert_eq!(signals.recv().now_or_never(), None, "nothing raised yet");
            for _ in 0..2 {
                raise(kind);
                assert_eq!(within("signal", signals.recv()).await, Some(()));
            }
        })
        .unwrap();
}

/// Signals no process may catch are refused.
fn signal_uncatchable_refused(reactor: &impl Reactor) {
    assert!(reactor.signal(SignalKind::from_raw(libc::SIGKILL)).is_err());
}

macro_rules! scenarios {
    ($flavour:ident: $make:expr; $($scenario:ident),* $(,)?) => {
        mod $flavour {
            $(
                #[test]
                fn $scenario() {
                    let reactor = $make;
                    super::$scenario(&reactor);
                }
            )*
        }
    };
}

scenarios!(current_thread: super::current_thread();
    tcp_echo, tcp_connect_refused, udp_roundtrip, fd_reader, fd_writer,
    fd_regular_file_refused, signal_uncatchable_refused);
scenarios!(multi_thread: super::multi_thread();
    tcp_echo, tcp_connect_refused, udp_roundtrip, fd_reader, fd_writer,
    fd_regular_file_refused, signal_uncatchable_refused);
scenarios!(proxy_current_thread: looptime_api::Proxy::new(&super::current_thread());
    tcp_echo, udp_roundtrip, fd_reader, fd_writer);
scenarios!(proxy_multi_thread: looptime_api::Proxy::new(&super::multi_thread());
    tcp_echo, udp_roundtrip, fd_reader, fd_writer);

#[test]
fn signal_on_current_thread() {
    signal_stream(&current_thread(), SignalKind::user_defined1());
}

#[test]
fn signal_on_multi_thread() {
    signal_stream(&multi_thread(), SignalKind::user_defined2());
}

/// `SIGWINCH` is ignored by default, so raising it is harmless even unregistered.
#[test]
fn signal_through_proxy() {
    let runtime = current_thread();
    signal_stream(&Proxy::new(&runtime), SignalKind::from_raw(libc::SIGWINCH));
}

// ---- off the runtime ----

/// Wakes a parked thread.
struct Unpark(thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `future` on the calling thread, outside any tokio context, parking in between.
fn block_on_plain_thread<F: Future>(future: F) -> F::Output {
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        assert!(Instant::now() < deadline, "nothing after {PATIENCE:?}");
        thread::park_timeout(Duration::from_millis(100));
    }
}

/// Objects made and polled outside any tokio context work on a multi-thread runtime,
/// whose workers drive the I/O: the adapter enters its runtime where tokio needs it.
#[test]
fn multi_thread_io_polled_outside_the_runtime() {
    let runtime = multi_thread();
    assert!(tokio::runtime::Handle::try_current().is_err());

    let listener = runtime.bind_tcp(loopback()).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut client = block_on_plain_thread(runtime.connect_tcp(addr)).unwrap();
    let (mut server, _) = block_on_plain_thread(listener.accept()).unwrap();
    block_on_plain_thread(client.write_all(b"off")).unwrap();
    let mut buf = [0; 3];
    block_on_plain_thread(server.read_exact(&mut buf)).unwrap();
    assert_eq!(&buf, b"off");

    let (ours, mut theirs) = UnixStream::pair().unwrap();
    ours.set_nonblocking(true).unwrap();
    let reader = runtime
        .watch_readable(ours.try_clone().unwrap().into())
        .unwrap();
    theirs.write_all(b"x").unwrap();
    let n = block_on_plain_thread(reader.with_ready(|_fd| (&ours).read(&mut buf))).unwrap();
    assert_eq!(&buf[..n], b"x");
}
