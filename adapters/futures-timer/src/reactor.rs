//! [`Reactor`] for [`Futures`]: `block_on`, real-time sleeps, passes, the task count and I/O.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
#[cfg(unix)]
use std::os::fd::OwnedFd;
use std::pin::Pin;

#[cfg(unix)]
use looptime_api::io::{FdWatcher, Interest, SignalKind, Signals};
use looptime_api::io::{IoFuture, TcpListener, TcpStream, UdpSocket};
use looptime_api::{BoxFuture, Reactor, TimeError};

use crate::Futures;
use crate::clock::DelayUntil;

impl Reactor for Futures {
    /// Runs `root` with [`futures::executor::block_on`] on the calling thread; the pool
    /// and the futures-timer thread run meanwhile.
    ///
    /// # Panics
    ///
    /// When called from inside a `futures` executor (a task of the pool, or another
    /// `block_on`), which the `futures` executors forbid: await
    /// [`Proxy::run`](looptime_api::Proxy::run) there instead.
    fn block_on_dyn(
        &self,
        root: Pin<&mut (dyn Future<Output = ()> + '_)>,
    ) -> Result<(), TimeError> {
        // `enter` fails inside an executor; its guard is released at once.
        let nested = futures::executor::enter().is_err();
        assert!(
            !nested,
            "looptime: block_on called from inside a futures executor; await `Proxy::run(..)` there instead"
        );
        futures::executor::block_on(root);
        Ok(())
    }

    /// A futures-timer delay, re-armed until `deadline` is reached.
    fn sleep_real_until(&self, deadline: std::time::Instant) -> BoxFuture {
        Box::pin(DelayUntil::new(deadline))
    }

    /// One scheduler pass: a round trip through the pool's queue (see `passes`): one trip
    /// from a task of the pool, two from any other thread (the `block_on` thread). When
    /// no task or blocking job is alive on the runtime as the pass begins (its first
    /// poll), no task can be ready or in the middle of a yield, and the pool has no I/O
    /// to poll: the pass is then a self-wake, with no trip.
    fn yield_now(&self) -> BoxFuture {
        Box::pin(self.inner.passes.pass())
    }

    /// The exact number of tasks and blocking jobs this runtime has alive (the pass
    /// markers of `yield_now` are not counted).
    fn alive_tasks(&self) -> Option<usize> {
        Some(self.inner.tasks.alive())
    }

    /// A TCP stream on async-io's reactor ([`looptime_async_io::connect_tcp`]).
    fn connect_tcp(&self, addr: SocketAddr) -> IoFuture<TcpStream> {
        looptime_async_io::connect_tcp(addr)
    }

    /// A TCP listener on async-io's reactor ([`looptime_async_io::bind_tcp`]).
    fn bind_tcp(&self, addr: SocketAddr) -> io::Result<TcpListener> {
        looptime_async_io::bind_tcp(addr)
    }

    /// A UDP socket on async-io's reactor ([`looptime_async_io::bind_udp`]).
    fn bind_udp(&self, addr: SocketAddr) -> io::Result<UdpSocket> {
        looptime_async_io::bind_udp(addr)
    }

    /// A watcher on async-io's reactor ([`looptime_async_io::watch_fd`]).
    #[cfg(unix)]
    fn watch_fd(&self, fd: OwnedFd, interest: Interest) -> io::Result<FdWatcher> {
        looptime_async_io::watch_fd(fd, interest)
    }

    /// A signal stream from async-signal, read on async-io's reactor
    /// ([`looptime_async_io::signal`]).
    #[cfg(unix)]
    fn signal(&self, kind: SignalKind) -> io::Result<Signals> {
        looptime_async_io::signal(kind)
    }
}
