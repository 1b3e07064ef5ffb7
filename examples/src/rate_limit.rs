//! A token-bucket rate limiter, generic over any [`Clock`].
//!
//! A [`TokenBucket`] holds up to `capacity` tokens and gains one every `refill` of clock
//! time. Each call that must be limited takes one token: [`try_acquire`](TokenBucket::try_acquire)
//! takes it at once or says how long until the next one, and
//! [`acquire`](TokenBucket::acquire) waits on the clock until one is there. A full bucket
//! lets a burst of `capacity` calls through at once; after that, calls go through at the
//! steady rate of one per `refill`.
//!
//! Refills are computed, not timed: the bucket keeps the instant at which its count was
//! last brought up to date and credits one token per whole `refill` since, with integer
//! arithmetic on the clock's [`Instant`]s. Nothing runs in the background, the schedule
//! never drifts, and on virtual time every token arrives at an exact loop time.
//!
//! ```
//! use looptime_api::{Proxy, ReactorExt, Settings};
//! use looptime_examples::rate_limit::TokenBucket;
//! use std::time::Duration;
//!
//! let runtime = looptime_tokio::Tokio::current_thread().unwrap();
//! let proxy = Proxy::new(&runtime);
//! let _on = proxy.setup_looptime(Settings::new()).unwrap();
//! // Bursts of up to 5 calls, then one call every 2 s.
//! let bucket = TokenBucket::new(&proxy, 5, Duration::from_secs(2)).unwrap();
//! let times = proxy
//!     .block_on(async {
//!         let mut times = Vec::new();
//!         for _ in 0..8 {
//!             bucket.acquire().await;
//!             times.push(proxy.looptime().as_secs());
//!         }
//!         times
//!     })
//!     .unwrap();
//! assert_eq!(times, [0, 0, 0, 0, 0, 2, 4, 6]); // exact, in microseconds of real time
//! assert!(bucket.try_acquire().is_err());
//! ```

use core::fmt;
use core::time::Duration;
use std::sync::{Mutex, MutexGuard};

use looptime_api::{Clock, ClockExt, Instant};

/// A token bucket: bursts of up to `capacity`, then one token per `refill` of the clock's
/// time. See the [module docs](self).
///
/// The bucket owns its clock handle `C`: a runtime adapter or a
/// [`Proxy`](looptime_api::Proxy) (cheap to clone), a reference `&C`, or a shared
/// `Arc<dyn Clock>`. It is `Sync` when `C` is, so tasks can share it by reference or in
/// an `Arc`; the count sits behind a mutex that is never held across an await.
pub struct TokenBucket<C: ?Sized> {
    capacity: u32,
    refill: Duration,
    state: Mutex<State>,
    clock: C,
}

/// The count, as of `updated`.
#[derive(Clone, Copy, Debug)]
struct State {
    /// Tokens in the bucket.
    tokens: u32,
    /// When `tokens` was last brought up to date. While the bucket is not full, the next
    /// token arrives at `updated + refill`; a full bucket gains nothing, so it moves
    /// `updated` along with the clock.
    updated: Instant,
}

/// No token right now; from [`TokenBucket::try_acquire`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exhausted {
    /// How long, on the bucket's clock, until the next token arrives.
    pub retry_after: Duration,
}

impl fmt::Display for Exhausted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rate limited: the next token comes in {:?}",
            self.retry_after
        )
    }
}

impl std::error::Error for Exhausted {}

impl<C: Clock> TokenBucket<C> {
    /// A full bucket of `capacity` tokens on `clock`, gaining one token every `refill`.
    ///
    /// Returns `None` for a zero `capacity` (nothing could ever pass) or a zero `refill`
    /// (no limit at all).
    pub fn new(clock: C, capacity: u32, refill: Duration) -> Option<Self> {
        if capacity == 0 || refill.is_zero() {
            return None;
        }
        let state = State {
            tokens: capacity,
            updated: clock.now(),
        };
        Some(TokenBucket {
            capacity,
            refill,
            state: Mutex::new(state),
            clock,
        })
    }
}

impl<C: Clock + ?Sized> TokenBucket<C> {
    /// The most tokens the bucket holds: the longest burst.
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// The clock time it takes to gain one token: the steady rate is one call per
    /// `refill`.
    pub fn refill(&self) -> Duration {
        self.refill
    }

    /// The clock the bucket refills on.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// The tokens in the bucket now.
    pub fn available(&self) -> u32 {
        self.refilled().tokens
    }

    /// Takes a token if there is one.
    ///
    /// # Errors
    ///
    /// [`Exhausted`], with the clock time until the next token, when the bucket is empty.
    pub fn try_acquire(&self) -> Result<(), Exhausted> {
        let now = self.clock.now();
        let mut state = self.refilled_at(now);
        if state.tokens > 0 {
            state.tokens -= 1;
            return Ok(());
        }
        let next = state.updated.saturating_add(self.refill);
        Err(Exhausted {
            retry_after: next.saturating_duration_since(now),
        })
    }

    /// Takes a token, waiting on the clock until one arrives.
    ///
    /// Cancel-safe: dropping the future before it completes takes nothing. Waiters are
    /// not queued: when one token arrives for several of them, whichever is polled first
    /// takes it and the others wait for the next.
    pub async fn acquire(&self) {
        loop {
            match self.try_acquire() {
                Ok(()) => return,
                Err(exhausted) => self.clock.sleep(exhausted.retry_after).await,
            }
        }
    }

    /// The state brought up to date with the clock.
    fn refilled(&self) -> MutexGuard<'_, State> {
        self.refilled_at(self.clock.now())
    }

    /// The state brought up to date as of `now`, locked.
    fn refilled_at(&self, now: Instant) -> MutexGuard<'_, State> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.tokens >= self.capacity {
            state.updated = now;
            return state;
        }
        let elapsed = now.saturating_duration_since(state.updated);
        let gained = elapsed.as_nanos() / self.refill.as_nanos();
        let room = self.capacity - state.tokens;
        if gained >= u128::from(room) {
            state.tokens = self.capacity;
            state.updated = now;
        } else {
            // `gained < room <= u32::MAX`, so the conversion is exact; and
            // `refill * gained <= elapsed`, so the product cannot overflow.
            let gained = gained as u32;
            state.tokens += gained;
            state.updated = state.updated.saturating_add(self.refill * gained);
        }
        state
    }
}

impl<C: ?Sized> fmt::Debug for TokenBucket<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = *self.state.lock().unwrap_or_else(|p| p.into_inner());
        f.debug_struct("TokenBucket")
            .field("capacity", &self.capacity)
            .field("refill", &self.refill)
            .field("tokens", &state.tokens)
            .field("updated", &state.updated)
            .finish_non_exhaustive()
    }
}
