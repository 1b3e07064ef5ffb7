//! TCP: [`TcpStream`] and [`TcpListener`].

use core::fmt;
use core::future::poll_fn;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::io;
use std::net::SocketAddr;

use futures_io::{AsyncRead, AsyncWrite};

/// What a runtime adapter implements to back a [`TcpStream`]: its own stream, with the
/// [`futures-io`](futures_io) traits.
pub trait TcpStreamImpl: AsyncRead + AsyncWrite + Send + Unpin + 'static {
    /// The local address of the stream.
    fn local_addr(&self) -> io::Result<SocketAddr>;
    /// The address of the peer.
    fn peer_addr(&self) -> io::Result<SocketAddr>;
}

/// A TCP connection, from [`Reactor::connect_tcp`](crate::Reactor::connect_tcp) or
/// [`TcpListener::accept`].
///
/// It implements [`futures-io`](futures_io)'s `AsyncRead` and `AsyncWrite`, so
/// `futures::io::AsyncReadExt`/`AsyncWriteExt` (or `futures-lite`'s) work on it. Closing the
/// write half is `AsyncWriteExt::close`; dropping it closes the connection.
pub struct TcpStream {
    inner: Box<dyn TcpStreamImpl>,
}

impl TcpStream {
    /// Wraps a runtime's stream (for adapters).
    pub fn new(inner: impl TcpStreamImpl) -> Self {
        TcpStream {
            inner: Box::new(inner),
        }
    }

    /// The local address of the stream.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// The address of the peer.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }
}

impl TcpStreamImpl for TcpStream {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }
}

impl AsyncRead for TcpStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for TcpStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.inner).poll_flush(cx)
    }
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.inner).poll_close(cx)
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .finish()
    }
}

/// What a runtime adapter implements to back a [`TcpListener`].
pub trait TcpListenerImpl: Send + Sync + 'static {
    /// Accepts a connection, or registers `cx` to be woken when one arrives.
    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>>;
    /// The address the listener is bound to.
    fn local_addr(&self) -> io::Result<SocketAddr>;
}

/// A TCP listener, from [`Reactor::bind_tcp`](crate::Reactor::bind_tcp).
///
/// Made through a [`Proxy`](crate::Proxy), the streams it accepts are tracked by that
/// proxy too, with the listener's creation site.
pub struct TcpListener {
    inner: Box<dyn TcpListenerImpl>,
}

impl TcpListener {
    /// Wraps a runtime's listener (for adapters).
    pub fn new(inner: impl TcpListenerImpl) -> Self {
        TcpListener {
            inner: Box::new(inner),
        }
    }

    /// Waits for a connection; returns the stream and the peer's address.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        poll_fn(|cx| self.inner.poll_accept(cx)).await
    }

    /// Accepts a connection, or registers `cx` to be woken when one arrives.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        self.inner.poll_accept(cx)
    }

    /// The address the listener is bound to (with the port the OS chose for port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

impl TcpListenerImpl for TcpListener {
    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        self.inner.poll_accept(cx)
    }
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("local", &self.local_addr().ok())
            .finish()
    }
}
