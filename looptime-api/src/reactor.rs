//! [`Reactor`] (SPEC R4): what only the runtime itself can do.

use core::future::Future;
use core::pin::{Pin, pin};
use core::time::Duration;
use std::sync::Arc;

use crate::TimeError;
#[cfg(unix)]
use crate::io::{FdWatcher, Interest, SignalKind, Signals};
use crate::io::{IoFuture, TcpListener, TcpStream, UdpSocket, unsupported};
use std::io;
use std::net::SocketAddr;
#[cfg(unix)]
use std::os::fd::OwnedFd;

/// A boxed future of the runtime's own making (real-time sleeps, yields).
pub type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// The runtime's own powers: run a root future from sync code, wait in *real* time, yield
/// to the scheduler, and make I/O.
///
/// # Contract
///
/// Implementations MUST guarantee:
/// - [`block_on_dyn`](Reactor::block_on_dyn) polls the root on the calling thread until it
///   completes, driving the runtime's timers and I/O meanwhile. A runtime returns `Ok(())`;
///   only a virtual clock (a [`Proxy`](crate::Proxy)) may end a run early with the
///   [`TimeError`] that stopped it.
/// - [`sleep_real_until`](Reactor::sleep_real_until) waits in real time, never compacted
///   by any virtual clock.
/// - [`yield_now`](Reactor::yield_now) completes after one full scheduler pass: other
///   ready tasks run and the runtime polls its I/O before the yielding task is polled
///   again (as `tokio::task::yield_now` does). Virtual time counts on this to see work
///   outside its scope. [`start_pass`](Reactor::start_pass), when it returns `true`, starts
///   the same pass.
/// - The I/O constructors ([`connect_tcp`](Reactor::connect_tcp),
///   [`bind_tcp`](Reactor::bind_tcp), [`bind_udp`](Reactor::bind_udp),
///   [`watch_fd`](Reactor::watch_fd), [`signal`](Reactor::signal)) make real, non-blocking
///   objects registered with the runtime's reactor, usable from any task of the runtime.
///   A runtime without one of them keeps the default, which fails with
///   [`io::ErrorKind::Unsupported`]. They are `#[track_caller]`, so a proxy records the line
///   that made each object.
pub trait Reactor: Send + Sync {
    /// Runs `root` to completion on the calling thread.
    ///
    /// # Panics
    ///
    /// An implementation may panic when called from inside an async context of its own
    /// runtime (as tokio does); use [`Proxy::run`](crate::Proxy::run) there instead.
    fn block_on_dyn(&self, root: Pin<&mut (dyn Future<Output = ()> + '_)>)
    -> Result<(), TimeError>;

    /// A future that completes at the real instant `deadline`.
    fn sleep_real_until(&self, deadline: std::time::Instant) -> BoxFuture;

    /// A future that completes after one scheduler pass (see the contract above).
    fn yield_now(&self) -> BoxFuture;

    /// Starts one scheduler pass without allocating, if this runtime can: arranges for
    /// `cx`'s waker to be woken once, when the pass that
    /// [`yield_now`](Reactor::yield_now) describes is over, and not before; returns
    /// `true`. The caller takes that wake as the end of the pass: it looks at its scope
    /// from the waker, so a pass ended early would let time jump past a task still in
    /// the middle of a yield. tokio's `yield_now` hands its waker to the scheduler in the
    /// same way, to be woken after the driver's I/O poll.
    ///
    /// Returns `false` (the default) when it cannot; the caller then awaits
    /// [`yield_now`](Reactor::yield_now) instead. Virtual time makes a pass before every
    /// jump (SPEC R9), so this keeps an allocation off that path.
    fn start_pass(&self, cx: &mut core::task::Context<'_>) -> bool {
        let _ = cx;
        false
    }

    /// How much work is alive on the runtime right now, if it can tell: tasks not yet
    /// dropped, plus blocking jobs in flight.
    ///
    /// A hint for virtual time (SPEC R9): when this equals the work of a scope, no work
    /// outside the scope can wake it, so the no-op passes before a jump are skipped (one
    /// pass still runs). Return `None` (the default) when unknown. Counting too much is
    /// safe (it only keeps the passes); counting too little makes time jump while outside
    /// work could still wake the scope.
    fn alive_tasks(&self) -> Option<usize> {
        None
    }

    /// Connects a TCP stream to `addr`.
    #[track_caller]
    fn connect_tcp(&self, addr: SocketAddr) -> IoFuture<TcpStream> {
        let _ = addr;
        Box::pin(core::future::ready(Err(unsupported("TCP streams"))))
    }

    /// Binds a TCP listener to `addr` (port 0 lets the OS choose).
    #[track_caller]
    fn bind_tcp(&self, addr: SocketAddr) -> io::Result<TcpListener> {
        let _ = addr;
        Err(unsupported("TCP listeners"))
    }

    /// Binds a UDP socket to `addr` (port 0 lets the OS choose).
    #[track_caller]
    fn bind_udp(&self, addr: SocketAddr) -> io::Result<UdpSocket> {
        let _ = addr;
        Err(unsupported("UDP sockets"))
    }

    /// Watches `fd` for `interest`; the watcher owns the descriptor (it is closed with the
    /// watcher, and on error).
    #[cfg(unix)]
    #[track_caller]
    fn watch_fd(&self, fd: OwnedFd, interest: Interest) -> io::Result<FdWatcher> {
        let _ = (fd, interest);
        Err(unsupported("fd watchers"))
    }

    /// A stream of deliveries of the Unix signal `kind`.
    ///
    /// Registering a signal replaces its default action for the rest of the process (as
    /// with tokio and `signal-hook`): a `SIGINT` no longer stops the process by itself.
    #[cfg(unix)]
    #[track_caller]
    fn signal(&self, kind: SignalKind) -> io::Result<Signals> {
        let _ = kind;
        Err(unsupported("signal streams"))
    }
}

/// Typed helpers on any [`Reactor`], including `dyn Reactor`.
pub trait ReactorExt: Reactor {
    /// Runs `future` to completion on the calling thread and returns its output.
    ///
    /// `Err` only when `self` is a proxy on virtual time whose end of time or idle timeout
    /// stopped the root future (SPEC R14).
    fn block_on<F: Future>(&self, future: F) -> Result<F::Output, TimeError> {
        let mut output = None;
        {
            let mut root = pin!(async {
                output = Some(future.await);
            });
            self.block_on_dyn(root.as_mut())?;
        }
        Ok(output.expect("a Reactor's block_on_dyn returned Ok before its root completed"))
    }

    /// Waits `duration` of real time.
    fn sleep_real(&self, duration: Duration) -> BoxFuture {
        match std::time::Instant::now().checked_add(duration) {
            Some(deadline) => self.sleep_real_until(deadline),
            None => Box::pin(core::future::pending()),
        }
    }

    /// Watches `fd` until it is readable: a *reader*.
    #[cfg(unix)]
    #[track_caller]
    fn watch_readable(&self, fd: OwnedFd) -> io::Result<FdWatcher> {
        self.watch_fd(fd, Interest::Readable)
    }

    /// Watches `fd` until it is writable: a *writer*.
    #[cfg(unix)]
    #[track_caller]
    fn watch_writable(&self, fd: OwnedFd) -> io::Result<FdWatcher> {
        self.watch_fd(fd, Interest::Writable)
    }
}

impl<R: Reactor + ?Sized> ReactorExt for R {}

macro_rules! forward_reactor {
    ($($ty:ty),*) => {$(
        impl<R: Reactor + ?Sized> Reactor for $ty {
            fn block_on_dyn(
                &self,
                root: Pin<&mut (dyn Future<Output = ()> + '_)>,
            ) -> Result<(), TimeError> {
                (**self).block_on_dyn(root)
            }
            fn sleep_real_until(&self, deadline: std::time::Instant) -> BoxFuture {
                (**self).sleep_real_until(deadline)
            }
            fn yield_now(&self) -> BoxFuture {
                (**self).yield_now()
            }
            fn start_pass(&self, cx: &mut core::task::Context<'_>) -> bool {
                (**self).start_pass(cx)
            }
            fn alive_tasks(&self) -> Option<usize> {
                (**self).alive_tasks()
            }
            fn connect_tcp(&self, addr: SocketAddr) -> IoFuture<TcpStream> {
                (**self).connect_tcp(addr)
            }
            fn bind_tcp(&self, addr: SocketAddr) -> io::Result<TcpListener> {
                (**self).bind_tcp(addr)
            }
            fn bind_udp(&self, addr: SocketAddr) -> io::Result<UdpSocket> {
                (**self).bind_udp(addr)
            }
            #[cfg(unix)]
            fn watch_fd(&self, fd: OwnedFd, interest: Interest) -> io::Result<FdWatcher> {
                (**self).watch_fd(fd, interest)
            }
            #[cfg(unix)]
            fn signal(&self, kind: SignalKind) -> io::Result<Signals> {
                (**self).signal(kind)
            }
        }
    )*};
}

forward_reactor!(&R, Box<R>, Arc<R>);
