//! The timer queue of one proxy: a binary heap keyed by `(tick, seq)`.
//!
//! Equal ticks fire in insertion order (`seq`), so equal deadlines are FIFO. Cancelled
//! entries are deleted lazily (a dropped `Sleep` only flips its entry's state, O(1)) and
//! purged in bulk once they outnumber the live ones. Firing the `k` entries due at a tick
//! costs O(k log n).

use std::cmp::{Ordering as CmpOrdering, Reverse};
use std::collections::BinaryHeap;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};

use futures_util::task::AtomicWaker;

use super::settings::ceil_to;
use crate::TimeError;

const PENDING: u8 = 0;
const FIRED: u8 = 1;
const CANCELLED: u8 = 2;
const INTERRUPTED: u8 = 3;

/// One pending wait; shared by its `Sleep` and the queue.
pub(crate) struct TimerEntry {
    /// The raw deadline, in local nanoseconds.
    pub(crate) deadline: u64,
    pub(crate) site: &'static Location<'static>,
    state: AtomicU8,
    /// Set once the entry was polled as a fallible wait (timeout, interruptible).
    fallible: AtomicBool,
    interruption: OnceLock<TimeError>,
    pub(crate) waker: AtomicWaker,
}

/// What a poll of an entry found.
pub(crate) enum EntryState {
    Pending,
    Fired,
    Interrupted(TimeError),
}

impl TimerEntry {
    pub(crate) fn new(deadline: u64, site: &'static Location<'static>) -> Self {
        TimerEntry {
            deadline,
            site,
            state: AtomicU8::new(PENDING),
            fallible: AtomicBool::new(false),
            interruption: OnceLock::new(),
            waker: AtomicWaker::new(),
        }
    }

    pub(crate) fn state(&self) -> EntryState {
        match self.state.load(Ordering::Acquire) {
            FIRED => EntryState::Fired,
            INTERRUPTED => EntryState::Interrupted(
                self.interruption
                    .get()
                    .cloned()
                    .unwrap_or_else(TimeError::shut_down),
            ),
            _ => EntryState::Pending,
        }
    }

    pub(crate) fn mark_fallible(&self) {
        if !self.fallible.load(Ordering::Relaxed) {
            self.fallible.store(true, Ordering::Relaxed);
        }
    }

    pub(crate) fn is_fallible(&self) -> bool {
        self.fallible.load(Ordering::Relaxed)
    }

    fn is_pending(&self) -> bool {
        self.state.load(Ordering::Acquire) == PENDING
    }

    /// Pending → cancelled; `true` if this call cancelled it.
    pub(crate) fn cancel(&self) -> bool {
        self.state
            .compare_exchange(PENDING, CANCELLED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    fn fire(&self) -> bool {
        self.state
            .compare_exchange(PENDING, FIRED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    fn interrupt(&self, error: &TimeError) -> bool {
        // The error is written before the state flips, so readers of INTERRUPTED find it.
        let _ = self.interruption.set(error.clone());
        self.state
            .compare_exchange(PENDING, INTERRUPTED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }
}

struct Key {
    tick: u64,
    seq: u64,
    entry: Arc<TimerEntry>,
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        (self.tick, self.seq) == (other.tick, other.seq)
    }
}
impl Eq for Key {}
impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl Ord for Key {
    fn cmp(&self, other: &Self) -> CmpOrdering {
        (self.tick, self.seq).cmp(&(other.tick, other.seq))
    }
}

/// Pending timers of one clock, ordered by `(tick, seq)`.
pub(crate) struct TimerQueue {
    heap: BinaryHeap<Reverse<Key>>,
    seq: u64,
    resolution: u64,
    /// Cancelled entries still in the heap.
    stale: usize,
}

/// The tick of "never": entries there are waited on but never fire.
pub(crate) const NEVER: u64 = u64::MAX;

impl TimerQueue {
    pub(crate) fn new(resolution: u64) -> Self {
        TimerQueue {
            heap: BinaryHeap::new(),
            seq: 0,
            resolution,
            stale: 0,
        }
    }

    fn tick_of(&self, deadline: u64) -> u64 {
        ceil_to(deadline, self.resolution).unwrap_or(NEVER)
    }

    /// Inserts `entry`; returns its tick.
    pub(crate) fn push(&mut self, entry: Arc<TimerEntry>) -> u64 {
        let tick = self.tick_of(entry.deadline);
        self.seq += 1;
        self.heap.push(Reverse(Key {
            tick,
            seq: self.seq,
            entry,
        }));
        tick
    }

    /// A cancelled entry is left in the heap; purge when they outnumber the live ones.
    pub(crate) fn note_cancelled(&mut self) {
        self.stale += 1;
        if self.stale > 64 && self.stale * 2 > self.heap.len() {
            self.heap.retain(|Reverse(key)| key.entry.is_pending());
            self.stale = 0;
        }
    }

    /// The earliest tick with a live entry, other than "never".
    pub(crate) fn next_tick(&mut self) -> Option<u64> {
        while let Some(Reverse(top)) = self.heap.peek() {
            if top.entry.is_pending() {
                return (top.tick != NEVER).then_some(top.tick);
            }
            self.heap.pop();
            self.stale = self.stale.saturating_sub(1);
        }
        None
    }

    /// Fires every entry due at or before `now`, in `(tick, seq)` order, into `fired`.
    pub(crate) fn fire_due(&mut self, now: u64, fired: &mut Vec<Arc<TimerEntry>>) {
        while let Some(Reverse(top)) = self.heap.peek() {
            if top.tick > now || top.tick == NEVER {
                break;
            }
            let Some(Reverse(key)) = self.heap.pop() else {
                break;
            };
            if key.entry.fire() {
                fired.push(key.entry);
            } else {
                self.stale = self.stale.saturating_sub(1);
            }
        }
    }

    /// Interrupts every live entry with `error`, emptying the queue, into `interrupted`.
    pub(crate) fn interrupt_all(
        &mut self,
        error: &TimeError,
        interrupted: &mut Vec<Arc<TimerEntry>>,
    ) {
        // In deadline order, FIFO for equal deadlines, as timers fire (R9): the waits
        // hear the interruption in the order they would have fired.
        let heap = std::mem::take(&mut self.heap);
        for Reverse(key) in heap.into_sorted_vec().into_iter().rev() {
            if key.entry.interrupt(error) {
                interrupted.push(key.entry);
            }
        }
        self.stale = 0;
    }

    /// Live entries with a real deadline, for leak reports.
    pub(crate) fn pending_sites(&self) -> Vec<(u64, &'static Location<'static>)> {
        let mut sites: Vec<_> = self
            .heap
            .iter()
            .filter(|Reverse(key)| key.tick != NEVER && key.entry.is_pending())
            .map(|Reverse(key)| (key.seq, key.entry.site))
            .collect();
        sites.sort_by_key(|(seq, _)| *seq);
        sites
    }

    /// Changes the tick size, re-keying every entry (rare: a setup with a new resolution).
    pub(crate) fn set_resolution(&mut self, resolution: u64) {
        if resolution == self.resolution {
            return;
        }
        self.resolution = resolution;
        let old = std::mem::take(&mut self.heap);
        self.heap = old
            .into_iter()
            .filter(|Reverse(key)| key.entry.is_pending())
            .map(|Reverse(key)| {
                let tick = self.tick_of(key.entry.deadline);
                Reverse(Key { tick, ..key })
            })
            .collect();
        self.stale = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(deadline: u64) -> Arc<TimerEntry> {
        Arc::new(TimerEntry::new(deadline, Location::caller()))
    }

    #[test]
    fn fires_in_deadline_then_fifo_order() {
        let mut q = TimerQueue::new(1000);
        let a = entry(2500); // tick 3000
        let b = entry(1200); // tick 2000
        let c = entry(2001); // tick 3000, after a
        let never = entry(u64::MAX);
        for e in [&a, &b, &c, &never] {
            q.push((*e).clone());
        }
        assert_eq!(q.next_tick(), Some(2000));
        let mut fired = Vec::new();
        q.fire_due(2000, &mut fired);
        assert_eq!(fired.len(), 1);
        assert!(Arc::ptr_eq(&fired[0], &b));
        fired.clear();
        q.fire_due(3000, &mut fired);
        assert!(Arc::ptr_eq(&fired[0], &a) && Arc::ptr_eq(&fired[1], &c));
        assert_eq!(q.next_tick(), None, "never is not a deadline");
        let mut interrupted = Vec::new();
        q.interrupt_all(&TimeError::shut_down(), &mut interrupted);
        assert_eq!(interrupted.len(), 1);
        assert!(matches!(never.state(), EntryState::Interrupted(e) if e.is_shut_down()));
    }

    #[test]
    fn cancelled_entries_are_skipped_and_purged() {
        let mut q = TimerQueue::new(1);
        let entries: Vec<_> = (1..=200).map(entry).collect();
        for e in &entries {
            q.push(e.clone());
        }
        for e in &entries[..150] {
            assert!(e.cancel());
            q.note_cancelled();
        }
        assert!(q.heap.len() < 200, "purged once stale entries dominate");
        assert_eq!(q.next_tick(), Some(151));
        assert_eq!(q.pending_sites().len(), 50);
    }

    #[test]
    fn resolution_change_rekeys() {
        let mut q = TimerQueue::new(1);
        q.push(entry(1500));
        q.set_resolution(1000);
        assert_eq!(q.next_tick(), Some(2000));
    }
}
