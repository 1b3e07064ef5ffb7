//! The timer queue of one proxy: a hierarchical timing wheel ordered by `(tick, seq)`.
//!
//! Equal ticks fire in insertion order (`seq`), so equal deadlines are FIFO. The
//! sequence is shared by every queue of a proxy tree (SPEC R8): a clock firing its
//! descendants' timers with its own orders them all by one registration order.
//!
//! # Layout
//!
//! The wheel has [`LEVELS`] levels of 64 slots. It is anchored at `base`, a tick no later
//! than any tick it holds: an entry sits at the level of the highest 6-bit digit in which
//! its tick differs from `base`, in the slot of its tick's digit there. So level 0 holds
//! single ticks, and every entry of a level is earlier than every entry of the levels
//! above; the earliest entry is in the first occupied slot of the lowest occupied level.
//! When that slot is above level 0, it is *cascaded*: `base` moves to its earliest tick
//! (no later than anything in the wheel) and its entries are placed again, all on lower
//! levels (they share every digit above the slot's level with the new `base`); the other
//! entries keep their places, which the new `base` leaves unchanged. An entry is placed
//! at most once per level, so pushing and firing cost O(1) amortized, whatever the number
//! of pending timers. A slot whose entries all share one tick (a lone timer, most often)
//! needs no placing at all: it becomes the level-0 slot of that tick as it is.
//!
//! Entries that fired are kept, a few of them, to hold later registrations once their
//! `Sleep` has let go of them: a task that sleeps over and over allocates nothing.
//!
//! Every slot keeps its entries in `seq` order: a push appends the newest `seq`, and a
//! cascade moves the entries of one slot, in order, into lower levels that are all empty.
//! So the entries of a level-0 slot fire in FIFO order as they are stored. A slot is a
//! chain of segments of at most [`SEGMENT`] entries, which bounds its spare capacity.
//!
//! `base` moves only forward, to the earliest tick in the wheel, which may be later than
//! now (a look at the next deadline cascades). A timer registered before `base` goes to
//! `early`, a binary heap: every tick in it is earlier than every tick in the wheel (it
//! was earlier than `base` when pushed, and the wheel's ticks are never earlier than
//! `base`), so the queue's order is `early`'s, then the wheel's. Nothing depends on time
//! moving forward: time that moves back (a new setup) only sends timers to `early`.
//! Timers of the tick "never" wait in a list of their own.
//!
//! Cancelled entries are deleted lazily (a dropped `Sleep` only flips its entry's state,
//! O(1)): they are dropped when reached, and purged in bulk once they outnumber the live
//! ones, so they never hold more memory than the live entries do.
//!
//! An interrupted entry keeps only the number of a record of the error, which the queue
//! keeps until every entry it interrupted has read it or was dropped.

use std::cmp::{Ordering as CmpOrdering, Reverse};
use std::collections::{BinaryHeap, VecDeque};
use std::panic::Location;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::task::Waker;

use futures_util::task::AtomicWaker;

use super::settings::ceil_to;
use crate::TimeError;

const PENDING: u8 = 0;
const FIRED: u8 = 1;
const CANCELLED: u8 = 2;
const INTERRUPTED: u8 = 3;

/// One pending wait; shared by its `Sleep` and the queue.
///
/// `repr(C)` keeps what firing touches (the waker and the state) at the front, next to
/// the reference counts.
#[repr(C)]
pub(crate) struct TimerEntry {
    pub(crate) waker: AtomicWaker,
    state: AtomicU8,
    /// Set once the entry was polled as a fallible wait (timeout, interruptible).
    fallible: AtomicBool,
    /// Why it was interrupted: the queue's record of the interruption (see
    /// [`TimerQueue::read_interruption`]).
    interruption: AtomicU32,
    /// The raw deadline, in local nanoseconds.
    pub(crate) deadline: u64,
    pub(crate) site: &'static Location<'static>,
}

/// What a poll of an entry found.
pub(crate) enum EntryState {
    Pending,
    Fired,
    /// Interrupted: the number of the queue's record of why, which the holder of the
    /// entry reads ([`TimerQueue::read_interruption`]) or releases exactly once.
    Interrupted(u32),
}

impl TimerEntry {
    pub(crate) fn new(deadline: u64, site: &'static Location<'static>) -> Self {
        TimerEntry {
            waker: AtomicWaker::new(),
            state: AtomicU8::new(PENDING),
            fallible: AtomicBool::new(false),
            interruption: AtomicU32::new(0),
            deadline,
            site,
        }
    }

    pub(crate) fn state(&self) -> EntryState {
        match self.state.load(Ordering::Acquire) {
            FIRED => EntryState::Fired,
            INTERRUPTED => EntryState::Interrupted(self.interruption.load(Ordering::Relaxed)),
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

    fn interrupt(&self, record: u32) -> bool {
        // The record is written before the state flips, so readers of INTERRUPTED find it.
        self.interruption.store(record, Ordering::Relaxed);
        self.state
            .compare_exchange(PENDING, INTERRUPTED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }
}

/// An entry in the queue, with its place in the order.
struct Item {
    tick: u64,
    seq: u64,
    entry: Arc<TimerEntry>,
}

impl PartialEq for Item {
    fn eq(&self, other: &Self) -> bool {
        (self.tick, self.seq) == (other.tick, other.seq)
    }
}
impl Eq for Item {}
impl PartialOrd for Item {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl Ord for Item {
    fn cmp(&self, other: &Self) -> CmpOrdering {
        (self.tick, self.seq).cmp(&(other.tick, other.seq))
    }
}

/// Levels of the wheel: 6 bits of the tick each, 66 ≥ 64.
const LEVELS: usize = 11;
/// Bits of the tick per level.
const DIGIT: u32 = 6;
/// Slots per level.
const SLOTS: usize = 1 << DIGIT;
/// Entries per segment of a slot.
const SEGMENT: usize = 64;
/// Empty segments kept for reuse.
const SPARE: usize = 64;
/// Empty segments kept by an empty queue.
const SPARE_IDLE: usize = 4;
/// Fired entries kept for reuse.
const REUSE: usize = 8;

/// The level of `tick` in a wheel anchored at `base` (`tick >= base`).
fn level_of(base: u64, tick: u64) -> usize {
    let differ = tick ^ base;
    if differ == 0 {
        0
    } else {
        ((u64::BITS - 1 - differ.leading_zeros()) / DIGIT) as usize
    }
}

/// The slot of `tick` on `level`.
fn digit(tick: u64, level: usize) -> usize {
    ((tick >> (DIGIT * level as u32)) as usize) & (SLOTS - 1)
}

/// The entries of one slot, in `seq` order, in segments of at most [`SEGMENT`]: `head`,
/// then those of `tail` (only a slot of more than [`SEGMENT`] entries has one). `head` is
/// empty only when the slot is.
#[derive(Default)]
struct Slot {
    head: Vec<Item>,
    tail: VecDeque<Vec<Item>>,
}

impl Slot {
    fn push(&mut self, item: Item, spare: &mut Vec<Vec<Item>>) {
        if self.tail.is_empty() && self.head.len() < SEGMENT {
            if self.head.capacity() == 0
                && let Some(segment) = spare.pop()
            {
                self.head = segment;
            }
            self.head.push(item);
            return;
        }
        match self.tail.back_mut() {
            Some(last) if last.len() < SEGMENT => last.push(item),
            _ => {
                let mut segment = spare.pop().unwrap_or_else(|| Vec::with_capacity(SEGMENT));
                segment.push(item);
                self.tail.push_back(segment);
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.head.is_empty()
    }

    fn items(&self) -> impl Iterator<Item = &Item> {
        self.head.iter().chain(self.tail.iter().flatten())
    }

    /// Empties the slot, returning its segments in order.
    fn take(&mut self) -> impl Iterator<Item = Vec<Item>> + use<> {
        let head = std::mem::take(&mut self.head);
        std::iter::once(head).chain(std::mem::take(&mut self.tail))
    }

    /// Drops the cancelled entries at the front; `(dropped, whether a live one remains)`.
    fn trim_front(&mut self, spare: &mut Vec<Vec<Item>>) -> (usize, bool) {
        let mut dropped = 0;
        loop {
            let dead = self
                .head
                .iter()
                .take_while(|item| !item.entry.is_pending())
                .count();
            dropped += dead;
            if dead < self.head.len() {
                if dead > 0 {
                    self.head.drain(..dead);
                }
                return (dropped, true);
            }
            let next = self.tail.pop_front().unwrap_or_default();
            recycle(std::mem::replace(&mut self.head, next), spare);
            if self.head.is_empty() {
                return (dropped, false);
            }
        }
    }
}

/// Keeps an emptied segment for reuse, or frees it.
fn recycle(mut segment: Vec<Item>, spare: &mut Vec<Vec<Item>>) {
    segment.clear();
    if segment.capacity() > 0 && spare.len() < SPARE {
        spare.push(segment);
    }
}

/// One level of the wheel; its slots are allocated on first use.
#[derive(Default)]
struct Level {
    /// Bit `i` is set when slot `i` holds entries.
    occupied: u64,
    slots: Vec<Slot>,
}

/// Pending timers of one clock, ordered by `(tick, seq)`.
pub(crate) struct TimerQueue {
    /// No tick in the wheel is earlier; only cascades move it, and only forward.
    base: u64,
    levels: [Level; LEVELS],
    /// Bit `i` is set when level `i` holds entries.
    occupied_levels: u16,
    /// Entries pushed before `base`, all earlier than the wheel's.
    early: BinaryHeap<Reverse<Item>>,
    /// The only entry of a queue that holds nothing else but entries of "never": kept
    /// aside, so that a timer waiting alone (a sleep in a loop, the most common wait) is
    /// pushed, found and fired without going through the wheel. The next push puts it
    /// into the wheel first.
    lone: Option<Item>,
    /// Entries of the tick "never", in `seq` order.
    never: Vec<Item>,
    /// Empty segments for reuse.
    spare: Vec<Vec<Item>>,
    /// Entries that fired, oldest first, kept to hold a later registration once their
    /// `Sleep` has let go of them (see [`new_entry`](Self::new_entry)).
    reuse: VecDeque<Arc<TimerEntry>>,
    /// Entries held, live or cancelled.
    len: usize,
    /// The registration sequence, shared with the other queues of the proxy tree.
    seq: Arc<AtomicU64>,
    resolution: u64,
    /// Cancelled entries still held.
    stale: usize,
    /// The errors of past interruptions, each with the number of interrupted entries that
    /// have yet to read it: a record is freed once they all have (or were dropped), so
    /// the records never outnumber the interrupted waits still alive.
    interruptions: Vec<(TimeError, usize)>,
    /// Free records in `interruptions`.
    free_records: Vec<u32>,
}

/// The tick of "never": entries there are waited on but never fire.
pub(crate) const NEVER: u64 = u64::MAX;

impl TimerQueue {
    #[cfg(test)]
    pub(crate) fn new(resolution: u64) -> Self {
        Self::with_sequence(resolution, Arc::default())
    }

    /// A queue numbering its registrations from `seq`, which other queues may share.
    pub(crate) fn with_sequence(resolution: u64, seq: Arc<AtomicU64>) -> Self {
        TimerQueue {
            base: 0,
            levels: Default::default(),
            occupied_levels: 0,
            early: BinaryHeap::new(),
            lone: None,
            never: Vec::new(),
            spare: Vec::new(),
            reuse: VecDeque::new(),
            len: 0,
            seq,
            resolution,
            stale: 0,
            interruptions: Vec::new(),
            free_records: Vec::new(),
        }
    }

    fn tick_of(&self, deadline: u64) -> u64 {
        ceil_to(deadline, self.resolution).unwrap_or(NEVER)
    }

    /// A new pending entry for a wait until `deadline`, made at `site`.
    ///
    /// It reuses the oldest entry that fired, when nothing but this queue holds it any
    /// more: a sleep that waits, completes and is dropped, over and over, allocates
    /// nothing. An entry is kept only once it fired, and a `Sleep` lets go of its entry
    /// only with its waker slot empty (see `EngineSleep`), so replacing it here drops no
    /// waker, and runs no code of any task, under the clock's lock.
    pub(crate) fn new_entry(
        &mut self,
        deadline: u64,
        site: &'static Location<'static>,
    ) -> Arc<TimerEntry> {
        if let Some(mut oldest) = self.reuse.pop_front() {
            if let Some(entry) = Arc::get_mut(&mut oldest) {
                debug_assert!(entry.waker.take().is_none(), "a reused entry held a waker");
                *entry = TimerEntry::new(deadline, site);
                return oldest;
            }
            // Still held by its sleep: try it again later.
            self.reuse.push_back(oldest);
        }
        Arc::new(TimerEntry::new(deadline, site))
    }

    /// Inserts `entry`; returns its tick.
    pub(crate) fn push(&mut self, entry: Arc<TimerEntry>) -> u64 {
        let tick = self.tick_of(entry.deadline);
        // Pushes to one queue hold its clock's lock, so its own `seq`s keep increasing.
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        self.insert(Item { tick, seq, entry });
        self.len += 1;
        tick
    }

    fn insert(&mut self, item: Item) {
        if item.tick == NEVER {
            self.never.push(item);
            return;
        }
        if self.lone.is_none() && self.occupied_levels == 0 && self.early.is_empty() {
            self.lone = Some(item);
            return;
        }
        // In registration order: the lone entry came first.
        if let Some(lone) = self.lone.take() {
            self.insert_ordered(lone);
        }
        self.insert_ordered(item);
    }

    /// Inserts `item` (not of "never") into the wheel, or among the early entries.
    fn insert_ordered(&mut self, item: Item) {
        if item.tick < self.base {
            self.early.push(Reverse(item));
        } else {
            self.place(item);
        }
    }

    /// Puts `item` (`tick >= base`) into the wheel.
    fn place(&mut self, item: Item) {
        let index = level_of(self.base, item.tick);
        let slot = digit(item.tick, index);
        let level = &mut self.levels[index];
        if level.slots.is_empty() {
            level.slots.resize_with(SLOTS, Slot::default);
        }
        level.slots[slot].push(item, &mut self.spare);
        level.occupied |= 1 << slot;
        self.occupied_levels |= 1 << index;
    }

    /// The level-0 slot of the wheel's earliest tick, cascading until it is on level 0.
    /// With `limit`, stops instead of cascading a slot that starts after it.
    fn front(&mut self, limit: Option<u64>) -> Option<usize> {
        loop {
            if self.occupied_levels == 0 {
                return None;
            }
            let level = self.occupied_levels.trailing_zeros() as usize;
            let slot = self.levels[level].occupied.trailing_zeros() as usize;
            if level == 0 {
                return Some(slot);
            }
            if let Some(limit) = limit {
                let shift = DIGIT * level as u32;
                let above = (self.base >> shift >> DIGIT) << DIGIT;
                let start = (above | slot as u64) << shift;
                if start > limit {
                    return None;
                }
            }
            self.cascade(level, slot);
        }
    }

    /// Moves `base` to the earliest tick of the slot and places its entries again.
    ///
    /// A small slot's entries are due soon: their states are read here, all at once,
    /// which drops the cancelled ones and brings the live ones into the cache before they
    /// fire one by one.
    fn cascade(&mut self, level: usize, slot: usize) {
        self.vacate(level, slot);
        let (below, above) = self.levels.split_at_mut(level);
        let slot = &mut above[0].slots[slot];
        let span = |(lo, hi): (u64, u64), item: &Item| (lo.min(item.tick), hi.max(item.tick));
        let mut range = slot.head.iter().fold((u64::MAX, 0), span);
        if !slot.tail.is_empty() {
            range = slot.tail.iter().flatten().fold(range, span);
        }
        let (earliest, latest) = range;
        if earliest > latest {
            return;
        }
        self.base = earliest;
        if earliest == latest {
            // One tick (a lone timer, or timers due together): the whole slot becomes the
            // level-0 slot of that tick, in order, with no entry moved. That slot is
            // empty, as every level below this one is.
            let low = &mut below[0];
            if low.slots.is_empty() {
                low.slots.resize_with(SLOTS, Slot::default);
            }
            let target = digit(earliest, 0);
            debug_assert!(low.slots[target].is_empty());
            std::mem::swap(&mut low.slots[target], slot);
            low.occupied |= 1 << target;
            self.occupied_levels |= 1;
            return;
        }
        // Bit `i` set: the `i`th entry of a small slot is live. The reads are independent
        // of one another, so their cache misses overlap.
        let live = slot.tail.is_empty().then(|| {
            slot.head.iter().enumerate().fold(0u64, |live, (i, item)| {
                live | u64::from(item.entry.is_pending()) << i
            })
        });
        for mut segment in slot.take() {
            for (i, item) in segment.drain(..).enumerate() {
                if live.is_none_or(|live| live & 1 << i != 0) {
                    self.place(item);
                } else {
                    self.forget(1, 1);
                }
            }
            recycle(segment, &mut self.spare);
        }
    }

    /// Marks slot `slot` of level `level` empty.
    fn vacate(&mut self, level: usize, slot: usize) {
        let occupied = &mut self.levels[level].occupied;
        *occupied &= !(1 << slot);
        if *occupied == 0 {
            self.occupied_levels &= !(1 << level);
        }
    }

    /// The tick of level-0 slot `slot`.
    fn tick_at(&self, slot: usize) -> u64 {
        (self.base & !(SLOTS as u64 - 1)) | slot as u64
    }

    /// Counts entries the queue no longer holds, `cancelled` of them cancelled.
    fn forget(&mut self, removed: usize, cancelled: usize) {
        self.len -= removed;
        self.stale = self.stale.saturating_sub(cancelled);
    }

    /// A cancelled entry is left in the queue; purge when they outnumber the live ones.
    pub(crate) fn note_cancelled(&mut self) {
        self.stale += 1;
        if self.stale > 64 && self.stale * 2 > self.len {
            self.purge();
        }
    }

    /// Drops every cancelled entry, keeping the order of the others.
    fn purge(&mut self) {
        self.early.retain(|Reverse(item)| item.entry.is_pending());
        self.never.retain(|item| item.entry.is_pending());
        self.lone = self.lone.take().filter(|item| item.entry.is_pending());
        let mut len = self.early.len() + self.never.len() + usize::from(self.lone.is_some());
        for level in &mut self.levels {
            let mut occupied = level.occupied;
            while occupied != 0 {
                let index = occupied.trailing_zeros() as usize;
                occupied &= occupied - 1;
                let slot = &mut level.slots[index];
                for mut segment in slot.take() {
                    for item in segment.drain(..) {
                        if item.entry.is_pending() {
                            slot.push(item, &mut self.spare);
                            len += 1;
                        }
                    }
                    recycle(segment, &mut self.spare);
                }
                if slot.is_empty() {
                    level.occupied &= !(1 << index);
                }
            }
        }
        self.occupied_levels = self.levels.iter().enumerate().fold(0, |bits, (i, level)| {
            bits | u16::from(level.occupied != 0) << i
        });
        self.len = len;
        self.stale = 0;
    }

    /// The earliest tick with a live entry, other than "never".
    pub(crate) fn next_tick(&mut self) -> Option<u64> {
        if let Some(lone) = &self.lone {
            if lone.entry.is_pending() {
                return Some(lone.tick);
            }
            // Cancelled: nothing else is left but "never".
            self.lone = None;
            self.forget(1, 1);
            return None;
        }
        while let Some(Reverse(top)) = self.early.peek() {
            if top.entry.is_pending() {
                return Some(top.tick);
            }
            self.early.pop();
            self.forget(1, 1);
        }
        loop {
            let slot = self.front(None)?;
            let (dropped, live) = self.levels[0].slots[slot].trim_front(&mut self.spare);
            self.forget(dropped, dropped);
            if live {
                return Some(self.tick_at(slot));
            }
            self.vacate(0, slot);
        }
    }

    /// Fires every entry due at or before `now`, in `(tick, seq)` order, and collects
    /// their wakers into `fired`.
    pub(crate) fn fire_due(&mut self, now: u64, fired: &mut Vec<Waker>) {
        self.fire_due_with(now, |_, _, waker| fired.push(waker));
    }

    /// As [`fire_due`](Self::fire_due), handing each fired entry's `(tick, seq, waker)` to
    /// `fired`, in `(tick, seq)` order.
    pub(crate) fn fire_due_with(&mut self, now: u64, mut fired: impl FnMut(u64, u64, Waker)) {
        if self.lone.is_some() {
            // Nothing else is due: the rest holds entries of "never" only.
            if let Some(item) = self.lone.take_if(|item| item.tick <= now) {
                self.fire(item, &mut fired);
            }
            self.release_spare();
            return;
        }
        while let Some(Reverse(top)) = self.early.peek() {
            if top.tick > now {
                // Every tick in the wheel is later still.
                return;
            }
            if let Some(Reverse(item)) = self.early.pop() {
                self.fire(item, &mut fired);
            }
        }
        while let Some(slot) = self.front(Some(now)) {
            if self.tick_at(slot) > now {
                break;
            }
            self.vacate(0, slot);
            let slot = &mut self.levels[0].slots[slot];
            let mut head = std::mem::take(&mut slot.head);
            let tail = std::mem::take(&mut slot.tail);
            for item in head.drain(..) {
                self.fire(item, &mut fired);
            }
            recycle(head, &mut self.spare);
            for mut segment in tail {
                for item in segment.drain(..) {
                    self.fire(item, &mut fired);
                }
                recycle(segment, &mut self.spare);
            }
        }
        self.release_spare();
    }

    /// An empty queue keeps few spare segments.
    fn release_spare(&mut self) {
        if self.len == 0 && self.spare.len() > SPARE_IDLE {
            self.spare.truncate(SPARE_IDLE);
        }
    }

    fn fire(&mut self, item: Item, fired: &mut impl FnMut(u64, u64, Waker)) {
        if item.entry.fire() {
            self.forget(1, 0);
            if let Some(waker) = item.entry.waker.take() {
                fired(item.tick, item.seq, waker);
            }
            if self.reuse.len() < REUSE {
                self.reuse.push_back(item.entry);
            }
        } else {
            self.forget(1, 1);
        }
    }

    /// Takes every entry out, in `(tick, seq)` order.
    fn drain_sorted(&mut self) -> Vec<Item> {
        let mut items = Vec::with_capacity(self.len);
        items.extend(self.lone.take());
        items.extend(
            std::mem::take(&mut self.early)
                .into_iter()
                .map(|Reverse(item)| item),
        );
        for level in &mut self.levels {
            for slot in &mut level.slots {
                for mut segment in slot.take() {
                    items.append(&mut segment);
                    recycle(segment, &mut self.spare);
                }
            }
            level.occupied = 0;
        }
        self.occupied_levels = 0;
        items.append(&mut self.never);
        items.sort_unstable();
        self.len = 0;
        self.stale = 0;
        self.release_spare();
        items
    }

    /// Interrupts every live entry with `error`, emptying the queue, and collects their
    /// wakers into `interrupted`, in deadline-then-FIFO order.
    pub(crate) fn interrupt_all(&mut self, error: &TimeError, interrupted: &mut Vec<Waker>) {
        self.interrupt(error, interrupted, false);
    }

    /// As [`interrupt_all`](Self::interrupt_all), but collects only the wakers of
    /// fallible waits: an infallible one stays pending, for the scope to cancel its task.
    pub(crate) fn interrupt_fallible(&mut self, error: &TimeError, interrupted: &mut Vec<Waker>) {
        self.interrupt(error, interrupted, true);
    }

    fn interrupt(&mut self, error: &TimeError, interrupted: &mut Vec<Waker>, fallible: bool) {
        let items = self.drain_sorted();
        if items.is_empty() {
            return;
        }
        let record = match self.free_records.pop() {
            Some(record) => {
                self.interruptions[record as usize] = (error.clone(), 0);
                record
            }
            None => {
                self.interruptions.push((error.clone(), 0));
                u32::try_from(self.interruptions.len() - 1).unwrap_or(u32::MAX)
            }
        };
        let mut unread = 0;
        // In deadline order, FIFO for equal deadlines, as timers fire (R9): the waits
        // hear the interruption in the order they would have fired.
        for item in items {
            if item.entry.interrupt(record) {
                unread += 1;
                if !fallible || item.entry.is_fallible() {
                    interrupted.extend(item.entry.waker.take());
                }
            }
        }
        if unread == 0 {
            self.free_record(record);
        } else {
            self.interruptions[record as usize].1 = unread;
        }
    }

    /// The error of interruption `record`, for one of the entries it interrupted, which
    /// reads it once ([`EntryState::Interrupted`]).
    pub(crate) fn read_interruption(&mut self, record: u32) -> TimeError {
        let error = self
            .interruptions
            .get(record as usize)
            .filter(|(_, unread)| *unread > 0)
            .map_or_else(TimeError::shut_down, |(error, _)| error.clone());
        self.release_interruption(record);
        error
    }

    /// One entry interrupted by `record` will never read it (its wait was dropped, or
    /// just read it).
    pub(crate) fn release_interruption(&mut self, record: u32) {
        let Some((_, unread)) = self.interruptions.get_mut(record as usize) else {
            return;
        };
        // Zero: released more often than interrupted, a bug but not one to crash on.
        if *unread > 0 {
            *unread -= 1;
            if *unread == 0 {
                self.free_record(record);
            }
        }
    }

    fn free_record(&mut self, record: u32) {
        self.interruptions[record as usize] = (TimeError::shut_down(), 0);
        self.free_records.push(record);
    }

    /// Live entries with a real deadline, for leak reports, in registration order.
    pub(crate) fn pending_sites(&self) -> Vec<(u64, &'static Location<'static>)> {
        let wheel = self
            .levels
            .iter()
            .flat_map(|level| level.slots.iter().flat_map(Slot::items));
        let mut sites: Vec<_> = self
            .early
            .iter()
            .map(|Reverse(item)| item)
            .chain(&self.lone)
            .chain(wheel)
            .filter(|item| item.entry.is_pending())
            .map(|item| (item.seq, item.entry.site))
            .collect();
        sites.sort_unstable_by_key(|(seq, _)| *seq);
        sites
    }

    /// Changes the tick size, re-keying every entry (rare: a setup with a new resolution).
    pub(crate) fn set_resolution(&mut self, resolution: u64) {
        if resolution == self.resolution {
            return;
        }
        self.resolution = resolution;
        let mut items = self.drain_sorted();
        items.retain(|item| item.entry.is_pending());
        // Placed again in registration order, so that every slot keeps FIFO order.
        items.sort_unstable_by_key(|item| item.seq);
        self.base = 0;
        self.len = items.len();
        for mut item in items {
            item.tick = self.tick_of(item.entry.deadline);
            self.insert(item);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(deadline: u64) -> Arc<TimerEntry> {
        Arc::new(TimerEntry::new(deadline, Location::caller()))
    }

    /// A waker that records, into a shared log, the id it was made with.
    fn logging_waker(id: usize, log: &Arc<std::sync::Mutex<Vec<usize>>>) -> Waker {
        struct Log(usize, Arc<std::sync::Mutex<Vec<usize>>>);
        impl std::task::Wake for Log {
            fn wake(self: Arc<Self>) {
                self.1.lock().unwrap().push(self.0);
            }
        }
        Waker::from(Arc::new(Log(id, log.clone())))
    }

    #[test]
    fn fires_in_deadline_then_fifo_order() {
        let mut q = TimerQueue::new(1000);
        let a = entry(2500); // tick 3000
        let b = entry(1200); // tick 2000
        let c = entry(2001); // tick 3000, after a
        let never = entry(u64::MAX);
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        for (id, e) in [&a, &b, &c, &never].into_iter().enumerate() {
            e.waker.register(&logging_waker(id, &log));
            q.push((*e).clone());
        }
        assert_eq!(q.next_tick(), Some(2000));
        let mut fired = Vec::new();
        q.fire_due(2000, &mut fired);
        fired.drain(..).for_each(Waker::wake);
        assert_eq!(*log.lock().unwrap(), [1]);
        q.fire_due(3000, &mut fired);
        fired.drain(..).for_each(Waker::wake);
        assert_eq!(*log.lock().unwrap(), [1, 0, 2]);
        assert!(matches!(a.state(), EntryState::Fired));
        assert_eq!(q.next_tick(), None, "never is not a deadline");
        let mut interrupted = Vec::new();
        q.interrupt_all(&TimeError::shut_down(), &mut interrupted);
        assert_eq!(interrupted.len(), 1);
        let EntryState::Interrupted(record) = never.state() else {
            panic!("never was interrupted");
        };
        assert!(q.read_interruption(record).is_shut_down());
        assert_eq!(q.free_records, [record], "read by its only entry");
    }

    #[test]
    fn a_lone_timer_fires_at_its_tick_and_not_before() {
        let mut q = TimerQueue::new(1000);
        let lone = entry(2500); // tick 3000
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        lone.waker.register(&logging_waker(0, &log));
        q.push(lone.clone());
        assert!(q.lone.is_some(), "kept aside from the wheel");
        assert_eq!(q.next_tick(), Some(3000));
        let mut fired = Vec::new();
        q.fire_due(2999, &mut fired);
        assert!(fired.is_empty(), "not before its tick");
        q.fire_due(3000, &mut fired);
        fired.drain(..).for_each(Waker::wake);
        assert_eq!(*log.lock().unwrap(), [0]);
        assert_eq!((q.len, q.next_tick()), (0, None));
    }

    #[test]
    fn a_lone_timer_keeps_its_place_among_later_pushes() {
        let mut q = TimerQueue::new(1000);
        let lone = entry(2500); // tick 3000
        let earlier = entry(1500); // tick 2000
        let tie = entry(3000); // tick 3000, after the lone one
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        for (id, e) in [&lone, &earlier, &tie].into_iter().enumerate() {
            e.waker.register(&logging_waker(id, &log));
            q.push((*e).clone());
        }
        assert!(q.lone.is_none(), "the second push put it into the wheel");
        assert_eq!(q.next_tick(), Some(2000));
        let mut fired = Vec::new();
        q.fire_due(3000, &mut fired);
        fired.drain(..).for_each(Waker::wake);
        assert_eq!(*log.lock().unwrap(), [1, 0, 2]);
    }

    #[test]
    fn interruption_records_are_freed_and_reused() {
        let mut q = TimerQueue::new(1);
        let (a, b, c) = (entry(10), entry(20), entry(30));
        let mut interrupted = Vec::new();
        for e in [&a, &b, &c] {
            q.push((*e).clone());
        }
        assert!(b.cancel());
        q.note_cancelled();
        let end = TimeError::end_of_time(core::time::Duration::from_nanos(5));
        q.interrupt_fallible(&end, &mut interrupted);
        assert!(interrupted.is_empty(), "no fallible wait");
        assert!(
            matches!(b.state(), EntryState::Pending),
            "b was cancelled, not interrupted"
        );
        let (EntryState::Interrupted(ra), EntryState::Interrupted(rc)) = (a.state(), c.state())
        else {
            panic!("a and c were interrupted");
        };
        assert_eq!(ra, rc);
        assert_eq!(q.read_interruption(ra), end);
        assert!(q.free_records.is_empty(), "c has yet to read it");
        q.release_interruption(rc);
        assert_eq!(q.free_records, [ra]);
        // A later interruption reuses the record; an empty one takes none.
        q.interrupt_all(&TimeError::shut_down(), &mut interrupted);
        let d = entry(40);
        q.push(d.clone());
        q.interrupt_all(&TimeError::runtime_gone(), &mut interrupted);
        let EntryState::Interrupted(rd) = d.state() else {
            panic!("d was interrupted");
        };
        assert_eq!(rd, ra);
        assert_eq!(q.read_interruption(rd), TimeError::runtime_gone());
        assert_eq!(q.interruptions.len(), 1);
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
        assert!(q.len < 200, "purged once stale entries dominate");
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

    #[test]
    fn resolution_change_keeps_fifo_among_new_equal_ticks() {
        let mut q = TimerQueue::new(1);
        let late = entry(1800);
        let early = entry(1500);
        q.push(late.clone());
        q.push(early.clone());
        q.set_resolution(1000);
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        late.waker.register(&logging_waker(0, &log));
        early.waker.register(&logging_waker(1, &log));
        let mut fired = Vec::new();
        q.fire_due(2000, &mut fired);
        fired.into_iter().for_each(Waker::wake);
        assert_eq!(*log.lock().unwrap(), [0, 1], "registration order");
    }

    #[test]
    fn cancel_heavy_workload_stays_bounded() {
        let mut q = TimerQueue::new(1);
        let keep = entry(1 << 40);
        q.push(keep.clone());
        for i in 0..100_000u64 {
            let e = entry(1_000 + (i * 7919) % 1_000_000);
            q.push(e.clone());
            assert!(e.cancel());
            q.note_cancelled();
            assert!(
                q.len <= 2 * 65 + 1,
                "cancelled entries accumulate: {}",
                q.len
            );
        }
        assert_eq!(q.next_tick(), Some(1 << 40));
    }

    /// A small deterministic generator for the model test.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// The queue against a plain sorted list, over random pushes (near, far, never,
    /// equal ticks), cancels, looks ahead, firings, time moving back, resolution changes
    /// and interruptions.
    #[test]
    fn matches_a_sorted_list() {
        check_against_a_sorted_list(false);
    }

    /// As `matches_a_sorted_list`, with few pushes: the queue is often empty or holds one
    /// entry (kept aside from the wheel), and that entry meets every other operation.
    #[test]
    fn matches_a_sorted_list_when_small() {
        check_against_a_sorted_list(true);
    }

    fn check_against_a_sorted_list(sparse: bool) {
        for seed in 0..40 {
            let mut rng = Rng(seed);
            let mut q = TimerQueue::new(1);
            let mut resolution = 1;
            // The model: (deadline, seq, id, entry) of every live entry.
            let mut model: Vec<(u64, u64, usize, Arc<TimerEntry>)> = Vec::new();
            let log = Arc::new(std::sync::Mutex::new(Vec::new()));
            let mut now = rng.below(1 << 20);
            let mut seq = 0;
            let mut next_id = 0;
            let tick =
                |deadline: u64, resolution: u64| ceil_to(deadline, resolution).unwrap_or(NEVER);
            for _ in 0..3000 {
                let op = rng.below(100);
                // Sparse: two pushes in three become a look at the next tick.
                let op = if sparse && op < 45 && rng.below(3) > 0 {
                    60
                } else {
                    op
                };
                match op {
                    0..=44 => {
                        let deadline = match rng.below(10) {
                            0 => u64::MAX - rng.below(3),
                            1 => now + 1 + rng.below(4),
                            2 => now + 1 + (rng.below(64) << rng.below(40)),
                            3 => (1 << 62) + rng.below(1 << 20),
                            _ => now + 1 + rng.below(5000),
                        };
                        let e = entry(deadline);
                        e.waker.register(&logging_waker(next_id, &log));
                        seq += 1;
                        model.push((deadline, seq, next_id, e.clone()));
                        next_id += 1;
                        let t = q.push(e);
                        assert_eq!(t, tick(deadline, resolution));
                    }
                    45..=59 if !model.is_empty() => {
                        let i = rng.below(model.len() as u64) as usize;
                        let (.., e) = model.remove(i);
                        assert!(e.cancel());
                        q.note_cancelled();
                    }
                    60..=74 => {
                        let want = model
                            .iter()
                            .map(|(d, ..)| tick(*d, resolution))
                            .filter(|&t| t != NEVER)
                            .min();
                        assert_eq!(q.next_tick(), want, "seed {seed}");
                    }
                    75..=94 => {
                        now = match rng.below(10) {
                            0 => now.saturating_sub(rng.below(10_000)),
                            1 => q.next_tick().filter(|&t| t < 1 << 40).unwrap_or(now),
                            _ => now + rng.below(3000),
                        };
                        let mut due: Vec<_> = model
                            .iter()
                            .filter(|(d, ..)| {
                                let t = tick(*d, resolution);
                                t <= now && t != NEVER
                            })
                            .map(|(d, s, id, _)| (tick(*d, resolution), *s, *id))
                            .collect();
                        due.sort_unstable();
                        model.retain(|(d, ..)| {
                            let t = tick(*d, resolution);
                            t > now || t == NEVER
                        });
                        let mut fired = Vec::new();
                        q.fire_due(now, &mut fired);
                        fired.into_iter().for_each(Waker::wake);
                        let woken = std::mem::take(&mut *log.lock().unwrap());
                        let want: Vec<_> = due.iter().map(|(.., id)| *id).collect();
                        assert_eq!(woken, want, "seed {seed} now {now}");
                    }
                    95..=96 => {
                        resolution = [1, 7, 1000, 1 << 20][rng.below(4) as usize];
                        q.set_resolution(resolution);
                    }
                    97 => {
                        let mut order: Vec<_> = model
                            .iter()
                            .map(|(d, s, id, _)| (tick(*d, resolution), *s, *id))
                            .collect();
                        order.sort_unstable();
                        let mut interrupted = Vec::new();
                        q.interrupt_all(&TimeError::shut_down(), &mut interrupted);
                        interrupted.into_iter().for_each(Waker::wake);
                        let woken = std::mem::take(&mut *log.lock().unwrap());
                        let want: Vec<_> = order.iter().map(|(.., id)| *id).collect();
                        assert_eq!(woken, want, "seed {seed}");
                        model.clear();
                    }
                    _ => {
                        let mut sites: Vec<_> = model
                            .iter()
                            .filter(|(d, ..)| tick(*d, resolution) != NEVER)
                            .map(|(_, s, ..)| *s)
                            .collect();
                        sites.sort_unstable();
                        let got: Vec<_> = q.pending_sites().iter().map(|(s, _)| *s).collect();
                        assert_eq!(got, sites, "seed {seed}");
                    }
                }
                assert!(
                    q.len <= 2 * model.len() + 65 + 2,
                    "seed {seed}: {} held",
                    q.len
                );
            }
        }
    }

    #[test]
    fn entry_is_small() {
        assert!(size_of::<TimerEntry>() <= 48, "{}", size_of::<TimerEntry>());
    }
}
