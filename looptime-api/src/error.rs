//! Errors that say which clock expired (SPEC R14), and errors for refused work.

use core::fmt;
use core::time::Duration;
use std::panic::Location;

/// A wait ended without its future completing: which clock expired, and why.
///
/// One type for every way a fallible wait ([`timeout`](crate::ClockExt::timeout),
/// [`timeout_at`](crate::ClockExt::timeout_at),
/// [`interruptible`](crate::ClockExt::interruptible)) or a whole
/// [`Proxy::run`](crate::Proxy::run) can end early. Ask it with the predicates; the
/// message names the timeline (virtual loop time or real time) so nobody hunts a slow
/// machine that isn't there.
///
/// ```
/// use looptime_api::TimeError;
/// use std::time::Duration;
///
/// let e = TimeError::end_of_time(Duration::from_secs(10));
/// assert!(e.is_end_of_time() && !e.is_deadline() && !e.is_idle_timeout());
/// assert!(e.to_string().contains("virtual"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct TimeError {
    kind: Kind,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Deadline { virtual_time: bool },
    EndOfTime { end: Duration },
    IdleTimeout { idle: Duration },
    ShutDown,
    RuntimeGone,
}

impl TimeError {
    /// The caller's own deadline elapsed. `virtual_time` tells whether the clock that
    /// measured it was a virtual one (for the message).
    pub fn deadline(virtual_time: bool) -> Self {
        TimeError {
            kind: Kind::Deadline { virtual_time },
        }
    }

    /// Virtual time reached the scope's `end` (SPEC R13).
    pub fn end_of_time(end: Duration) -> Self {
        TimeError {
            kind: Kind::EndOfTime { end },
        }
    }

    /// Nothing woke the scope for `idle` of *real* time while only I/O or outside events
    /// could (SPEC R12).
    pub fn idle_timeout(idle: Duration) -> Self {
        TimeError {
            kind: Kind::IdleTimeout { idle },
        }
    }

    /// The wait belongs to a proxy that was shut down, or was started after it was.
    pub fn shut_down() -> Self {
        TimeError {
            kind: Kind::ShutDown,
        }
    }

    /// The runtime under the proxy dropped the task that waits for the proxy's timers (the
    /// runtime was shut down): the wait can never complete.
    /// [`is_shut_down`](TimeError::is_shut_down) is true for it too.
    pub fn runtime_gone() -> Self {
        TimeError {
            kind: Kind::RuntimeGone,
        }
    }

    /// Whether the caller's own deadline (of `timeout`/`timeout_at`) elapsed.
    pub fn is_deadline(&self) -> bool {
        matches!(self.kind, Kind::Deadline { .. })
    }

    /// Whether virtual time reached the scope's `end`.
    pub fn is_end_of_time(&self) -> bool {
        matches!(self.kind, Kind::EndOfTime { .. })
    }

    /// Whether the real-time idle limit expired.
    pub fn is_idle_timeout(&self) -> bool {
        matches!(self.kind, Kind::IdleTimeout { .. })
    }

    /// Whether the owning proxy was shut down.
    pub fn is_shut_down(&self) -> bool {
        matches!(self.kind, Kind::ShutDown | Kind::RuntimeGone)
    }
}

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            Kind::Deadline { virtual_time: true } => {
                f.write_str("deadline elapsed (virtual time: no real time was spent waiting)")
            }
            Kind::Deadline {
                virtual_time: false,
            } => f.write_str("deadline elapsed (real time)"),
            Kind::EndOfTime { end } => write!(
                f,
                "end of time: virtual loop time reached its end at {end:?} (Settings::end)"
            ),
            Kind::IdleTimeout { idle } => write!(
                f,
                "idle timeout: nothing woke the scope for {idle:?} of real time while only I/O \
                 or outside events could (Settings::idle_timeout)"
            ),
            Kind::ShutDown => f.write_str("the proxy was shut down and accepts no new waits"),
            Kind::RuntimeGone => f.write_str(
                "the runtime under the proxy is shut down: it dropped the task that waits for \
                 the proxy's timers, so this wait can never complete",
            ),
        }
    }
}

impl fmt::Debug for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TimeError({self})")
    }
}

impl std::error::Error for TimeError {}

/// A spawner refused new work.
///
/// [`SpawnerExt::spawn`](crate::SpawnerExt::spawn) turns it into a
/// [`JoinHandle`](crate::JoinHandle) that resolves to an error at once;
/// [`SpawnerExt::try_spawn`](crate::SpawnerExt::try_spawn) returns it directly.
#[derive(Clone, PartialEq, Eq)]
pub struct SpawnError {
    scope: Option<&'static Location<'static>>,
    reason: &'static str,
}

impl SpawnError {
    /// The proxy created at `scope` was shut down.
    pub fn shut_down(scope: &'static Location<'static>) -> Self {
        SpawnError {
            scope: Some(scope),
            reason: "it was shut down",
        }
    }

    /// The runtime itself is gone (shut down or dropped).
    pub fn runtime_gone() -> Self {
        SpawnError {
            scope: None,
            reason: "the runtime is shut down",
        }
    }

    /// Whether the refusal came from a proxy that was shut down.
    pub fn is_shut_down(&self) -> bool {
        self.scope.is_some()
    }
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scope {
            Some(at) => write!(
                f,
                "cannot spawn: the proxy created at {at} refuses work because {}",
                self.reason
            ),
            None => write!(f, "cannot spawn: {}", self.reason),
        }
    }
}

impl fmt::Debug for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpawnError({self})")
    }
}

impl std::error::Error for SpawnError {}

/// [`Proxy::advance_time`](crate::Proxy::advance_time) could not shift time.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum AdvanceError {
    /// The shift does not fit: the resulting time would pass the latest representable
    /// instant (about 584 years). Nothing moved.
    Overflow {
        /// The requested shift.
        by: Duration,
    },
    /// The proxy was shut down.
    ShutDown,
    /// The shift reached the virtual end of time; time stopped at `end`.
    EndOfTime(TimeError),
}

impl fmt::Display for AdvanceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdvanceError::Overflow { by } => {
                write!(
                    f,
                    "cannot advance time by {by:?}: the result overflows the clock"
                )
            }
            AdvanceError::ShutDown => f.write_str("cannot advance time: the proxy was shut down"),
            AdvanceError::EndOfTime(e) => write!(f, "advancing time stopped: {e}"),
        }
    }
}

impl std::error::Error for AdvanceError {}
