//! A lease renewer, generic over any [`Clock`].
//!
//! A lease (a lock, a leader election, a session) stays valid for a fixed duration after
//! each renewal. [`LeaseRenewer::run`] renews it every third of that duration, on a
//! [`ClockExt::interval`] whose ticks are scheduled on the clock's own time and never
//! drift. Each renewal runs under a [`ClockExt::timeout`] of one period, so a renewal
//! that fails or hangs is reported while the lease still has at least a third of its
//! duration left — time enough for the caller to step down cleanly.
//!
//! ```
//! use looptime_api::{Proxy, ReactorExt, Settings};
//! use looptime_examples::lease::LeaseRenewer;
//! use std::time::Duration;
//!
//! let runtime = looptime_tokio::Tokio::current_thread().unwrap();
//! let proxy = Proxy::new(&runtime);
//! let _on = proxy.setup_looptime(Settings::new()).unwrap();
//! let renewer = LeaseRenewer::new(Duration::from_secs(30)).unwrap();
//! let renewals = proxy
//!     .block_on(renewer.run(&proxy, Duration::from_secs(60), || async { Ok::<(), ()>(()) }))
//!     .unwrap()
//!     .unwrap();
//! let secs: Vec<u64> = renewals.iter().map(|d| d.as_secs()).collect();
//! assert_eq!(secs, [0, 10, 20, 30, 40, 50, 60]);
//! assert_eq!(proxy.looptime(), Duration::from_secs(60)); // exact
//! ```

use core::fmt;
use core::future::Future;
use core::time::Duration;

use looptime_api::{Clock, ClockExt, TimeError};

/// Renews a lease of a fixed duration every third of it; see [`run`](LeaseRenewer::run).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaseRenewer {
    lease: Duration,
    period: Duration,
}

impl LeaseRenewer {
    /// A renewer for a lease that stays valid for `lease` after each renewal.
    ///
    /// Returns `None` when `lease` is too short to divide into thirds (under 3 ns).
    pub fn new(lease: Duration) -> Option<Self> {
        let period = lease / 3;
        (!period.is_zero()).then_some(LeaseRenewer { lease, period })
    }

    /// How long the lease stays valid after a renewal.
    pub fn lease(&self) -> Duration {
        self.lease
    }

    /// The renewal period, and the timeout of each renewal: a third of the lease
    /// (integer division, rounded down to the nanosecond).
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Renews the lease with `renew` until `until` of clock time has passed.
    ///
    /// Renewals are started at `start`, `start + period`, `start + 2·period`, … where
    /// `start` is the clock's time at the call, up to and including `start + until`. Each
    /// call of `renew` must complete within one period. A renewal in progress at
    /// `start + until` is allowed to finish; otherwise the renewer returns at exactly
    /// `start + until`. An `until` of [`Duration::MAX`] renews until something fails.
    ///
    /// Returns the times (since `start`) at which each renewal completed.
    ///
    /// # Errors
    ///
    /// A [`LeaseError`] when a renewal returns an error ([`LeaseFailure::Rejected`]),
    /// does not complete within the period ([`LeaseFailure::Unanswered`]), or the clock
    /// stops before `until` ([`LeaseFailure::Stopped`], such as the end of virtual time).
    pub async fn run<C, F, Fut, E>(
        &self,
        clock: &C,
        until: Duration,
        mut renew: F,
    ) -> Result<Vec<Duration>, LeaseError<E>>
    where
        C: Clock + ?Sized,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<(), E>>,
    {
        let start = clock.now();
        let stop = start.saturating_add(until);
        let mut renewals = Vec::new();
        let mut ticks = clock.interval(self.period);
        loop {
            match clock.timeout_at(stop, ticks.tick()).await {
                Ok(_scheduled) => {}
                Err(e) if e.is_deadline() => return Ok(renewals),
                Err(e) => {
                    return Err(LeaseError::new(
                        clock,
                        start,
                        renewals,
                        LeaseFailure::Stopped(e),
                    ));
                }
            }
            let cause = match clock.timeout(self.period, renew()).await {
                Ok(Ok(())) => {
                    renewals.push(clock.now() - start);
                    continue;
                }
                Ok(Err(e)) => LeaseFailure::Rejected(e),
                Err(e) => LeaseFailure::Unanswered(e),
            };
            return Err(LeaseError::new(clock, start, renewals, cause));
        }
    }
}

/// Why a [`LeaseRenewer`] stopped before its `until`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeaseFailure<E> {
    /// A renewal returned this error.
    Rejected(E),
    /// A renewal did not complete in time: its timeout elapsed
    /// ([`TimeError::is_deadline`]), or the clock stopped during it.
    Unanswered(TimeError),
    /// The clock stopped while waiting for the next renewal (the end of virtual time, an
    /// idle timeout, a shut-down scope).
    Stopped(TimeError),
}

/// A [`LeaseRenewer`] stopped before its `until`: when, after which renewals, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseError<E> {
    /// The clock time (since the renewer started) at which it gave up.
    pub at: Duration,
    /// The times (since the renewer started) of the renewals that succeeded.
    pub renewals: Vec<Duration>,
    /// What went wrong.
    pub cause: LeaseFailure<E>,
}

impl<E> LeaseError<E> {
    fn new<C: Clock + ?Sized>(
        clock: &C,
        start: looptime_api::Instant,
        renewals: Vec<Duration>,
        cause: LeaseFailure<E>,
    ) -> Self {
        LeaseError {
            at: clock.now() - start,
            renewals,
            cause,
        }
    }
}

impl<E: fmt::Display> fmt::Display for LeaseError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "lease renewal stopped at {:?} after {} renewal(s): ",
            self.at,
            self.renewals.len()
        )?;
        match &self.cause {
            LeaseFailure::Rejected(e) => write!(f, "renewal rejected: {e}"),
            LeaseFailure::Unanswered(e) => write!(f, "renewal unanswered: {e}"),
            LeaseFailure::Stopped(e) => write!(f, "clock stopped: {e}"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for LeaseError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.cause {
            LeaseFailure::Rejected(e) => Some(e),
            LeaseFailure::Unanswered(e) | LeaseFailure::Stopped(e) => Some(e),
        }
    }
}
