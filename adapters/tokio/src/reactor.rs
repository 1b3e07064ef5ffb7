//! [`Reactor`] for [`Tokio`]: `block_on`, real-time sleeps, `yield_now`, and I/O.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
#[cfg(unix)]
use std::os::fd::OwnedFd;
use std::pin::{Pin, pin};
use std::sync::atomic::{Ordering, fence};
use std::task::Context;

#[cfg(unix)]
use looptime_api::io::{FdWatcher, Interest, SignalKind, Signals};
use looptime_api::io::{IoFuture, TcpListener, TcpStream, UdpSocket};
use looptime_api::{BoxFuture, Reactor, TimeError};
use tokio::runtime::Handle;

use crate::Tokio;

impl Reactor for Tokio {
    /// Runs `root` with `Runtime::block_on` when the `Tokio` owns its runtime, with
    /// `Handle::block_on` otherwise.
    ///
    /// # Panics
    ///
    /// When called from inside an async context of a tokio runtime (tokio forbids nested
    /// `block_on`): await [`Proxy::run`](looptime_api::Proxy::run) there instead.
    fn block_on_dyn(
        &self,
        root: Pin<&mut (dyn Future<Output = ()> + '_)>,
    ) -> Result<(), TimeError> {
        assert!(
            Handle::try_current().is_err(),
            "looptime: block_on called from inside a tokio runtime; await `Proxy::run(..)` there instead"
        );
        match self.owned.as_ref().and_then(|owned| owned.runtime()) {
            Some(runtime) => runtime.block_on(root),
            None => self.handle.block_on(root),
        }
        Ok(())
    }

    /// A tokio timer in real time (tokio's paused time, if its runtime pauses).
    fn sleep_real_until(&self, deadline: std::time::Instant) -> BoxFuture {
        let _context = self.handle.enter();
        Box::pin(tokio::time::sleep_until(deadline.into()))
    }

    /// One scheduler pass.
    ///
    /// Inside a tokio task (or a current-thread `block_on`) it is `tokio::task::yield_now`,
    /// which defers its wake until the driver has polled I/O, so every other ready task and
    /// the I/O run first. Outside the workers of a multi-thread runtime (its `block_on`
    /// thread), `yield_now` would wake at once without any worker taking a turn; there a
    /// pass is a round trip through the workers (see `passes`).
    fn yield_now(&self) -> BoxFuture {
        if self.off_the_workers() {
            self.passes.pass(&self.handle)
        } else {
            Box::pin(tokio::task::yield_now())
        }
    }

    /// The pass of [`yield_now`](Reactor::yield_now), without its box where it is
    /// `tokio::task::yield_now`: that future's first poll hands the waker to tokio, to be
    /// woken once, after the driver's I/O poll, so one poll of a fresh one starts the
    /// pass and the wake ends it. Off the workers of a multi-thread runtime the pass is
    /// the workers' round trip, which needs its future.
    fn start_pass(&self, cx: &mut Context<'_>) -> bool {
        if self.off_the_workers() {
            return false;
        }
        // Pending: the wake is deferred; the future itself holds nothing more.
        let _ = pin!(tokio::task::yield_now()).poll(cx);
        true
    }

    /// tokio's count of alive tasks (`RuntimeMetrics::num_alive_tasks`), less the pass
    /// helper of this adapter, plus the blocking jobs this adapter has in flight.
    /// `tokio::task::spawn_blocking` called directly is not counted (an escape hatch).
    ///
    /// Lock-free: a few atomic loads. The helper is left out only when its flag is up
    /// both before and after tokio's count is read: up before, it was counted before the
    /// count was read (it raises the flag at its first poll, after its spawn); still up
    /// after, its future was not dropped yet, so tokio had not let it go either. A helper
    /// starting or ending meanwhile is counted as outside work: too much, which is safe.
    fn alive_tasks(&self) -> Option<usize> {
        let helper_before = self.passes.helper_alive();
        let tasks = self.metrics.num_alive_tasks();
        // Keeps the count's load before the second look at the flag.
        fence(Ordering::Acquire);
        let helper = helper_before && self.passes.helper_alive();
        let tasks = tasks.saturating_sub(usize::from(helper));
        Some(tasks + self.blocking.load(Ordering::Acquire))
    }

    /// Connects with `tokio::net::TcpStream::connect`; the future may be polled anywhere.
    #[track_caller]
    fn connect_tcp(&self, addr: SocketAddr) -> IoFuture<TcpStream> {
        crate::io::connect_tcp(&self.handle, addr)
    }

    /// Binds a `tokio::net::TcpListener` (`SO_REUSEADDR` on Unix, a backlog of 1024).
    #[track_caller]
    fn bind_tcp(&self, addr: SocketAddr) -> io::Result<TcpListener> {
        crate::io::bind_tcp(&self.handle, addr)
    }

    /// Binds a `tokio::net::UdpSocket`.
    #[track_caller]
    fn bind_udp(&self, addr: SocketAddr) -> io::Result<UdpSocket> {
        crate::io::bind_udp(&self.handle, addr)
    }

    /// Registers `fd` in a `tokio::io::unix::AsyncFd` for `interest` alone.
    #[cfg(unix)]
    #[track_caller]
    fn watch_fd(&self, fd: OwnedFd, interest: Interest) -> io::Result<FdWatcher> {
        crate::io::watch_fd(&self.handle, fd, interest)
    }

    /// A `tokio::signal::unix::Signal` stream (tokio refuses `SIGKILL`, `SIGSTOP`, …).
    #[cfg(unix)]
    #[track_caller]
    fn signal(&self, kind: SignalKind) -> io::Result<Signals> {
        crate::io::signal(&self.handle, kind)
    }
}
