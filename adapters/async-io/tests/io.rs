//! Each constructor of looptime-async-io, used directly under `async_io::block_on` (which
//! polls the reactor on the test thread) or `futures_lite::future::block_on` (which
//! leaves the reactor to async-io's driver thread).

use std::future::Future;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use async_io::Timer;
use futures_lite::{AsyncReadExt, AsyncWriteExt, future};

/// `fut`'s output, or a panic after ten seconds.
async fn within<T>(fut: impl Future<Output = T>) -> T {
    future::or(async { Some(fut.await) }, async {
        Timer::after(Duration::from_secs(10)).await;
        None
    })
    .await
    .expect("timed out after 10 s")
}

/// Whether `fut` completes within `wait` (it is dropped if not).
async fn completes_within(wait: Duration, fut: impl Future) -> bool {
    future::or(
        async {
            fut.await;
            true
        },
        async {
            Timer::after(wait).await;
            false
        },
    )
    .await
}

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

#[test]
fn tcp_echo_roundtrip() {
    async_io::block_on(within(async {
        let listener = looptime_async_io::bind_tcp(loopback()).unwrap();
        let addr = listener.local_addr().unwrap();
        assert_ne!(addr.port(), 0, "the OS chose a port");

        let echo = async {
            let (mut server, peer) = listener.accept().await.unwrap();
            let mut received = Vec::new();
            server.read_to_end(&mut received).await.unwrap();
            server.write_all(&received).await.unwrap();
            server.close().await.unwrap();
            peer
        };
        let client = async {
            let mut client = looptime_async_io::connect_tcp(addr).await.unwrap();
            assert_eq!(client.peer_addr().unwrap(), addr);
            client.write_all(b"hello, echo").await.unwrap();
            // Closing the write half ends the server's `read_to_end`.
            client.close().await.unwrap();
            let mut echoed = Vec::new();
            client.read_to_end(&mut echoed).await.unwrap();
            (client.local_addr().unwrap(), echoed)
        };
        let (peer, (client_addr, echoed)) = future::zip(echo, client).await;
        assert_eq!(echoed, b"hello, echo");
        assert_eq!(peer, client_addr, "accept reports the client's address");
    }));
}

#[test]
fn tcp_accept_waits_for_a_connection() {
    async_io::block_on(within(async {
        let listener = looptime_async_io::bind_tcp(loopback()).unwrap();
        let addr = listener.local_addr().unwrap();
        assert!(
            !completes_within(Duration::from_millis(50), listener.accept()).await,
            "accept returned with nobody connecting"
        );
        // A blocking std client from another thread: the listener sees it through the
        // reactor.
        let client = std::thread::spawn(move || {
            let mut stream = std::net::TcpStream::connect(addr).unwrap();
            stream.write_all(b"x").unwrap();
            stream
        });
        let (mut server, _) = listener.accept().await.unwrap();
        let mut buf = [0; 1];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"x");
        drop(client.join().unwrap());
    }));
}

#[test]
fn tcp_connect_to_a_closed_port_fails() {
    // A port that was just bound and released: nothing listens there.
    let addr = std::net::TcpListener::bind(loopback())
        .unwrap()
        .local_addr()
        .unwrap();
    let result = async_io::block_on(within(looptime_async_io::connect_tcp(addr)));
    assert!(result.is_err(), "connected to a port nobody listens on");
}

#[test]
fn bind_tcp_to_a_taken_port_fails() {
    let listener = looptime_async_io::bind_tcp(loopback()).unwrap();
    let taken = listener.local_addr().unwrap();
    let error = looptime_async_io::bind_tcp(taken).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::AddrInUse);
}

#[test]
fn udp_send_to_recv_from() {
    async_io::block_on(within(async {
        let a = looptime_async_io::bind_udp(loopback()).unwrap();
        let b = looptime_async_io::bind_udp(loopback()).unwrap();
        let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());

        assert_eq!(a.send_to(b"ping", b_addr).await.unwrap(), 4);
        let mut buf = [0; 16];
        let (n, from) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"ping"[..], a_addr));

        b.send_to(b"pong!", from).await.unwrap();
        let (n, from) = a.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"pong!"[..], b_addr));
    }));
}

#[test]
fn udp_recv_waits_under_the_driver_thread() {
    // `futures_lite`'s block_on does not poll async-io's reactor: async-io's own thread
    // delivers the readiness, as it does under the `futures` thread pool.
    future::block_on(within(async {
        let socket = looptime_async_io::bind_udp(loopback()).unwrap();
        let addr = socket.local_addr().unwrap();
        let mut buf = [0; 16];
        assert!(
            !completes_within(Duration::from_millis(50), socket.recv_from(&mut buf)).await,
            "recv_from returned with nothing sent"
        );
        let sender = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            let std_socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            std_socket.send_to(b"late", addr).unwrap();
            std_socket.local_addr().unwrap()
        });
        let (n, from) = socket.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"late");
        assert_eq!(from, sender.join().unwrap());
    }));
}

#[cfg(unix)]
mod unix {
    use super::*;
    use looptime_api::io::{Interest, SignalKind};
    use std::os::unix::net::UnixStream;

    #[test]
    fn fd_reader_waits_until_readable() {
        let (ours, mut theirs) = UnixStream::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        let reader =
            looptime_async_io::watch_fd(ours.try_clone().unwrap().into(), Interest::Readable)
                .unwrap();
        assert_eq!(reader.interest(), Interest::Readable);

        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            theirs.write_all(b"ready").unwrap();
            theirs
        });
        let mut attempts = 0;
        let mut buf = [0; 16];
        let n = async_io::block_on(within(reader.with_ready(|_fd| {
            attempts += 1;
            (&ours).read(&mut buf)
        })))
        .unwrap();
        assert_eq!(&buf[..n], b"ready");
        assert!(
            attempts >= 2,
            "the first read would block and the watcher retried ({attempts} attempts)"
        );
        drop(writer.join().unwrap());
    }

    #[test]
    fn fd_writer_waits_until_writable() {
        let (ours, mut theirs) = UnixStream::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        let writer =
            looptime_async_io::watch_fd(ours.try_clone().unwrap().into(), Interest::Writable)
                .unwrap();
        assert_eq!(writer.interest(), Interest::Writable);

        // Writable at once: the operation runs on the first try.
        let n = async_io::block_on(within(writer.with_ready(|_fd| (&ours).write(b"a")))).unwrap();
        assert_eq!(n, 1);

        // Fill the socket's buffer, so the next write would block.
        let chunk = [7u8; 4096];
        let mut filled = 1;
        loop {
            match (&ours).write(&chunk) {
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
        }
        let drainer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            let mut drained = vec![0; filled];
            theirs.read_exact(&mut drained).unwrap();
            (theirs, drained[0])
        });
        let mut attempts = 0;
        let n = async_io::block_on(within(writer.with_ready(|_fd| {
            attempts += 1;
            (&ours).write(b"more")
        })))
        .unwrap();
        assert!(n > 0);
        assert!(
            attempts >= 2,
            "the first write would block and the watcher retried ({attempts} attempts)"
        );
        let (_theirs, first) = drainer.join().unwrap();
        assert_eq!(first, b'a');
    }

    #[test]
    fn fd_watcher_returns_other_errors() {
        let (ours, _theirs) = UnixStream::pair().unwrap();
        let reader = looptime_async_io::watch_fd(ours.into(), Interest::Readable).unwrap();
        let error =
            async_io::block_on(within(reader.with_ready(|_fd| -> io::Result<()> {
                Err(io::Error::other("not WouldBlock"))
            })))
            .unwrap_err();
        assert_eq!(error.to_string(), "not WouldBlock");
    }

    /// Sends `signal` (a name for `kill`) to this process.
    fn raise(signal: &str) {
        let status = std::process::Command::new("kill")
            .args([signal, &std::process::id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    #[test]
    fn signal_stream_receives_sigusr1() {
        // Registered before the signal is raised: its default action ends the process.
        let mut signals = looptime_async_io::signal(SignalKind::user_defined1()).unwrap();
        async_io::block_on(within(async {
            assert!(
                !completes_within(Duration::from_millis(20), signals.recv()).await,
                "a delivery with no signal raised"
            );
            raise("-USR1");
            assert_eq!(signals.recv().await, Some(()));
        }));
    }

    #[test]
    fn signal_deliveries_while_nobody_polls_are_coalesced() {
        let mut signals = looptime_async_io::signal(SignalKind::user_defined2()).unwrap();
        raise("-USR2");
        raise("-USR2");
        std::thread::sleep(Duration::from_millis(200));
        async_io::block_on(within(async {
            assert_eq!(signals.recv().await, Some(()));
            assert!(
                !completes_within(Duration::from_millis(100), signals.recv()).await,
                "a second item for deliveries made before the first was read"
            );
            raise("-USR2");
            assert_eq!(signals.recv().await, Some(()), "a later delivery");
        }));
    }

    #[test]
    fn uncatchable_signals_are_refused() {
        for signum in [9, 19] {
            // SIGKILL is 9 everywhere; 19 is SIGSTOP on Linux and another signal elsewhere,
            // which must then be accepted.
            let result = looptime_async_io::signal(SignalKind::from_raw(signum));
            if signum == 9 || cfg!(target_os = "linux") {
                let error = result.unwrap_err();
                assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
            }
        }
    }
}
