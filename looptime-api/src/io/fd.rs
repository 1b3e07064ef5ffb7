//! Readiness watchers on raw file descriptors: [`FdWatcher`].

use core::fmt;
use core::future::poll_fn;
use core::task::{Context, Poll};
use std::io;
use std::os::fd::BorrowedFd;

/// Which readiness an [`FdWatcher`] waits for: it makes a *reader* or a *writer*, in
/// aioloop-proxy's words (the `READERS` and `WRITERS` kinds of
/// [`CheckKind`](crate::CheckKind)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Interest {
    /// Wait until the descriptor is readable.
    Readable,
    /// Wait until the descriptor is writable.
    Writable,
}

/// What a runtime adapter implements to back an [`FdWatcher`].
pub trait FdWatcherImpl: Send + Sync + 'static {
    /// Runs `op` on the descriptor once it is ready for the watcher's interest. When `op`
    /// fails with [`io::ErrorKind::WouldBlock`], the readiness is cleared and the wait
    /// starts again (registering `cx`); any other outcome is returned.
    fn poll_with_ready(
        &self,
        cx: &mut Context<'_>,
        op: &mut dyn FnMut(BorrowedFd<'_>) -> io::Result<()>,
    ) -> Poll<io::Result<()>>;

    /// The readiness it waits for.
    fn interest(&self) -> Interest;
}

/// A readiness watcher on a file descriptor it owns, from
/// [`Reactor::watch_fd`](crate::Reactor::watch_fd) (or `watch_readable`/`watch_writable`
/// of [`ReactorExt`](crate::ReactorExt)).
///
/// The watcher owns the descriptor: dropping it (or a proxy's shutdown) deregisters and
/// closes it. The descriptor is lent only to the operation run when it is ready, so nothing
/// can use it after it is closed. The descriptor should be in non-blocking mode.
///
/// ```
/// use looptime_api::{Proxy, ReactorExt};
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream;
///
/// let runtime = looptime_tokio::Tokio::current_thread().unwrap();
/// let proxy = Proxy::new(&runtime);
/// let (ours, mut theirs) = UnixStream::pair().unwrap();
/// ours.set_nonblocking(true).unwrap();
/// // The watcher owns a duplicate of the descriptor; the operation reads through `ours`.
/// let reader = proxy.watch_readable(ours.try_clone().unwrap().into()).unwrap();
/// theirs.write_all(b"x").unwrap();
/// let mut buf = [0u8; 8];
/// let n = proxy.block_on(reader.with_ready(|_fd| (&ours).read(&mut buf))).unwrap().unwrap();
/// assert_eq!(&buf[..n], b"x");
/// ```
pub struct FdWatcher {
    inner: Box<dyn FdWatcherImpl>,
}

impl FdWatcher {
    /// Wraps a runtime's watcher (for adapters).
    pub fn new(inner: impl FdWatcherImpl) -> Self {
        FdWatcher {
            inner: Box::new(inner),
        }
    }

    /// Runs `op` on the descriptor once it is ready, again after each
    /// [`WouldBlock`](io::ErrorKind::WouldBlock), and returns its first other outcome.
    pub async fn with_ready<T>(
        &self,
        mut op: impl FnMut(BorrowedFd<'_>) -> io::Result<T>,
    ) -> io::Result<T> {
        let mut output = None;
        poll_fn(|cx| {
            self.inner.poll_with_ready(cx, &mut |fd| {
                output = Some(op(fd)?);
                Ok(())
            })
        })
        .await?;
        Ok(output.expect("a watcher reported success without running the operation"))
    }

    /// The poll form of [`with_ready`](FdWatcher::with_ready).
    pub fn poll_with_ready(
        &self,
        cx: &mut Context<'_>,
        op: &mut dyn FnMut(BorrowedFd<'_>) -> io::Result<()>,
    ) -> Poll<io::Result<()>> {
        self.inner.poll_with_ready(cx, op)
    }

    /// The readiness it waits for.
    pub fn interest(&self) -> Interest {
        self.inner.interest()
    }
}

impl FdWatcherImpl for FdWatcher {
    fn poll_with_ready(
        &self,
        cx: &mut Context<'_>,
        op: &mut dyn FnMut(BorrowedFd<'_>) -> io::Result<()>,
    ) -> Poll<io::Result<()>> {
        self.inner.poll_with_ready(cx, op)
    }
    fn interest(&self) -> Interest {
        self.inner.interest()
    }
}

impl fmt::Debug for FdWatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FdWatcher")
            .field("interest", &self.interest())
            .finish()
    }
}
