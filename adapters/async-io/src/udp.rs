//! UDP sockets over `Async<std::net::UdpSocket>`.

use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll, ready};

use async_io::Async;
use looptime_api::io::{UdpSocket, UdpSocketImpl};

/// Binds a UDP socket to `addr` ([`Async::<std::net::UdpSocket>::bind`]; port 0 lets the
/// OS choose).
pub fn bind_udp(addr: SocketAddr) -> io::Result<UdpSocket> {
    let socket = Async::<std::net::UdpSocket>::bind(addr)?;
    Ok(UdpSocket::new(Socket(socket)))
}

/// A bound socket. Sending waits on the write direction and receiving on the read one, so
/// a sending and a receiving task can share it.
struct Socket(Async<std::net::UdpSocket>);

impl UdpSocketImpl for Socket {
    fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        loop {
            match self.0.get_ref().send_to(buf, target) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                result => return Poll::Ready(result),
            }
            ready!(self.0.poll_writable(cx))?;
        }
    }
    fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        loop {
            match self.0.get_ref().recv_from(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                result => return Poll::Ready(result),
            }
            ready!(self.0.poll_readable(cx))?;
        }
    }
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.get_ref().local_addr()
    }
}
