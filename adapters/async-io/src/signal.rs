//! Unix signal streams over [`async_signal::Signals`].

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use async_signal::Signal;
use futures_lite::Stream;
use looptime_api::io::{SignalKind, Signals, SignalsImpl};

/// The signals a stream can be made for: all of async-signal's but `SIGKILL` and
/// `SIGSTOP` (which cannot be caught) and `SIGILL`, `SIGFPE` and `SIGSEGV` (which
/// `signal-hook-registry` refuses: a handler cannot resume after them).
const WATCHABLE: &[Signal] = &[
    Signal::Hup,
    Signal::Int,
    Signal::Quit,
    Signal::Trap,
    Signal::Abort,
    Signal::Bus,
    Signal::Usr1,
    Signal::Usr2,
    Signal::Pipe,
    Signal::Alarm,
    Signal::Term,
    Signal::Child,
    Signal::Cont,
    Signal::Tstp,
    Signal::Ttin,
    Signal::Ttou,
    Signal::Urg,
    Signal::Xcpu,
    Signal::Xfsz,
    Signal::Vtalarm,
    Signal::Prof,
    Signal::Winch,
    #[cfg(not(target_os = "haiku"))]
    Signal::Io,
    Signal::Sys,
];

/// A stream of deliveries of `kind` ([`async_signal::Signals`], read through async-io's
/// reactor).
///
/// Registering replaces the signal's default action for the rest of the process. Fails
/// with [`io::ErrorKind::InvalidInput`] for a signal that cannot be handled (`SIGKILL`,
/// `SIGSTOP`, `SIGILL`, `SIGFPE`, `SIGSEGV`) or that async-signal does not know (real-time
/// signals).
pub fn signal(kind: SignalKind) -> io::Result<Signals> {
    let raw = kind.as_raw();
    let Some(&signal) = WATCHABLE.iter().find(|s| **s as i32 == raw) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("signal {raw} cannot be watched"),
        ));
    };
    let inner = async_signal::Signals::new([signal])?;
    Ok(Signals::new(Deliveries { inner }))
}

/// The stream of one signal's deliveries.
struct Deliveries {
    inner: async_signal::Signals,
}

impl SignalsImpl for Deliveries {
    /// One item for every delivery since the last item, however many there were: the
    /// queued deliveries are drained (while the stream is ready) and coalesced. The stream
    /// ends if reading the deliveries fails, which async-signal's own pipe never does.
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        let mut delivered = false;
        loop {
            match Pin::new(&mut self.inner).poll_next(cx) {
                Poll::Ready(Some(Ok(_))) => delivered = true,
                Poll::Ready(Some(Err(_)) | None) => return Poll::Ready(None),
                Poll::Pending if delivered => return Poll::Ready(Some(())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
