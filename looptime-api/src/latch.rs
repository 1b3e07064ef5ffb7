//! [`Latch`]: a one-shot flag set from any thread and awaited by a future.

use core::fmt;
use core::task::{Context, Poll};
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::task::AtomicWaker;

/// A one-shot flag: one side [`set`](Latch::set)s it, from any thread; a future waits for
/// it with [`poll_wait`](Latch::poll_wait).
///
/// For adapters, which complete a scheduler pass (see
/// [`Reactor::yield_now`](crate::Reactor::yield_now)) from whichever thread ran it.
///
/// ```
/// use looptime_api::Latch;
/// use std::sync::Arc;
///
/// let latch = Arc::new(Latch::new());
/// let setter = latch.clone();
/// std::thread::spawn(move || setter.set()).join().unwrap();
/// assert!(latch.is_set());
/// ```
#[derive(Default)]
pub struct Latch {
    set: AtomicBool,
    waker: AtomicWaker,
}

impl Latch {
    /// An unset latch.
    pub fn new() -> Latch {
        Latch::default()
    }

    /// Sets the latch and wakes its waiter; setting it again does nothing.
    pub fn set(&self) {
        if !self.set.swap(true, Ordering::AcqRel) {
            self.waker.wake();
        }
    }

    /// Whether it is set.
    pub fn is_set(&self) -> bool {
        self.set.load(Ordering::Acquire)
    }

    /// `Ready` once set; otherwise registers `cx`'s waker to be woken by [`set`](Latch::set).
    pub fn poll_wait(&self, cx: &mut Context<'_>) -> Poll<()> {
        self.waker.register(cx.waker());
        if self.is_set() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl fmt::Debug for Latch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Latch")
            .field("set", &self.is_set())
            .finish()
    }
}
