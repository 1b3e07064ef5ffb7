//! [`Settings`] of a virtual clock (SPEC §4) and their validation.

use core::fmt;
use core::time::Duration;

use crate::instant::duration_to_nanos;

/// The configuration of a proxy's virtual clock; the names are those of Python's looptime.
///
/// | setting | default | meaning |
/// |---|---|---|
/// | `start` | none: 0, or the current loop time on a repeated setup | loop time at setup |
/// | `end` | none | loop time at which time ends (inclusive) |
/// | `resolution` | 1 µs | tick size; deadlines are rounded *up* to it |
/// | `noop_cycles` | 42 | scheduler passes given to outside work before time may move |
/// | `idle_step` | none | step of fake-and-real time while waiting on blocking work or I/O |
/// | `idle_timeout` | 1 s | real-time limit on waiting when only I/O or outside events can wake the scope |
/// | `io_patience` | 1 s | real time that timers wait for tracked I/O in flight before they compact again |
///
/// ## Timers while I/O is in flight: `io_patience`
///
/// A test that waits on a real socket under a timeout (`timeout(3600s, read)`) has a timer
/// pending *and* a task waiting on I/O. Jumping straight to the timer, as tokio's paused
/// clock does, fails the timeout at once even when the peer answers 200 ms later. So while
/// a task waits on an I/O object made through the proxy (a stream, listener, UDP socket,
/// fd watcher or signal stream whose last poll returned `Pending`, or a connection in
/// progress), time does not jump: it moves as it does for blocking work (SPEC R11) — in
/// steps of `idle_step` that take the same real time, or, with `idle_step` unset, up to the
/// next deadline in real time. This lasts while there was I/O activity (an object made, a
/// wait started, or a poll that made progress) within the last `io_patience` of real time;
/// after that much silence the I/O is taken for stalled and timers compact again, until the
/// next activity. So:
/// - a peer that answers within `io_patience` is awaited, and loop time follows real time
///   (exactly with `idle_step`, otherwise it stays until a deadline is reached);
/// - a silent peer under `timeout(3600s, …)` still fails at loop time exactly 3600 s, after
///   about `io_patience` of real time;
/// - code with no tracked I/O in flight compacts instantly, as before.
///
/// `None` turns this off: timers compact whatever I/O is in flight (tokio's behaviour).
/// The default of 1 s matches `idle_timeout`: one second of real silence is what virtual
/// time gives I/O before it acts on its own. I/O made directly with the runtime (not
/// through the proxy) is not seen.
///
/// Deadlines round *up* to the resolution, so a timer never fires early and one less than
/// half a tick away still fires, at the next tick (SPEC R15).
///
/// ```
/// use looptime_api::Settings;
/// use std::time::Duration;
///
/// let settings = Settings::new()
///     .end(Duration::from_secs(10))
///     .idle_step(Duration::from_millis(10));
/// assert_eq!(settings.noop_cycles, 42);
/// assert!(settings.validate().is_ok());
/// assert!(Settings::new().resolution(Duration::ZERO).validate().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Settings {
    /// Loop time at setup; `None` keeps the current loop time (0 on a first setup).
    pub start: Option<Duration>,
    /// Absolute loop time at which time ends (inclusive: a wait until `end` fails).
    pub end: Option<Duration>,
    /// Tick size. Must be at least 1 ns.
    pub resolution: Duration,
    /// Scheduler passes with no wake before time may jump (SPEC R9).
    pub noop_cycles: u32,
    /// Step of fake-and-real time while waiting on blocking work or I/O (SPEC R11, R12).
    pub idle_step: Option<Duration>,
    /// Real-time limit on waiting when only I/O or outside events can wake the scope.
    pub idle_timeout: Option<Duration>,
    /// Real time that timers wait for tracked I/O in flight before they compact again
    /// (see the section above); `None` compacts regardless.
    pub io_patience: Option<Duration>,
}

/// The largest accepted `noop_cycles`: more would make every jump take seconds.
pub const MAX_NOOP_CYCLES: u32 = 1_000_000;

impl Default for Settings {
    fn default() -> Self {
        Settings {
            start: None,
            end: None,
            resolution: Duration::from_micros(1),
            noop_cycles: 42,
            idle_step: None,
            idle_timeout: Some(Duration::from_secs(1)),
            io_patience: Some(Duration::from_secs(1)),
        }
    }
}

impl Settings {
    /// The defaults of the table above.
    pub fn new() -> Self {
        Settings::default()
    }

    /// Sets `start`.
    pub fn start(mut self, start: Duration) -> Self {
        self.start = Some(start);
        self
    }

    /// Sets `end`.
    pub fn end(mut self, end: Duration) -> Self {
        self.end = Some(end);
        self
    }

    /// Sets `resolution`.
    pub fn resolution(mut self, resolution: Duration) -> Self {
        self.resolution = resolution;
        self
    }

    /// Sets `noop_cycles`.
    pub fn noop_cycles(mut self, cycles: u32) -> Self {
        self.noop_cycles = cycles;
        self
    }

    /// Sets `idle_step`.
    pub fn idle_step(mut self, step: Duration) -> Self {
        self.idle_step = Some(step);
        self
    }

    /// Sets `idle_timeout`; `None` waits for I/O without limit.
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Sets `io_patience`; `None` lets timers compact while I/O is in flight.
    pub fn io_patience(mut self, patience: Option<Duration>) -> Self {
        self.io_patience = patience;
        self
    }

    /// Checks the settings on their own: a zero or oversized resolution, a zero
    /// `idle_step`, `end` before `start`, too many `noop_cycles`, or a duration that does
    /// not fit the clock (about 584 years) is an error.
    pub fn validate(&self) -> Result<(), SetupError> {
        self.resolved(0).map(|_| ())
    }

    /// Validates against the current loop time `now` (nanoseconds) and converts to nanos.
    pub(crate) fn resolved(&self, now: u64) -> Result<Resolved, SetupError> {
        let nanos = |field: &'static str, d: Duration| {
            duration_to_nanos(d).ok_or(SetupError::TooLarge { field, value: d })
        };
        let resolution = nanos("resolution", self.resolution)?;
        if resolution == 0 {
            return Err(SetupError::ZeroResolution);
        }
        if self.noop_cycles > MAX_NOOP_CYCLES {
            return Err(SetupError::TooManyNoopCycles(self.noop_cycles));
        }
        let idle_step = match self.idle_step {
            Some(step) if step.is_zero() => return Err(SetupError::ZeroIdleStep),
            Some(step) => Some(nanos("idle_step", step)?),
            None => None,
        };
        let round = |field, d: Duration| -> Result<u64, SetupError> {
            let n = nanos(field, d)?;
            ceil_to(n, resolution).ok_or(SetupError::TooLarge { field, value: d })
        };
        let start = match self.start {
            Some(start) => round("start", start)?,
            None => ceil_to(now, resolution).unwrap_or(now),
        };
        let end = match self.end {
            Some(end) => {
                let end_ns = round("end", end)?;
                if end_ns < start {
                    return Err(SetupError::EndBeforeStart {
                        start: Duration::from_nanos(start),
                        end,
                    });
                }
                Some(end_ns)
            }
            None => None,
        };
        Ok(Resolved {
            start,
            end,
            resolution,
            noop_cycles: self.noop_cycles,
            idle_step,
            idle_timeout: self.idle_timeout,
            io_patience: self.io_patience,
        })
    }
}

/// Settings converted to integer nanoseconds, checked.
#[derive(Clone, Debug)]
pub(crate) struct Resolved {
    pub(crate) start: u64,
    pub(crate) end: Option<u64>,
    pub(crate) resolution: u64,
    pub(crate) noop_cycles: u32,
    pub(crate) idle_step: Option<u64>,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) io_patience: Option<Duration>,
}

/// Rounds `n` up to a multiple of `resolution`; `None` on overflow.
pub(crate) fn ceil_to(n: u64, resolution: u64) -> Option<u64> {
    let rem = n % resolution;
    if rem == 0 {
        Some(n)
    } else {
        n.checked_add(resolution - rem)
    }
}

/// Virtual time could not be set up or switched on.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SetupError {
    /// `resolution` is zero.
    ZeroResolution,
    /// `idle_step` is zero (time would never move while waiting).
    ZeroIdleStep,
    /// `end` is before `start` (or before the current loop time, on a repeated setup).
    EndBeforeStart {
        /// The loop time at setup.
        start: Duration,
        /// The requested end.
        end: Duration,
    },
    /// A duration does not fit the clock (about 584 years).
    TooLarge {
        /// The setting's name.
        field: &'static str,
        /// Its value.
        value: Duration,
    },
    /// `noop_cycles` is above [`MAX_NOOP_CYCLES`].
    TooManyNoopCycles(u32),
    /// Virtual time is already on for this proxy (a guard is alive).
    AlreadyEnabled,
    /// The proxy was shut down.
    ShutDown,
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetupError::ZeroResolution => {
                f.write_str("invalid looptime settings: resolution must be at least 1ns")
            }
            SetupError::ZeroIdleStep => {
                f.write_str("invalid looptime settings: idle_step must be positive (or None)")
            }
            SetupError::EndBeforeStart { start, end } => write!(
                f,
                "invalid looptime settings: end ({end:?}) is before the start of loop time ({start:?})"
            ),
            SetupError::TooLarge { field, value } => write!(
                f,
                "invalid looptime settings: {field} = {value:?} does not fit the clock (max ~584 years)"
            ),
            SetupError::TooManyNoopCycles(n) => write!(
                f,
                "invalid looptime settings: noop_cycles = {n} is above the maximum of {MAX_NOOP_CYCLES}"
            ),
            SetupError::AlreadyEnabled => f.write_str(
                "virtual time is already enabled on this proxy: drop the LooptimeGuard first",
            ),
            SetupError::ShutDown => {
                f.write_str("cannot set up virtual time: the proxy was shut down")
            }
        }
    }
}

impl std::error::Error for SetupError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_input() {
        let d = Duration::from_secs;
        assert_eq!(
            Settings::new().resolution(Duration::ZERO).validate(),
            Err(SetupError::ZeroResolution)
        );
        assert_eq!(
            Settings::new().idle_step(Duration::ZERO).validate(),
            Err(SetupError::ZeroIdleStep)
        );
        assert!(matches!(
            Settings::new().start(d(5)).end(d(1)).validate(),
            Err(SetupError::EndBeforeStart { .. })
        ));
        assert!(matches!(
            Settings::new().end(Duration::MAX).validate(),
            Err(SetupError::TooLarge { field: "end", .. })
        ));
        assert!(matches!(
            Settings::new().resolution(Duration::MAX).validate(),
            Err(SetupError::TooLarge {
                field: "resolution",
                ..
            })
        ));
        assert_eq!(
            Settings::new().noop_cycles(u32::MAX).validate(),
            Err(SetupError::TooManyNoopCycles(u32::MAX))
        );
        // An end equal to the start is allowed: time is over from the start.
        assert!(Settings::new().start(d(1)).end(d(1)).validate().is_ok());
        // A huge but representable resolution is fine.
        assert!(Settings::new().resolution(d(3600)).validate().is_ok());
    }

    #[test]
    fn rounds_up_to_resolution() {
        assert_eq!(ceil_to(0, 1000), Some(0));
        assert_eq!(ceil_to(1, 1000), Some(1000));
        assert_eq!(ceil_to(1000, 1000), Some(1000));
        assert_eq!(ceil_to(u64::MAX, 1000), None);
        let r = Settings::new()
            .resolution(Duration::from_millis(1))
            .start(Duration::from_micros(1500))
            .resolved(0)
            .unwrap();
        assert_eq!(r.start, 2_000_000);
        let r = Settings::new().resolved(7).unwrap();
        assert_eq!(
            r.start, 1000,
            "a kept loop time is rounded up to a whole tick"
        );
    }
}
