//! Unix signal streams: [`Signals`].

use core::fmt;
use core::future::poll_fn;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_util::Stream;

/// A Unix signal, by number (`SIGINT`, `SIGUSR1`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SignalKind(i32);

impl SignalKind {
    /// The signal numbered `signum` (a `libc::SIG*` constant).
    pub const fn from_raw(signum: i32) -> Self {
        SignalKind(signum)
    }

    /// Its number.
    pub const fn as_raw(self) -> i32 {
        self.0
    }

    /// `SIGINT`: interrupt from the terminal (Ctrl-C).
    pub const fn interrupt() -> Self {
        SignalKind(libc::SIGINT)
    }

    /// `SIGTERM`: a request to terminate.
    pub const fn terminate() -> Self {
        SignalKind(libc::SIGTERM)
    }

    /// `SIGHUP`: the terminal hung up; by convention, reload the configuration.
    pub const fn hangup() -> Self {
        SignalKind(libc::SIGHUP)
    }

    /// `SIGUSR1`: user-defined.
    pub const fn user_defined1() -> Self {
        SignalKind(libc::SIGUSR1)
    }

    /// `SIGUSR2`: user-defined.
    pub const fn user_defined2() -> Self {
        SignalKind(libc::SIGUSR2)
    }
}

/// What a runtime adapter implements to back [`Signals`].
pub trait SignalsImpl: Send + 'static {
    /// The next delivery of the signal (`Some(())`), the end of the stream (`None`), or
    /// registers `cx` to be woken on the next delivery.
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>>;
}

/// A stream of deliveries of one Unix signal, from
/// [`Reactor::signal`](crate::Reactor::signal).
///
/// Deliveries that arrive while nobody polls are coalesced, as the OS does. It is a
/// [`Stream`] of `()`; it ends (`None`) once closed by a proxy's shutdown.
pub struct Signals {
    inner: Box<dyn SignalsImpl>,
}

impl Signals {
    /// Wraps a runtime's signal stream (for adapters).
    pub fn new(inner: impl SignalsImpl) -> Self {
        Signals {
            inner: Box::new(inner),
        }
    }

    /// Waits for the next delivery; `None` once the stream is closed.
    pub async fn recv(&mut self) -> Option<()> {
        poll_fn(|cx| self.inner.poll_recv(cx)).await
    }
}

impl SignalsImpl for Signals {
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        self.inner.poll_recv(cx)
    }
}

impl Stream for Signals {
    type Item = ();
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        self.inner.poll_recv(cx)
    }
}

impl fmt::Debug for Signals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signals").finish_non_exhaustive()
    }
}
