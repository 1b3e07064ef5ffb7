//! A retrying caller with exponential backoff and seeded jitter, generic over any
//! [`Clock`].
//!
//! [`retry`] calls a fallible async operation up to [`RetryPolicy::max_attempts`] times.
//! After each failure but the last it sleeps on the clock for the current backoff delay,
//! which starts at [`RetryPolicy::first_delay`] and is multiplied by
//! [`RetryPolicy::factor`] after every sleep, never exceeding [`RetryPolicy::max_delay`].
//!
//! With [`RetryPolicy::jitter`] set, each delay is shortened by a pseudo-random amount
//! drawn from a generator seeded by the caller ([`Jitter`]), so that many clients started
//! together do not retry in lockstep. The same seed always gives the same delays: a test
//! on virtual time can assert the exact loop time of every attempt.
//!
//! The schedule uses integer [`Duration`] arithmetic only; every multiplication
//! saturates, so no policy can overflow or panic.
//!
//! ```
//! use looptime_api::{Proxy, ReactorExt, Settings};
//! use looptime_examples::retry::{RetryPolicy, retry};
//! use std::time::Duration;
//!
//! let runtime = looptime_tokio::Tokio::current_thread().unwrap();
//! let proxy = Proxy::new(&runtime);
//! let _on = proxy.setup_looptime(Settings::new()).unwrap();
//! let policy = RetryPolicy {
//!     first_delay: Duration::from_secs(1),
//!     factor: 2,
//!     max_delay: Duration::from_secs(60),
//!     max_attempts: 10,
//!     jitter: None,
//! };
//! let answer = proxy
//!     .block_on(retry(&proxy, &policy, |attempt| async move {
//!         if attempt < 3 { Err("busy") } else { Ok(attempt) }
//!     }))
//!     .unwrap();
//! assert_eq!(answer, Ok(3));
//! assert_eq!(proxy.looptime(), Duration::from_secs(1 + 2)); // exact
//! ```

use core::fmt;
use core::future::Future;
use core::time::Duration;

use looptime_api::{Clock, ClockExt};

/// How [`retry`] spaces and limits its attempts.
///
/// The base delay slept after the `n`-th failure (`n` starting at 1) is
/// `min(first_delay · factorⁿ⁻¹, max_delay)`, computed with saturating integer arithmetic.
/// A `factor` of 1 gives a constant delay; a `factor` of 0 retries at once after the first
/// delay. With [`jitter`](RetryPolicy::jitter), each delay actually slept is the base delay
/// shortened by a seeded pseudo-random amount; see [`Jitter`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The delay after the first failure (capped at `max_delay`).
    pub first_delay: Duration,
    /// What each delay is multiplied by to give the next one.
    pub factor: u32,
    /// The longest delay ever slept between two attempts.
    pub max_delay: Duration,
    /// The most times the operation is called; 0 is treated as 1 (there is always at
    /// least one attempt).
    pub max_attempts: u32,
    /// Seeded jitter applied to every delay, or `None` for the exact base delays.
    pub jitter: Option<Jitter>,
}

impl Default for RetryPolicy {
    /// 100 ms, doubling, capped at 30 s, at most 5 attempts, no jitter.
    fn default() -> Self {
        RetryPolicy {
            first_delay: Duration::from_millis(100),
            factor: 2,
            max_delay: Duration::from_secs(30),
            max_attempts: 5,
            jitter: None,
        }
    }
}

/// Seeded jitter for a [`RetryPolicy`]: each delay `d` is shortened by a pseudo-random
/// amount between 0 and `d · percent / 100`, in whole microseconds.
///
/// The amounts come from a SplitMix64 generator started from `seed`, one number per
/// delay, so a policy's delays are a pure function of the policy: every call of
/// [`retry`] with it sleeps the same schedule, and a test can assert that schedule
/// exactly. Give each client its own seed (from a host name, a process id, the wall
/// clock, …) so that clients failing together spread their retries apart. The generator
/// is small and fast, and not suitable for anything secret.
///
/// `percent` is clamped to 100: a `percent` of 100 is "full jitter" (anywhere from 0 to
/// the base delay), 50 keeps at least half of every delay, and 0 leaves the delays exact.
///
/// ```
/// use looptime_examples::retry::{Jitter, RetryPolicy};
/// use std::time::Duration;
///
/// let policy = RetryPolicy {
///     first_delay: Duration::from_secs(1),
///     factor: 2,
///     max_delay: Duration::from_secs(60),
///     max_attempts: 5,
///     jitter: Some(Jitter::new(7, 50)),
/// };
/// let delays: Vec<Duration> = policy.delays().collect();
/// assert_eq!(delays, policy.delays().collect::<Vec<_>>()); // the same seed, the same delays
/// for (n, delay) in (1..).zip(&delays) {
///     let base = policy.delay_after(n);
///     assert!(*delay <= base && *delay >= base / 2, "{delay:?} after {n}");
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Jitter {
    /// Where the pseudo-random sequence starts: the same seed gives the same delays.
    pub seed: u64,
    /// The most that may be taken off a delay, in percent of it (clamped to 100).
    pub percent: u8,
}

impl Jitter {
    /// Jitter of up to `percent` % of each delay, drawn from the sequence of `seed`.
    pub const fn new(seed: u64, percent: u8) -> Self {
        Jitter { seed, percent }
    }

    /// `delay`, shortened by a number of microseconds drawn from `random`: uniformly
    /// (up to the bias of a modulo) between 0 and `delay · percent / 100`.
    fn apply(&self, delay: Duration, random: &mut SplitMix64) -> Duration {
        let draw = random.next_u64();
        let percent = u128::from(self.percent.min(100));
        let most = delay.as_micros() * percent / 100;
        let off = match u64::try_from(most) {
            Ok(most) if most < u64::MAX => draw % (most + 1),
            _ => draw,
        };
        delay.saturating_sub(Duration::from_micros(off))
    }
}

/// The SplitMix64 generator (Steele, Lea and Flood): one 64-bit state, advanced by a
/// constant and mixed. Every seed, 0 included, starts a full-period sequence.
#[derive(Clone, Debug)]
struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl RetryPolicy {
    /// The number of attempts [`retry`] makes at most: `max_attempts`, but at least 1.
    pub fn attempts(&self) -> u32 {
        self.max_attempts.max(1)
    }

    /// The base delay (before any jitter) after the `failures`-th failure (counting from
    /// 1), if another attempt follows it. `delay_after(0)` is zero.
    ///
    /// ```
    /// use looptime_examples::retry::RetryPolicy;
    /// use std::time::Duration;
    ///
    /// let policy = RetryPolicy {
    ///     first_delay: Duration::from_secs(1),
    ///     factor: 3,
    ///     max_delay: Duration::from_secs(20),
    ///     max_attempts: 10,
    ///     jitter: None,
    /// };
    /// assert_eq!(policy.delay_after(1), Duration::from_secs(1));
    /// assert_eq!(policy.delay_after(3), Duration::from_secs(9));
    /// assert_eq!(policy.delay_after(4), Duration::from_secs(20)); // 27 s, capped
    /// assert_eq!(policy.delay_after(u32::MAX), Duration::from_secs(20));
    /// ```
    pub fn delay_after(&self, failures: u32) -> Duration {
        if failures == 0 {
            return Duration::ZERO;
        }
        let mut delay = self.first_delay.min(self.max_delay);
        for _ in 1..failures {
            let next = self.next_delay(delay);
            if next == delay {
                // A fixed point (the cap, or a factor of 0 or 1): nothing changes any more.
                break;
            }
            delay = next;
        }
        delay
    }

    /// The delays [`retry`] sleeps when every attempt fails, in order, jitter included:
    /// one fewer than [`attempts`](RetryPolicy::attempts). The `n`-th is
    /// [`delay_after(n)`](RetryPolicy::delay_after), shortened by the jitter's `n`-th
    /// draw.
    ///
    /// ```
    /// use looptime_examples::retry::RetryPolicy;
    /// use std::time::Duration;
    ///
    /// let policy = RetryPolicy {
    ///     first_delay: Duration::from_secs(1),
    ///     factor: 2,
    ///     max_delay: Duration::from_secs(5),
    ///     max_attempts: 6,
    ///     jitter: None,
    /// };
    /// let secs: Vec<u64> = policy.delays().map(|d| d.as_secs()).collect();
    /// assert_eq!(secs, [1, 2, 4, 5, 5]);
    /// ```
    pub fn delays(&self) -> impl Iterator<Item = Duration> + '_ {
        let first = self.first_delay.min(self.max_delay);
        let mut jitter = self.jitter.map(|j| (j, SplitMix64::new(j.seed)));
        core::iter::successors(Some(first), |&delay| Some(self.next_delay(delay)))
            .take(self.attempts().saturating_sub(1) as usize)
            .map(move |delay| match &mut jitter {
                Some((jitter, random)) => jitter.apply(delay, random),
                None => delay,
            })
    }

    /// The sum of the base delays, saturating: the clock time [`retry`] spends sleeping
    /// when every attempt fails — exactly without jitter, at most with it.
    ///
    /// Computed in a few steps even for `max_attempts` near `u32::MAX`: once the delay
    /// stops changing (at the cap), the remaining sleeps are added in one multiplication.
    pub fn total_backoff(&self) -> Duration {
        let mut remaining = self.attempts() - 1;
        let mut total = Duration::ZERO;
        let mut delay = self.first_delay.min(self.max_delay);
        while remaining > 0 {
            total = total.saturating_add(delay);
            remaining -= 1;
            let next = self.next_delay(delay);
            if next == delay {
                let rest = delay.checked_mul(remaining).unwrap_or(Duration::MAX);
                return total.saturating_add(rest);
            }
            delay = next;
        }
        total
    }

    /// The base delay that follows `delay`: multiplied by `factor`, saturating, capped.
    fn next_delay(&self, delay: Duration) -> Duration {
        delay
            .checked_mul(self.factor)
            .unwrap_or(Duration::MAX)
            .min(self.max_delay)
    }
}

/// [`retry`] gave up: every attempt failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryError<E> {
    /// How many times the operation was called.
    pub attempts: u32,
    /// The clock time from the first call to giving up.
    pub elapsed: Duration,
    /// The error of the last attempt.
    pub last_error: E,
}

impl<E: fmt::Display> fmt::Display for RetryError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "gave up after {} attempt(s) over {:?}: {}",
            self.attempts, self.elapsed, self.last_error
        )
    }
}

impl<E: std::error::Error + 'static> std::error::Error for RetryError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.last_error)
    }
}

/// Calls `op` until it succeeds, at most [`policy.attempts()`](RetryPolicy::attempts)
/// times, sleeping on `clock` for the backoff delays ([`RetryPolicy::delays`], jitter
/// included) between failures.
///
/// `op` receives the attempt number, starting at 1. Its future runs to completion each
/// time (wrap it in [`ClockExt::timeout`] to bound a single attempt). No delay is slept
/// after the last failure: the error comes back as soon as the last attempt fails.
///
/// # Errors
///
/// A [`RetryError`] holding the last attempt's error when every attempt failed.
pub async fn retry<C, F, Fut, T, E>(
    clock: &C,
    policy: &RetryPolicy,
    mut op: F,
) -> Result<T, RetryError<E>>
where
    C: Clock + ?Sized,
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let start = clock.now();
    let mut delays = policy.delays();
    let mut attempt = 1;
    loop {
        let error = match op(attempt).await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        match delays.next() {
            Some(delay) => clock.sleep(delay).await,
            None => {
                return Err(RetryError {
                    attempts: attempt,
                    elapsed: clock.now() - start,
                    last_error: error,
                });
            }
        }
        attempt += 1;
    }
}
