//! [`Reactor`] for [`Smol`]: `block_on`, real-time sleeps, `yield_now`, the count of
//! alive work, and I/O.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
#[cfg(unix)]
use std::os::fd::OwnedFd;
use std::pin::{Pin, pin};

#[cfg(unix)]
use looptime_api::io::{FdWatcher, Interest, SignalKind, Signals};
use looptime_api::io::{IoFuture, TcpListener, TcpStream, UdpSocket};
use looptime_api::{BoxFuture, Reactor, TimeError};

use crate::Smol;
use crate::clock::RealTimer;

impl Reactor for Smol {
    /// `async_io::block_on(executor.run(root))`: runs the executor's tasks and the async-io
    /// reactor on the calling thread until `root` completes. Every poll of that loop is a
    /// scheduler pass for [`yield_now`](Reactor::yield_now).
    ///
    /// Nested calls (from inside a task or another `block_on`) work, as they do with
    /// `async_io::block_on`, but block the thread of the outer call meanwhile.
    fn block_on_dyn(
        &self,
        root: Pin<&mut (dyn Future<Output = ()> + '_)>,
    ) -> Result<(), TimeError> {
        let run = pin!(self.shared.executor.run(root));
        async_io::block_on(self.shared.passes.drive(run));
        Ok(())
    }

    /// An `async_io::Timer` at `deadline`, in real time.
    fn sleep_real_until(&self, deadline: std::time::Instant) -> BoxFuture {
        Box::pin(RealTimer::at(deadline))
    }

    /// One scheduler pass: completes once the `block_on` loop has come round, so the
    /// executor has run its ready tasks and the async-io reactor has polled I/O before the
    /// yielding task (or root future) is polled again. A yielding task resumes behind
    /// every task that was ready before it, including those the reactor just woke; the
    /// root resumes first in its round, so when more than one round's worth of tasks
    /// (200, async-executor's budget) was ready, the rest run just after it. Outside any
    /// `block_on` of this `Smol`, a plain self-wake. The crate docs have the details.
    fn yield_now(&self) -> BoxFuture {
        Box::pin(self.shared.passes.yield_now())
    }

    /// `Some(n)`: the tasks and blocking jobs started through this `Smol` (any clone) that
    /// have not finished yet.
    ///
    /// Exact for tasks, since no task reaches the executor except through
    /// [`Spawner`](looptime_api::Spawner) (the executor is never handed out); the root
    /// future of a `block_on` is not a task and is not counted. A task leaves the count
    /// when its future is dropped, just after any scope has forgotten it. Blocking jobs
    /// count too (from the call to their end): they are work that can wake a scope, so
    /// while one started outside a scope is running, the scope's passes are not skipped.
    fn alive_tasks(&self) -> Option<usize> {
        Some(self.alive())
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
