//! TCP streams and listeners over `Async<std::net::TcpStream>` and `Async<TcpListener>`.

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use async_io::Async;
use futures_io::{AsyncRead, AsyncWrite};
use looptime_api::io::{IoFuture, TcpListener, TcpListenerImpl, TcpStream, TcpStreamImpl};

/// Connects a TCP stream to `addr` ([`Async::<std::net::TcpStream>::connect`]).
pub fn connect_tcp(addr: SocketAddr) -> IoFuture<TcpStream> {
    Box::pin(async move {
        let stream = Async::<std::net::TcpStream>::connect(addr).await?;
        Ok(TcpStream::new(Stream(stream)))
    })
}

/// Binds a TCP listener to `addr` ([`Async::<std::net::TcpListener>::bind`]; port 0 lets
/// the OS choose). The streams it accepts are registered with async-io's reactor too.
pub fn bind_tcp(addr: SocketAddr) -> io::Result<TcpListener> {
    let listener = Async::<std::net::TcpListener>::bind(addr)?;
    Ok(TcpListener::new(Listener(listener)))
}

/// A connected stream.
struct Stream(Async<std::net::TcpStream>);

impl TcpStreamImpl for Stream {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.get_ref().local_addr()
    }
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.get_ref().peer_addr()
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
    fn poll_read_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [io::IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_read_vectored(cx, bufs)
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    /// Flushes, then shuts the write half down: the peer reads the end of the stream.
    /// (`Async<TcpStream>`'s own `poll_close` only flushes.)
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(Pin::new(&mut self.0).poll_flush(cx))?;
        Poll::Ready(self.0.get_ref().shutdown(Shutdown::Write))
    }
}

/// A bound listener.
struct Listener(Async<std::net::TcpListener>);

impl TcpListenerImpl for Listener {
    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        loop {
            match self.0.get_ref().accept() {
                Ok((stream, peer)) => {
                    // `Async::new` puts the accepted socket in non-blocking mode.
                    let stream = Async::new(stream)?;
                    return Poll::Ready(Ok((TcpStream::new(Stream(stream)), peer)));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
            ready!(self.0.poll_readable(cx))?;
        }
    }
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.get_ref().local_addr()
    }
}
