//! The atomics of wake tracking and idle detection.
//!
//! They are std's (and futures' `AtomicWaker`), or [loom]'s when the crate is built with
//! `--cfg looptime_loom` for the concurrency model of `proxy::loom_model` (see
//! `docs/reliability.md`). Only what decides whether time may move goes through here:
//! the per-task state and its runtime waker, `busy`, the wake epoch and the driver's
//! waker, so the model explores every interleaving of exactly those.
//!
//! [loom]: https://docs.rs/loom

#[cfg(not(looptime_loom))]
pub(crate) use futures_util::task::AtomicWaker;
#[cfg(looptime_loom)]
pub(crate) use loom::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize};
#[cfg(not(looptime_loom))]
pub(crate) use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize};

/// loom's `AtomicWaker` with the methods of futures' one that the crate uses.
#[cfg(looptime_loom)]
pub(crate) struct AtomicWaker(loom::future::AtomicWaker);

#[cfg(looptime_loom)]
impl AtomicWaker {
    pub(crate) fn new() -> Self {
        AtomicWaker(loom::future::AtomicWaker::new())
    }

    pub(crate) fn register(&self, waker: &core::task::Waker) {
        self.0.register_by_ref(waker);
    }

    pub(crate) fn wake(&self) {
        self.0.wake();
    }
}
