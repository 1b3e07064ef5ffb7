//! UDP: [`UdpSocket`].

use core::fmt;
use core::future::poll_fn;
use core::task::{Context, Poll};
use std::io;
use std::net::SocketAddr;

/// What a runtime adapter implements to back a [`UdpSocket`].
pub trait UdpSocketImpl: Send + Sync + 'static {
    /// Sends `buf` to `target`, or registers `cx` to be woken when the socket can send.
    fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>>;
    /// Receives a datagram into `buf`, or registers `cx` to be woken when one arrives.
    fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>>;
    /// The address the socket is bound to.
    fn local_addr(&self) -> io::Result<SocketAddr>;
}

/// A UDP socket, from [`Reactor::bind_udp`](crate::Reactor::bind_udp).
///
/// Its methods take `&self`, so one socket can be shared (in an `Arc`) by a sending and a
/// receiving task.
pub struct UdpSocket {
    inner: Box<dyn UdpSocketImpl>,
}

impl UdpSocket {
    /// Wraps a runtime's socket (for adapters).
    pub fn new(inner: impl UdpSocketImpl) -> Self {
        UdpSocket {
            inner: Box::new(inner),
        }
    }

    /// Sends a datagram to `target`; returns the bytes sent.
    pub async fn send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        poll_fn(|cx| self.inner.poll_send_to(cx, buf, target)).await
    }

    /// Receives a datagram; returns its length and sender.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| self.inner.poll_recv_from(cx, buf)).await
    }

    /// The address the socket is bound to (with the port the OS chose for port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

impl UdpSocketImpl for UdpSocket {
    fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_send_to(cx, buf, target)
    }
    fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.inner.poll_recv_from(cx, buf)
    }
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket")
            .field("local", &self.local_addr().ok())
            .finish()
    }
}
