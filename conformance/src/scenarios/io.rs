//! R4, R6, R7: I/O made through a proxy — real sockets on loopback, descriptors, signals —
//! is tracked with its creation line, closed at shutdown whatever is reported, and refused
//! afterwards.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use looptime_api::io::SignalKind;
use looptime_api::{CheckKind, Chronometer, Proxy, Reactor, ReactorExt, SpawnerExt};

use crate::peers::{can_see_descriptors, client, loopback, open_sockets_on, raise_sigusr1};
use crate::support::{ensure, ensure_eq, real_proxy};
use crate::{Backend, Ctx, Failure, Outcome, Report};

/// R4: a TCP listener and stream through a proxy: connect, accept, bytes both ways, the
/// addresses agree; dropped handles leave nothing to report.
pub fn tcp_roundtrip<B: Backend>(_: &Ctx) -> Outcome {
    let proxy = real_proxy::<B>();
    let chrono = Chronometer::started();
    proxy.block_on(async {
        let listener = proxy.bind_tcp(loopback())?;
        let addr = listener.local_addr()?;
        ensure!(addr.port() != 0, "the listener got a port: {addr}");
        let mut client = proxy.connect_tcp(addr).await?;
        let (mut server, peer) = listener.accept().await?;
        ensure_eq!(peer, client.local_addr()?, "the accepted peer's address");
        ensure_eq!(client.peer_addr()?, addr, "the client's peer");
        client.write_all(b"ping").await?;
        let mut buf = [0u8; 4];
        server.read_exact(&mut buf).await?;
        ensure_eq!(&buf, b"ping", "bytes client -> server");
        server.write_all(b"pong").await?;
        client.read_exact(&mut buf).await?;
        ensure_eq!(&buf, b"pong", "bytes server -> client");
        client.close().await?;
        ensure_eq!(server.read(&mut buf).await?, 0, "end of stream after close");
        Ok::<_, Failure>(())
    })??;
    let report = proxy.block_on(proxy.check_and_shutdown(CheckKind::ALL))?;
    ensure!(report.is_ok(), "dropped handles are not leaks: {report:?}");
    Ok(Report::real(chrono.elapsed()))
}

/// R4: UDP datagrams between two proxy sockets, shared by a sending and a receiving task.
pub fn udp_roundtrip<B: Backend>(_: &Ctx) -> Outcome {
    let proxy = real_proxy::<B>();
    let chrono = Chronometer::started();
    proxy.block_on(async {
        let a = std::sync::Arc::new(proxy.bind_udp(loopback())?);
        let b = proxy.bind_udp(loopback())?;
        let (a_addr, b_addr) = (a.local_addr()?, b.local_addr()?);
        let receiver = {
            let a = a.clone();
            proxy.spawn(async move {
                let mut buf = [0u8; 16];
                let (n, from) = a.recv_from(&mut buf).await?;
                Ok::<_, std::io::Error>((buf[..n].to_vec(), from))
            })
        };
        ensure_eq!(b.send_to(b"datagram", a_addr).await?, 8, "bytes sent");
        let (got, from) = receiver.await??;
        ensure_eq!(got, b"datagram".to_vec(), "datagram received");
        ensure_eq!(from, b_addr, "sender's address");
        a.send_to(b"back", b_addr).await?;
        let mut buf = [0u8; 16];
        let (n, from) = b.recv_from(&mut buf).await?;
        ensure_eq!(&buf[..n], b"back", "reply received");
        ensure_eq!(from, a_addr, "replier's address");
        Ok::<_, Failure>(())
    })??;
    Ok(Report::real(chrono.elapsed()))
}

/// R4: readiness watchers on raw descriptors: a reader wakes when its socket has data, a
/// writer when its socket has room.
pub fn fd_reader_and_writer<B: Backend>(_: &Ctx) -> Outcome {
    let proxy = real_proxy::<B>();
    let chrono = Chronometer::started();
    let (ours, theirs) = UnixStream::pair()?;
    ours.set_nonblocking(true)?;
    theirs.set_nonblocking(true)?;
    let reader = proxy.watch_readable(ours.try_clone()?.into())?;
    let writer = proxy.watch_writable(theirs.try_clone()?.into())?;
    let got = proxy.block_on(async {
        let reading = proxy.spawn(async move {
            let mut buf = [0u8; 16];
            let n = reader
                .with_ready(|_| std::io::Read::read(&mut &ours, &mut buf))
                .await?;
            Ok::<_, std::io::Error>(buf[..n].to_vec())
        });
        // Let the reader find nothing and wait.
        proxy.sleep_real(Duration::from_millis(20)).await;
        let sent = writer
            .with_ready(|_| std::io::Write::write(&mut &theirs, b"ready"))
            .await?;
        ensure_eq!(sent, 5, "bytes written when writable");
        Ok::<_, Failure>(reading.await??)
    })??;
    ensure_eq!(got, b"ready".to_vec(), "bytes read when readable");
    Ok(Report::real(chrono.elapsed()))
}

/// R4: a signal stream receives a signal sent to the process.
pub fn signal_stream_receives<B: Backend>(_: &Ctx) -> Outcome {
    let proxy = real_proxy::<B>();
    let chrono = Chronometer::started();
    let mut signals = proxy.signal(SignalKind::user_defined1())?;
    let received = proxy.block_on(async {
        raise_sigusr1()?;
        let received = futures_util::future::select(
            Box::pin(signals.recv()),
            proxy.sleep_real(Duration::from_secs(5)),
        )
        .await;
        Ok::<_, Failure>(matches!(
            received,
            futures_util::future::Either::Left((Some(()), _))
        ))
    })??;
    ensure!(received, "SIGUSR1 was not received within 5 s");
    Ok(Report::real(chrono.elapsed()))
}

/// The I/O objects one proxy makes in [`shutdown_closes_every_kind`], alive.
struct Everything {
    ports: Vec<u16>,
    /// Kept alive until the scenario drops them.
    _handles: Vec<Box<dyn std::any::Any>>,
    lines: Vec<u32>,
}

fn make_everything(proxy: &Proxy) -> Result<Everything, Failure> {
    let (read_end, write_end) = UnixStream::pair()?;
    read_end.set_nonblocking(true)?;
    write_end.set_nonblocking(true)?;
    let first = line!() + 1;
    let listener = proxy.bind_tcp(loopback())?;
    let client = proxy.block_on(proxy.connect_tcp(listener.local_addr()?))??;
    let udp = proxy.bind_udp(loopback())?;
    let reader = proxy.watch_readable(read_end.into())?;
    let writer = proxy.watch_writable(write_end.into())?;
    let signals = proxy.signal(SignalKind::user_defined2())?;
    let (accepted, _) = proxy.block_on(listener.accept())??;
    let lines = (first..first + 7).collect();
    let ports = vec![
        listener.local_addr()?.port(),
        client.local_addr()?.port(),
        udp.local_addr()?.port(),
    ];
    Ok(Everything {
        ports,
        _handles: vec![
            Box::new(listener),
            Box::new(client),
            Box::new(accepted),
            Box::new(udp),
            Box::new(reader),
            Box::new(writer),
            Box::new(signals),
        ],
        lines,
    })
}

/// R7: shutdown closes every kind of I/O whatever `kind` selects, and reports exactly the
/// selected kinds with their creation lines (an accepted stream has its listener's line).
/// The sockets' descriptors are gone from the process afterwards.
pub fn shutdown_closes_every_kind<B: Backend>(_: &Ctx) -> Outcome {
    let chrono = Chronometer::started();
    // Everything reported.
    let proxy = real_proxy::<B>();
    let all = make_everything(&proxy)?;
    let report = proxy
        .block_on(proxy.check_and_shutdown(CheckKind::ALL))?
        .err()
        .ok_or_else(|| Failure::new("leaked I/O was not reported"))?;
    let kinds: Vec<CheckKind> = report.iter().map(|leak| leak.kind()).collect();
    let mut expected = vec![
        CheckKind::SIGNALS,
        CheckKind::SERVERS,
        CheckKind::TRANSPORTS,
        CheckKind::TRANSPORTS,
        CheckKind::TRANSPORTS,
        CheckKind::READERS,
        CheckKind::WRITERS,
    ];
    expected.sort_by_key(|k| k.bits());
    ensure_eq!(kinds, expected, "kinds reported, in kind order");
    let mut lines: Vec<u32> = report.iter().map(|leak| leak.site().line()).collect();
    lines.sort_unstable();
    let mut wanted = all.lines.clone();
    wanted.retain(|&l| l != all.lines[6]); // the accept line: its stream has the listener's
    wanted.push(all.lines[0]);
    wanted.sort_unstable();
    ensure_eq!(lines, wanted, "creation lines reported");
    ensure!(
        report
            .iter()
            .all(|leak| leak.site().file().ends_with("io.rs")),
        "sites name this file: {report}"
    );
    if can_see_descriptors() {
        for port in &all.ports {
            let open = open_sockets_on(*port);
            ensure!(
                open.is_empty(),
                "sockets on port {port} are still open after shutdown: {open:?}"
            );
        }
    }
    drop(all);

    // Nothing selected: everything is still closed, nothing reported.
    let proxy = real_proxy::<B>();
    let quiet = make_everything(&proxy)?;
    let report = proxy.block_on(proxy.check_and_shutdown(CheckKind::empty()))?;
    ensure!(
        report.is_ok(),
        "nothing selected, nothing reported: {report:?}"
    );
    if can_see_descriptors() {
        for port in &quiet.ports {
            ensure!(
                open_sockets_on(*port).is_empty(),
                "an unreported socket on port {port} was left open"
            );
        }
    }
    Ok(Report::real(chrono.elapsed()))
}

/// R7: after shutdown, every handle returns an error (a signal stream ends) instead of
/// touching its closed descriptor, and new I/O is refused with an error.
pub fn closed_handles_return_errors<B: Backend>(_: &Ctx) -> Outcome {
    let proxy = real_proxy::<B>();
    let chrono = Chronometer::started();
    let (ours, _theirs) = UnixStream::pair()?;
    ours.set_nonblocking(true)?;
    let listener = proxy.bind_tcp(loopback())?;
    let addr = listener.local_addr()?;
    let mut stream = proxy.block_on(proxy.connect_tcp(addr))??;
    let udp = proxy.bind_udp(loopback())?;
    let reader = proxy.watch_readable(ours.into())?;
    let mut signals = proxy.signal(SignalKind::user_defined2())?;
    let _ = proxy.block_on(proxy.check_and_shutdown(CheckKind::empty()))?;
    // A shut-down proxy runs nothing: the handles are used on the runtime itself.
    let runtime = proxy.parent().clone();
    runtime.block_on(async {
        let mut buf = [0u8; 4];
        let read = stream.read(&mut buf).await;
        ensure!(
            read.as_ref()
                .is_err_and(|e| e.kind() == ErrorKind::NotConnected),
            "read on a closed stream: {read:?}"
        );
        let write = stream.write(b"x").await;
        ensure!(write.is_err(), "write on a closed stream: {write:?}");
        ensure!(stream.local_addr().is_err(), "address of a closed stream");
        let accept = listener.accept().await;
        ensure!(accept.is_err(), "accept on a closed listener");
        let send = udp.send_to(b"x", addr).await;
        ensure!(send.is_err(), "send on a closed socket: {send:?}");
        let ready = reader.with_ready(|_| Ok(())).await;
        ensure!(ready.is_err(), "a closed watcher: {ready:?}");
        ensure_eq!(signals.recv().await, None, "a closed signal stream ends");
        Ok::<_, Failure>(())
    })??;
    let refused: Vec<(&str, bool)> = vec![
        ("bind_tcp", proxy.bind_tcp(loopback()).is_err()),
        ("bind_udp", proxy.bind_udp(loopback()).is_err()),
        (
            "connect_tcp",
            runtime.block_on(proxy.connect_tcp(addr))?.is_err(),
        ),
        ("signal", proxy.signal(SignalKind::user_defined2()).is_err()),
    ];
    for (what, is_err) in refused {
        ensure!(is_err, "{what} on a shut-down proxy must fail");
    }
    Ok(Report::real(chrono.elapsed()))
}

/// R7: a stream accepted by a tracked listener is tracked too (aioloop-proxy misses it):
/// shutdown reports it with the listener's line and closes it, so the outside client reads
/// the end of the stream.
pub fn accepted_streams_are_tracked<B: Backend>(_: &Ctx) -> Outcome {
    let proxy = real_proxy::<B>();
    let chrono = Chronometer::started();
    let line = line!() + 1;
    let listener = proxy.bind_tcp(loopback())?;
    let outside = client(listener.local_addr()?);
    let (accepted, peer) = proxy.block_on(listener.accept())??;
    ensure_eq!(accepted.peer_addr()?, peer, "peer address");
    drop(listener);
    let report = proxy
        .block_on(proxy.check_and_shutdown(CheckKind::TRANSPORTS))?
        .err()
        .ok_or_else(|| Failure::new("the accepted stream was not reported"))?;
    ensure_eq!(report.len(), 1, "leaks: {report}");
    let leak = report.iter().next().expect("one leak");
    ensure_eq!(leak.kind(), CheckKind::TRANSPORTS, "kind");
    ensure_eq!(leak.site().line(), line, "the listener's line");
    let got = outside
        .join()
        .map_err(|_| Failure::new("the client thread panicked"))?;
    ensure!(
        matches!(got, Ok(0)),
        "the outside client sees the connection closed: {got:?}"
    );
    drop(accepted);
    Ok(Report::real(chrono.elapsed()))
}

/// R6, R7: I/O a child proxy makes is visible to its parent: the parent's shutdown
/// reports it and closes it under the child's handle.
pub fn parent_closes_child_io<B: Backend>(_: &Ctx) -> Outcome {
    let parent = real_proxy::<B>();
    let child = Proxy::new(&parent);
    let chrono = Chronometer::started();
    let line = line!() + 1;
    let udp = child.bind_udp(loopback())?;
    let port = udp.local_addr()?.port();
    let report = parent
        .block_on(parent.check_and_shutdown(CheckKind::TRANSPORTS))?
        .err()
        .ok_or_else(|| Failure::new("the parent did not report the child's socket"))?;
    ensure_eq!(report.len(), 1, "leaks: {report}");
    ensure_eq!(
        report.iter().next().map(|l| l.site().line()),
        Some(line),
        "the child's line"
    );
    let target: SocketAddr = ([127, 0, 0, 1], 9).into();
    let send = parent.parent().block_on(udp.send_to(b"x", target))?;
    ensure!(
        send.is_err(),
        "the child's handle after the parent's shutdown: {send:?}"
    );
    if can_see_descriptors() {
        ensure!(open_sockets_on(port).is_empty(), "the socket is closed");
    }
    // The child is closed with its parent; its own shutdown is harmless.
    ensure!(
        child.is_shut_down(),
        "the child is shut down with its parent"
    );
    let again = child.block_on(child.check_and_shutdown(CheckKind::ALL));
    ensure!(
        again.as_ref().is_err_and(|e| e.is_shut_down()) || matches!(again, Ok(Ok(()))),
        "the child's shutdown afterwards: {again:?}"
    );
    Ok(Report::real(chrono.elapsed()))
}

/// R4: the I/O constructors are dyn-compatible: through `&dyn Reactor`, and the proxy
/// behind still tracks what they make.
pub fn io_through_dyn_reactor<B: Backend>(_: &Ctx) -> Outcome {
    let proxy = real_proxy::<B>();
    let chrono = Chronometer::started();
    let reactor: &dyn Reactor = &proxy;
    let listener = reactor.bind_tcp(loopback())?;
    let addr = listener.local_addr()?;
    let (client, accepted) = proxy.block_on(async {
        let client = reactor.connect_tcp(addr).await?;
        let (accepted, _) = listener.accept().await?;
        Ok::<_, std::io::Error>((client, accepted))
    })??;
    ensure_eq!(
        client.peer_addr()?,
        accepted.local_addr()?,
        "both ends agree"
    );
    let report = proxy.block_on(proxy.check_and_shutdown(CheckKind::ALL))?;
    ensure_eq!(
        report.map_err(|leaks| leaks.len()),
        Err(3),
        "listener, client and accepted stream reported"
    );
    Ok(Report::real(chrono.elapsed()))
}

/// R7: a leaked task that owns a leaked stream: both are reported, every time. (Aborting
/// the task may drop its stream on another thread at once; shutdown must have seen both
/// before it aborts anything.)
pub fn task_owned_io_is_reported<B: Backend>(_: &Ctx) -> Outcome {
    let chrono = Chronometer::started();
    let server = std::net::TcpListener::bind(loopback())?;
    let addr = server.local_addr()?;
    for round in 0..50 {
        let proxy = real_proxy::<B>();
        let report = proxy.block_on(async {
            let mut stream = proxy.connect_tcp(addr).await?;
            let _task = proxy.spawn(async move {
                let mut buf = [0u8; 1];
                let _ = stream.read(&mut buf).await;
            });
            proxy.yield_now().await;
            Ok::<_, Failure>(proxy.check_and_shutdown(CheckKind::ALL).await)
        })??;
        let kinds = report.map_err(|leaks| leaks.kinds());
        ensure_eq!(
            kinds,
            Err(CheckKind::TASKS | CheckKind::TRANSPORTS),
            "round {round}: kinds reported"
        );
        let _ = server.accept()?;
    }
    Ok(Report::real(chrono.elapsed()))
}
