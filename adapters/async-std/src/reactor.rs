//! [`Reactor`] for [`AsyncStd`]: `block_on`, real-time sleeps, `yield_now`, and I/O.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
#[cfg(unix)]
use std::os::fd::OwnedFd;
use std::pin::Pin;

use async_io::Timer;
#[cfg(unix)]
use looptime_api::io::{FdWatcher, Interest, SignalKind, Signals};
use looptime_api::io::{IoFuture, TcpListener, TcpStream, UdpSocket};
use looptime_api::{BoxFuture, Reactor, TimeError};

use crate::AsyncStd;
use crate::passes;

impl Reactor for AsyncStd {
    /// Runs `root` with `async_std::task::block_on`, which polls it on the calling thread
    /// (neither `Send` nor `'static` is needed) while async-std's workers run the spawned
    /// tasks and async-io drives timers and I/O.
    ///
    /// async-std allows a nested `block_on` (from inside a task or another `block_on`); it
    /// blocks the thread it is called on until the root completes. Inside async code,
    /// prefer awaiting [`Proxy::run`](looptime_api::Proxy::run).
    fn block_on_dyn(
        &self,
        root: Pin<&mut (dyn Future<Output = ()> + '_)>,
    ) -> Result<(), TimeError> {
        async_std::task::block_on(root);
        Ok(())
    }

    /// An async-io timer at the real instant `deadline` (`async_io::Timer::at`).
    fn sleep_real_until(&self, deadline: std::time::Instant) -> BoxFuture {
        Box::pin(async move {
            Timer::at(deadline).await;
        })
    }

    /// One scheduler pass: a trip through async-std's worker threads.
    ///
    /// It spawns a small task on the global executor, behind every task already
    /// runnable there, and completes when a worker has polled it; a root of `block_on`
    /// is then woken through `async_io::block_on`, which polls the reactor first.
    /// `async_std::task::yield_now` alone is not a pass: in a `block_on` root it returns
    /// without any worker taking a turn, and in a task it is a single trip through the
    /// queue, which often ends before the tasks other workers took have finished their
    /// poll.
    fn yield_now(&self) -> BoxFuture {
        Box::pin(passes::pass())
    }

    /// Always `None`: async-std's executor is global to the process and shared by
    /// everything that calls `async_std::task::spawn` anywhere, and it exposes no count
    /// of its tasks. Virtual time therefore always gives outside work its full
    /// `noop_cycles` passes before it jumps.
    fn alive_tasks(&self) -> Option<usize> {
        None
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
