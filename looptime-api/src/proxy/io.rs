//! The I/O a proxy makes through its parent, tracked (SPEC R4, R6–R7).
//!
//! Each constructor asks the parent for the real object, registers it in a [`Slot`] of
//! this scope with the caller's line, and hands back the same public type around a tracked
//! handle. A listener's accepted streams are tracked too, with the listener's line. A
//! connection in progress counts as an I/O wait.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::io;
use std::net::SocketAddr;
#[cfg(unix)]
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::panic::Location;
use std::sync::Arc;

use futures_io::{AsyncRead, AsyncWrite};

use super::resource::{Dir, Slot, refused};
use super::scope::ScopeState;
use super::{CheckKind, Proxy};
#[cfg(unix)]
use crate::io::{FdWatcher, FdWatcherImpl, Interest, SignalKind, Signals, SignalsImpl};
use crate::io::{
    IoFuture, TcpListener, TcpListenerImpl, TcpStream, TcpStreamImpl, UdpSocket, UdpSocketImpl,
};

impl Proxy {
    fn io_refused(&self, what: &str, site: &'static Location<'static>) -> Option<io::Error> {
        self.is_shut_down().then(|| refused(what, site))
    }

    pub(super) fn connect_tracked(
        &self,
        addr: SocketAddr,
        site: &'static Location<'static>,
    ) -> IoFuture<TcpStream> {
        if let Some(error) = self.io_refused(&format!("a TCP connection to {addr}"), site) {
            return Box::pin(core::future::ready(Err(error)));
        }
        let connecting = match &self.shared.parent_proxy {
            Some(parent) => parent.connect_tracked(addr, site),
            None => self.shared.parent.connect_tcp(addr),
        };
        let scope = self.shared.scope.clone();
        scope.io_wait_started();
        Box::pin(Connect {
            connecting,
            scope,
            site,
            waiting: true,
        })
    }

    pub(super) fn bind_tcp_tracked(
        &self,
        addr: SocketAddr,
        site: &'static Location<'static>,
    ) -> io::Result<TcpListener> {
        if let Some(error) = self.io_refused(&format!("a TCP listener on {addr}"), site) {
            return Err(error);
        }
        let listener = match &self.shared.parent_proxy {
            Some(parent) => parent.bind_tcp_tracked(addr, site)?,
            None => self.shared.parent.bind_tcp(addr)?,
        };
        let what = format!("TCP listener on {}", show(listener.local_addr()));
        let slot = Slot::register(&self.shared.scope, CheckKind::SERVERS, site, what, listener)?;
        Ok(TcpListener::new(TrackedListener { slot }))
    }

    pub(super) fn bind_udp_tracked(
        &self,
        addr: SocketAddr,
        site: &'static Location<'static>,
    ) -> io::Result<UdpSocket> {
        if let Some(error) = self.io_refused(&format!("a UDP socket on {addr}"), site) {
            return Err(error);
        }
        let socket = match &self.shared.parent_proxy {
            Some(parent) => parent.bind_udp_tracked(addr, site)?,
            None => self.shared.parent.bind_udp(addr)?,
        };
        let what = format!("UDP socket on {}", show(socket.local_addr()));
        let slot = Slot::register(
            &self.shared.scope,
            CheckKind::TRANSPORTS,
            site,
            what,
            socket,
        )?;
        Ok(UdpSocket::new(TrackedUdp { slot }))
    }

    #[cfg(unix)]
    pub(super) fn watch_fd_tracked(
        &self,
        fd: OwnedFd,
        interest: Interest,
        site: &'static Location<'static>,
    ) -> io::Result<FdWatcher> {
        let (kind, role) = match interest {
            Interest::Readable => (CheckKind::READERS, "reader"),
            Interest::Writable => (CheckKind::WRITERS, "writer"),
        };
        let what = format!("fd {} {role}", fd.as_raw_fd());
        if let Some(error) = self.io_refused(&what, site) {
            return Err(error);
        }
        let watcher = match &self.shared.parent_proxy {
            Some(parent) => parent.watch_fd_tracked(fd, interest, site)?,
            None => self.shared.parent.watch_fd(fd, interest)?,
        };
        let slot = Slot::register(&self.shared.scope, kind, site, what, watcher)?;
        Ok(FdWatcher::new(TrackedWatcher { slot, interest }))
    }

    #[cfg(unix)]
    pub(super) fn signal_tracked(
        &self,
        kind: SignalKind,
        site: &'static Location<'static>,
    ) -> io::Result<Signals> {
        let what = format!("stream of signal {}", kind.as_raw());
        if let Some(error) = self.io_refused(&what, site) {
            return Err(error);
        }
        let signals = match &self.shared.parent_proxy {
            Some(parent) => parent.signal_tracked(kind, site)?,
            None => self.shared.parent.signal(kind)?,
        };
        let slot = Slot::register(&self.shared.scope, CheckKind::SIGNALS, site, what, signals)?;
        Ok(Signals::new(TrackedSignals { slot }))
    }
}

fn show(addr: io::Result<SocketAddr>) -> String {
    addr.map_or_else(|_| "an unknown address".to_owned(), |a| a.to_string())
}

/// Registers a stream made by the parent (connected, or accepted by a tracked listener).
fn track_stream(
    scope: &Arc<ScopeState>,
    site: &'static Location<'static>,
    stream: TcpStream,
) -> io::Result<TcpStream> {
    let what = format!(
        "TCP stream {} -> {}",
        show(stream.local_addr()),
        show(stream.peer_addr())
    );
    let slot = Slot::register(scope, CheckKind::TRANSPORTS, site, what, stream)?;
    Ok(TcpStream::new(TrackedStream { slot }))
}

/// A connection in progress: an I/O wait until it completes.
struct Connect {
    connecting: IoFuture<TcpStream>,
    scope: Arc<ScopeState>,
    site: &'static Location<'static>,
    waiting: bool,
}

impl Connect {
    fn stop_waiting(&mut self) {
        if std::mem::take(&mut self.waiting) {
            self.scope.io_wait_ended();
            self.scope.io_activity();
        }
    }
}

impl Future for Connect {
    type Output = io::Result<TcpStream>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let outcome = match self.connecting.as_mut().poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(outcome) => outcome,
        };
        self.stop_waiting();
        Poll::Ready(outcome.and_then(|stream| track_stream(&self.scope, self.site, stream)))
    }
}

impl Drop for Connect {
    fn drop(&mut self) {
        self.stop_waiting();
    }
}

/// A handle whose drop releases its slot.
macro_rules! releases_on_drop {
    ($($ty:ident),*) => {$(
        impl Drop for $ty {
            fn drop(&mut self) {
                self.slot.release();
            }
        }
    )*};
}

struct TrackedStream {
    slot: Arc<Slot<TcpStream>>,
}

impl TcpStreamImpl for TrackedStream {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.slot.with(TcpStream::local_addr)
    }
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.slot.with(TcpStream::peer_addr)
    }
}

impl AsyncRead for TrackedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.slot.poll(Dir::Read, cx, Err, |stream, cx| {
            Pin::new(stream).poll_read(cx, buf)
        })
    }
}

impl AsyncWrite for TrackedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.slot.poll(Dir::Write, cx, Err, |stream, cx| {
            Pin::new(stream).poll_write(cx, buf)
        })
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.slot.poll(Dir::Write, cx, Err, |stream, cx| {
            Pin::new(stream).poll_flush(cx)
        })
    }
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.slot.poll(Dir::Write, cx, Err, |stream, cx| {
            Pin::new(stream).poll_close(cx)
        })
    }
}

struct TrackedListener {
    slot: Arc<Slot<TcpListener>>,
}

impl TcpListenerImpl for TrackedListener {
    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let accepted = self
            .slot
            .poll(Dir::Read, cx, Err, |listener, cx| listener.poll_accept(cx));
        accepted.map(|outcome| {
            let (stream, peer) = outcome?;
            Ok((
                track_stream(&self.slot.scope(), self.slot.site(), stream)?,
                peer,
            ))
        })
    }
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.slot.with(TcpListener::local_addr)
    }
}

struct TrackedUdp {
    slot: Arc<Slot<UdpSocket>>,
}

impl UdpSocketImpl for TrackedUdp {
    fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.slot.poll(Dir::Write, cx, Err, |socket, cx| {
            socket.poll_send_to(cx, buf, target)
        })
    }
    fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.slot.poll(Dir::Read, cx, Err, |socket, cx| {
            socket.poll_recv_from(cx, buf)
        })
    }
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.slot.with(UdpSocket::local_addr)
    }
}

#[cfg(unix)]
struct TrackedWatcher {
    slot: Arc<Slot<FdWatcher>>,
    interest: Interest,
}

#[cfg(unix)]
impl FdWatcherImpl for TrackedWatcher {
    fn poll_with_ready(
        &self,
        cx: &mut Context<'_>,
        op: &mut dyn FnMut(BorrowedFd<'_>) -> io::Result<()>,
    ) -> Poll<io::Result<()>> {
        let dir = match self.interest {
            Interest::Readable => Dir::Read,
            Interest::Writable => Dir::Write,
        };
        self.slot
            .poll(dir, cx, Err, |watcher, cx| watcher.poll_with_ready(cx, op))
    }
    fn interest(&self) -> Interest {
        self.interest
    }
}

#[cfg(unix)]
struct TrackedSignals {
    slot: Arc<Slot<Signals>>,
}

#[cfg(unix)]
impl SignalsImpl for TrackedSignals {
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        self.slot.poll(
            Dir::Read,
            cx,
            |_closed| None,
            |signals, cx| signals.poll_recv(cx),
        )
    }
}

releases_on_drop!(TrackedStream, TrackedListener, TrackedUdp);
#[cfg(unix)]
releases_on_drop!(TrackedWatcher, TrackedSignals);
