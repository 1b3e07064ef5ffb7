//! I/O for [`Tokio`](crate::Tokio): tokio's sockets, fd watchers and signal streams behind
//! looptime's runtime-agnostic handles.
//!
//! Every object is registered with the runtime of the adapter: its handle is entered where
//! tokio registers a socket (making an object, each poll of a connect, each accept), so
//! it works whichever thread or executor polls it.

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, ready};

use futures_io::{AsyncRead, AsyncWrite};
use looptime_api::io::{
    IoFuture, TcpListener, TcpListenerImpl, TcpStream, TcpStreamImpl, UdpSocket, UdpSocketImpl,
};
use tokio::io::{AsyncRead as _, AsyncWrite as _, ReadBuf};
use tokio::runtime::Handle;

/// The backlog of a listener, as `tokio::net::TcpListener::bind` sets it.
const BACKLOG: u32 = 1024;

/// Connects to `addr`. The handle is entered around each poll: tokio's connect registers
/// the socket when first polled, and the future may be polled outside the runtime.
pub(crate) fn connect_tcp(handle: &Handle, addr: SocketAddr) -> IoFuture<TcpStream> {
    let handle = handle.clone();
    Box::pin(async move {
        let mut connect = pin!(tokio::net::TcpStream::connect(addr));
        let stream = poll_fn(|cx| {
            let _context = handle.enter();
            connect.as_mut().poll(cx)
        })
        .await?;
        Ok(TcpStream::new(TokioStream(stream)))
    })
}

/// Binds a listener to `addr` as `tokio::net::TcpListener::bind` does (`SO_REUSEADDR` on
/// Unix, a backlog of 1024), without its address lookup.
pub(crate) fn bind_tcp(handle: &Handle, addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    let _context = handle.enter();
    Ok(TcpListener::new(TokioListener {
        listener: socket.listen(BACKLOG)?,
        handle: handle.clone(),
    }))
}

/// Binds a UDP socket to `addr`.
pub(crate) fn bind_udp(handle: &Handle, addr: SocketAddr) -> io::Result<UdpSocket> {
    let socket = std::net::UdpSocket::bind(addr)?;
    socket.set_nonblocking(true)?;
    let _context = handle.enter();
    Ok(UdpSocket::new(TokioUdp(tokio::net::UdpSocket::from_std(
        socket,
    )?)))
}

/// A tokio stream with the `futures-io` traits.
struct TokioStream(tokio::net::TcpStream);

impl TcpStreamImpl for TokioStream {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }

    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.peer_addr()
    }
}

impl AsyncRead for TokioStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut buf = ReadBuf::new(buf);
        ready!(Pin::new(&mut self.0).poll_read(cx, &mut buf))?;
        Poll::Ready(Ok(buf.filled().len()))
    }
}

impl AsyncWrite for TokioStream {
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

    /// Shuts the write half down (the peer reads the end of the stream).
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// A tokio listener; what it accepts is a [`TokioStream`].
struct TokioListener {
    listener: tokio::net::TcpListener,
    /// Entered around each accept: tokio registers the accepted stream there.
    handle: Handle,
}

impl TcpListenerImpl for TokioListener {
    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let _context = self.handle.enter();
        let (stream, peer) = ready!(self.listener.poll_accept(cx))?;
        Poll::Ready(Ok((TcpStream::new(TokioStream(stream)), peer)))
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

/// A tokio UDP socket.
struct TokioUdp(tokio::net::UdpSocket);

impl UdpSocketImpl for TokioUdp {
    fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.0.poll_send_to(cx, buf, target)
    }

    fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        let mut buf = ReadBuf::new(buf);
        let from = ready!(self.0.poll_recv_from(cx, &mut buf))?;
        Poll::Ready(Ok((buf.filled().len(), from)))
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

#[cfg(unix)]
pub(crate) use unix::{signal, watch_fd};

#[cfg(unix)]
mod unix {
    use std::io;
    use std::os::fd::{AsFd, OwnedFd};
    use std::task::{Context, Poll, ready};

    use looptime_api::io::{FdWatcher, FdWatcherImpl, Interest, SignalKind, Signals, SignalsImpl};
    use tokio::io::unix::AsyncFd;
    use tokio::runtime::Handle;

    /// Watches `fd` for `interest`; `fd` is closed on error.
    pub(crate) fn watch_fd(
        handle: &Handle,
        fd: OwnedFd,
        interest: Interest,
    ) -> io::Result<FdWatcher> {
        let tokio_interest = match interest {
            Interest::Readable => tokio::io::Interest::READABLE,
            Interest::Writable => tokio::io::Interest::WRITABLE,
        };
        let _context = handle.enter();
        // Newer tokio deprecates this safe constructor for an `unsafe` one, because an
        // arbitrary `AsRawFd` could hand out a different or closed descriptor later. An
        // `OwnedFd` owns one descriptor for its whole life, which is all that constructor
        // asks; this one also exists in every tokio the crate supports. On error the
        // descriptor is dropped, so closed.
        #[allow(deprecated)]
        let fd = AsyncFd::with_interest(fd, tokio_interest)?;
        Ok(FdWatcher::new(TokioFd { fd, interest }))
    }

    /// A stream of deliveries of the signal `kind`.
    pub(crate) fn signal(handle: &Handle, kind: SignalKind) -> io::Result<Signals> {
        let _context = handle.enter();
        let signal =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::from_raw(kind.as_raw()))?;
        Ok(Signals::new(TokioSignals(signal)))
    }

    /// A descriptor registered with tokio's reactor for one readiness.
    struct TokioFd {
        fd: AsyncFd<OwnedFd>,
        interest: Interest,
    }

    impl FdWatcherImpl for TokioFd {
        fn poll_with_ready(
            &self,
            cx: &mut Context<'_>,
            op: &mut dyn FnMut(std::os::fd::BorrowedFd<'_>) -> io::Result<()>,
        ) -> Poll<io::Result<()>> {
            loop {
                let mut guard = match self.interest {
                    Interest::Readable => ready!(self.fd.poll_read_ready(cx))?,
                    Interest::Writable => ready!(self.fd.poll_write_ready(cx))?,
                };
                // `try_io` clears the readiness on `WouldBlock`; the next turn waits again.
                if let Ok(result) = guard.try_io(|fd| op(fd.get_ref().as_fd())) {
                    return Poll::Ready(result);
                }
            }
        }

        fn interest(&self) -> Interest {
            self.interest
        }
    }

    /// A tokio signal stream.
    struct TokioSignals(tokio::signal::unix::Signal);

    impl SignalsImpl for TokioSignals {
        fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
            self.0.poll_recv(cx)
        }
    }
}
