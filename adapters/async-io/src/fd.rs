//! Readiness watchers over `Async<OwnedFd>`.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::task::{Context, Poll, ready};

use async_io::Async;
use looptime_api::io::{FdWatcher, FdWatcherImpl, Interest};

/// Watches `fd` for `interest` with async-io's reactor. The watcher owns the descriptor:
/// it is put in non-blocking mode, and closed when the watcher is dropped (or at once, on
/// error).
pub fn watch_fd(fd: OwnedFd, interest: Interest) -> io::Result<FdWatcher> {
    let io = Async::new(fd)?;
    Ok(FdWatcher::new(Watcher { io, interest }))
}

/// A registered descriptor and the readiness it waits for.
struct Watcher {
    io: Async<OwnedFd>,
    interest: Interest,
}

impl FdWatcherImpl for Watcher {
    fn poll_with_ready(
        &self,
        cx: &mut Context<'_>,
        op: &mut dyn FnMut(BorrowedFd<'_>) -> io::Result<()>,
    ) -> Poll<io::Result<()>> {
        loop {
            match op(self.io.as_fd()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                result => return Poll::Ready(result),
            }
            ready!(match self.interest {
                Interest::Readable => self.io.poll_readable(cx),
                Interest::Writable => self.io.poll_writable(cx),
            })?;
        }
    }
    fn interest(&self) -> Interest {
        self.interest
    }
}
