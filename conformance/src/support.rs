//! Helpers shared by the scenarios: checks, proxies on virtual time, an outside-thread
//! channel, CPU time, and a warning counter.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use looptime_api::{LooptimeGuard, Proxy, Settings};

use crate::{Backend, Ctx, Failure};

/// Fails the scenario with a message unless `cond` holds.
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err($crate::Failure::new(format!($($msg)+)).into());
        }
    };
}

/// Fails the scenario with "what: expected E, got A" unless `actual == expected`.
macro_rules! ensure_eq {
    ($actual:expr, $expected:expr, $($what:tt)+) => {{
        let actual = $actual;
        let expected = $expected;
        if actual != expected {
            return Err($crate::Failure::new(format!(
                "{}: expected {:?}, got {:?}",
                format_args!($($what)+),
                expected,
                actual
            ))
            .into());
        }
    }};
}

pub(crate) use {ensure, ensure_eq};

pub(crate) fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub(crate) fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

/// Runs `attempt` once on a single-threaded backend, and up to three times on a
/// multi-threaded one, passing on the first success.
///
/// For checks that are exact on one thread but only overwhelmingly likely on several:
/// there, the OS may preempt a worker in the middle of a task it took for longer than
/// any number of scheduler passes lasts, and no executor can promise more than "taken".
pub(crate) fn on_attempts<B: Backend, T>(
    mut attempt: impl FnMut() -> Result<T, Failure>,
) -> Result<T, Failure> {
    let tries = if B::SINGLE_THREADED { 1 } else { 3 };
    let mut result = attempt();
    for _ in 1..tries {
        if result.is_ok() {
            break;
        }
        result = attempt();
    }
    result
}

/// A proxy over a fresh runtime of `B`, on virtual time with `settings`.
pub(crate) fn virtual_proxy<B: Backend>(
    settings: Settings,
) -> Result<(Proxy, LooptimeGuard), Failure> {
    let proxy = Proxy::new(&B::runtime());
    let guard = proxy.setup_looptime(settings)?;
    Ok((proxy, guard))
}

/// A proxy over a fresh runtime of `B`, on the runtime's real time.
pub(crate) fn real_proxy<B: Backend>() -> Proxy {
    Proxy::new(&B::runtime())
}

/// Checks `real <= bound` (with the context's headroom).
pub(crate) fn real_below(
    ctx: &Ctx,
    real: Duration,
    bound: Duration,
    what: &str,
) -> Result<(), Failure> {
    let limit = ctx.upper(bound);
    if real > limit {
        return Err(Failure::over_time(format!(
            "{what}: real time {real:?} exceeds {limit:?} (SPEC bound {bound:?})"
        )));
    }
    Ok(())
}

/// Checks `real >= bound` (always exact).
pub(crate) fn real_at_least(real: Duration, bound: Duration, what: &str) -> Result<(), Failure> {
    if real < bound {
        return Err(Failure::new(format!(
            "{what}: real time {real:?} is below {bound:?}"
        )));
    }
    Ok(())
}

/// An unbounded channel whose sender works from any thread, with no runtime behind it:
/// the receiver is woken like I/O would wake it, from outside the scope.
pub(crate) fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Mutex::new(ChannelState {
        queue: VecDeque::new(),
        waker: None,
        senders: 1,
    }));
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

struct ChannelState<T> {
    queue: VecDeque<T>,
    waker: Option<Waker>,
    senders: usize,
}

/// The sending half of [`channel`].
pub(crate) struct Sender<T> {
    shared: Arc<Mutex<ChannelState<T>>>,
}

impl<T> Sender<T> {
    pub(crate) fn send(&self, value: T) {
        let mut state = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        state.queue.push_back(value);
        if let Some(waker) = state.waker.take() {
            waker.wake();
        }
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .senders += 1;
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut state = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        state.senders -= 1;
        if state.senders == 0
            && let Some(waker) = state.waker.take()
        {
            waker.wake();
        }
    }
}

/// The receiving half of [`channel`].
pub(crate) struct Receiver<T> {
    shared: Arc<Mutex<ChannelState<T>>>,
}

impl<T> Receiver<T> {
    /// The next value; `None` once every sender is gone.
    pub(crate) fn recv(&mut self) -> Recv<'_, T> {
        Recv { receiver: self }
    }
}

/// The future of [`Receiver::recv`].
pub(crate) struct Recv<'a, T> {
    receiver: &'a mut Receiver<T>,
}

impl<T> Future for Recv<'_, T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut state = self
            .receiver
            .shared
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(value) = state.queue.pop_front() {
            return Poll::Ready(Some(value));
        }
        if state.senders == 0 {
            return Poll::Ready(None);
        }
        state.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// CPU time used by the calling thread so far, where the OS tells (Linux).
pub(crate) fn thread_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

/// Counts `WARN` events emitted on the calling thread while it is the default subscriber.
#[derive(Clone, Default)]
pub(crate) struct WarnCounter {
    count: Arc<AtomicUsize>,
}

impl WarnCounter {
    pub(crate) fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
}

impl tracing::Subscriber for WarnCounter {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        *metadata.level() <= tracing::Level::WARN
    }

    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        if *event.metadata().level() == tracing::Level::WARN {
            self.count.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

/// A small deterministic generator (xorshift64*), for seeded random scenarios.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}
