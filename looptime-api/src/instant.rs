//! The crate's own instant: integer nanoseconds since a clock's origin (SPEC R2).

use core::fmt;
use core::ops::{Add, AddAssign, Sub, SubAssign};
use core::time::Duration;
use std::sync::OnceLock;

/// A point in time on a [`Clock`](crate::Clock): whole nanoseconds since the clock's origin.
///
/// All arithmetic is integer; nothing on the time path uses floating point. The operators
/// saturate instead of panicking (`Instant::MAX + 1s == Instant::MAX`, `earlier - later ==
/// Duration::ZERO`); the `checked_*` forms report overflow as `None`.
///
/// [`Instant::MAX`] means "never": a sleep until it never completes by itself, but it still
/// hears the end of time and the idle timeout of a scope (see
/// [`ClockExt::interruptible`](crate::ClockExt::interruptible)).
///
/// Origins: every real-time clock (the adapters') counts from one process-wide origin, so
/// their instants compare with each other. A virtual clock counts from loop time zero, so
/// `now().since_origin()` *is* the loop time. Instants from clocks with different origins
/// do not compare meaningfully.
///
/// ```
/// use looptime_api::Instant;
/// use std::time::Duration;
///
/// let t = Instant::from_nanos(1_500_000_000);
/// assert_eq!(t + Duration::from_millis(500), Instant::from_nanos(2_000_000_000));
/// assert_eq!(t - Instant::from_nanos(500_000_000), Duration::from_secs(1));
/// assert_eq!(Instant::MAX + Duration::from_secs(1), Instant::MAX); // saturates
/// assert_eq!(t.checked_add(Duration::MAX), None);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant {
    nanos: u64,
}

/// Converts a duration to whole nanoseconds, or `None` when it does not fit in `u64`.
pub(crate) fn duration_to_nanos(d: Duration) -> Option<u64> {
    u64::try_from(d.as_nanos()).ok()
}

impl Instant {
    /// The clock's origin.
    pub const ZERO: Instant = Instant { nanos: 0 };
    /// The latest representable instant; used as "never".
    pub const MAX: Instant = Instant { nanos: u64::MAX };

    /// The instant `nanos` nanoseconds after the origin.
    pub const fn from_nanos(nanos: u64) -> Self {
        Instant { nanos }
    }

    /// Nanoseconds since the origin.
    pub const fn as_nanos(self) -> u64 {
        self.nanos
    }

    /// The time elapsed between the origin and this instant.
    pub const fn since_origin(self) -> Duration {
        Duration::from_nanos(self.nanos)
    }

    /// Whether this is [`Instant::MAX`], the "never" instant.
    pub const fn is_never(self) -> bool {
        self.nanos == u64::MAX
    }

    /// `self + d`, or `None` on overflow.
    pub fn checked_add(self, d: Duration) -> Option<Self> {
        let d = duration_to_nanos(d)?;
        self.nanos.checked_add(d).map(Instant::from_nanos)
    }

    /// `self + d`, clamped to [`Instant::MAX`].
    pub fn saturating_add(self, d: Duration) -> Self {
        self.checked_add(d).unwrap_or(Instant::MAX)
    }

    /// `self - d`, or `None` if that would be before the origin.
    pub fn checked_sub(self, d: Duration) -> Option<Self> {
        let d = duration_to_nanos(d)?;
        self.nanos.checked_sub(d).map(Instant::from_nanos)
    }

    /// `self - d`, clamped to [`Instant::ZERO`].
    pub fn saturating_sub(self, d: Duration) -> Self {
        self.checked_sub(d).unwrap_or(Instant::ZERO)
    }

    /// The time from `earlier` to `self`, or `None` if `earlier` is later than `self`.
    pub fn checked_duration_since(self, earlier: Instant) -> Option<Duration> {
        self.nanos
            .checked_sub(earlier.nanos)
            .map(Duration::from_nanos)
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        self.checked_duration_since(earlier)
            .unwrap_or(Duration::ZERO)
    }

    /// Converts a real `std` instant to this type on the process-wide real-time origin.
    ///
    /// Instants before the origin map to [`Instant::ZERO`]. The origin is fixed the first
    /// time any real clock is read, so real clocks of all adapters agree with each other.
    pub fn from_std(instant: std::time::Instant) -> Self {
        let since = instant.saturating_duration_since(real_origin());
        Instant::from_nanos(duration_to_nanos(since).unwrap_or(u64::MAX))
    }

    /// Converts back to a real `std` instant on the process-wide origin, or `None` when it
    /// is not representable (such as [`Instant::MAX`]).
    pub fn to_std(self) -> Option<std::time::Instant> {
        if self.is_never() {
            return None;
        }
        real_origin().checked_add(self.since_origin())
    }
}

/// The process-wide origin of real-time instants.
fn real_origin() -> std::time::Instant {
    static ORIGIN: OnceLock<std::time::Instant> = OnceLock::new();
    *ORIGIN.get_or_init(std::time::Instant::now)
}

impl Add<Duration> for Instant {
    type Output = Instant;
    /// Saturating: never panics.
    fn add(self, d: Duration) -> Instant {
        self.saturating_add(d)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    /// Saturating at [`Instant::ZERO`]: never panics.
    fn sub(self, d: Duration) -> Instant {
        self.saturating_sub(d)
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, d: Duration) {
        *self = *self - d;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    /// Saturating at zero, like `std::time::Instant` since Rust 1.60.
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_never() {
            f.write_str("Instant(never)")
        } else {
            write!(f, "Instant({:?})", self.since_origin())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_and_checks() {
        let t = Instant::from_nanos(10);
        assert_eq!(t.checked_sub(Duration::from_nanos(11)), None);
        assert_eq!(t - Duration::from_nanos(11), Instant::ZERO);
        assert_eq!(Instant::ZERO - t, Duration::ZERO);
        assert_eq!(t.checked_duration_since(Instant::from_nanos(11)), None);
        assert_eq!(Instant::MAX.checked_add(Duration::from_nanos(1)), None);
        assert_eq!(Instant::ZERO.checked_add(Duration::MAX), None);
        assert_eq!(Instant::ZERO + Duration::MAX, Instant::MAX);
        let mut m = t;
        m += Duration::from_nanos(5);
        m -= Duration::from_nanos(1);
        assert_eq!(m.as_nanos(), 14);
    }

    #[test]
    fn std_round_trip() {
        let before_origin_fixed = std::time::Instant::now();
        let _ = Instant::from_std(std::time::Instant::now()); // fixes the origin
        assert!(
            Instant::from_std(before_origin_fixed) <= Instant::from_std(std::time::Instant::now())
        );
        let now = std::time::Instant::now();
        let ours = Instant::from_std(now);
        assert_eq!(ours.to_std(), Some(now));
        assert_eq!(Instant::MAX.to_std(), None);
        assert_eq!(format!("{:?}", Instant::MAX), "Instant(never)");
        assert_eq!(
            format!("{:?}", Instant::from_nanos(1_500_000_000)),
            "Instant(1.5s)"
        );
    }
}
