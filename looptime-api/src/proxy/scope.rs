//! What a proxy knows of its work: how much of it is runnable (`busy`), whether anything
//! woke since the last look (`epoch`), blocking jobs and I/O waits in flight, and the
//! registry of live tasks, jobs and I/O objects for leak reports.
//!
//! `busy` counts tracked tasks that are scheduled or being polled, so `busy == 0` is
//! *exact* idleness of the scope, with no polling or guessing. `epoch` grows every time
//! `busy` leaves zero (and when a blocking job ends), so a watcher that saw `busy == 0`
//! twice knows whether the scope stayed idle in between.
//!
//! The watchers of `busy` (the driver, an `advance_time` settling) register their waker
//! with [`watch_driver`](ScopeState::watch_driver) or
//! [`watch_settle`](ScopeState::watch_settle), which also raise a flag in the word that
//! holds `busy`. The decrement that takes `busy` to zero reads the flags in its own
//! result, and wakes (and clears) only the watchers that are there: a poll that leaves
//! the scope idle with nobody watching costs no more than the decrement. Flags and
//! count share one atomic, so a watcher that raised its flag before the decrement is
//! woken by it, and one that raised it after sees `busy == 0` when it looks.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;

use super::resource::Resource;
use super::tracking::TrackState;
use crate::TimeError;
use crate::sync::{AtomicU64, AtomicUsize, AtomicWaker};
use crate::task::{CancelReason, TaskRef};

/// Shared by a proxy, every layer it wraps around its tasks, and its virtual-time driver.
pub(crate) struct ScopeState {
    /// The count (`BUSY`) and the watchers' flags (`WATCH_DRIVER`, `WATCH_SETTLE`).
    busy: AtomicUsize,
    epoch: AtomicU64,
    interrupt_epoch: AtomicU64,
    blocking: AtomicUsize,
    /// Tasks spawned through the scope and not yet dropped (the registry's size).
    live: AtomicUsize,
    /// When the scope last went idle with blocking work in flight (nanoseconds on the
    /// real-time origin; 0 while busy): where R11's real-time steps count from.
    idle_with_blocking_at: AtomicU64,
    /// Tracked I/O objects a task waits on (their last poll returned `Pending`).
    io_waiting: AtomicUsize,
    /// The last I/O activity (nanoseconds on the real-time origin; 0 if none): an object
    /// made, a wait started, or a poll that made progress.
    io_activity_at: AtomicU64,
    /// Woken when `busy` drops to zero or a blocking job ends: the virtual-time driver.
    driver_waker: AtomicWaker,
    /// How many times `driver_waker` was woken (counted before each wake): a driver that
    /// registered and finds the count unchanged knows its waker is still there.
    driver_wakes: AtomicU64,
    /// Woken likewise: an `advance_time` waiting for the scope to settle.
    settle_waker: AtomicWaker,
    /// Woken when a task or job leaves the registry: a shutdown waiting for them.
    pub(crate) shutdown_waker: AtomicWaker,
    registry: Mutex<Registry>,
}

#[derive(Default)]
pub(crate) struct Registry {
    /// No more registrations: the proxy is shut down.
    pub(crate) closed: bool,
    pub(crate) tasks: TaskSlab,
    pub(crate) blocking: HashMap<u64, TaskRef>,
    /// I/O objects made through the scope and not yet dropped or closed.
    pub(crate) resources: HashMap<u64, Arc<dyn Resource>>,
    /// Tasks that finished by panicking; reported unless someone received the panic.
    pub(crate) panicked: Vec<TaskRef>,
}

pub(crate) struct TaskRecord {
    pub(crate) header: TaskRef,
    /// The scope's tracking of the task: its own, or (`None`) the one in the task's cell
    /// (the scope is the first proxy that took the task).
    pub(crate) track: Option<Arc<TrackState>>,
}

impl TaskRecord {
    pub(crate) fn track(&self) -> Option<&TrackState> {
        match &self.track {
            Some(track) => Some(track),
            None => self.header.inline_track(),
        }
    }
}

/// The live tasks of a scope, each at the index its tracking layer keeps: insertion and
/// removal without hashing, vacant entries reused (most recently freed first).
#[derive(Default)]
pub(crate) struct TaskSlab {
    entries: Vec<SlabEntry>,
    /// The first vacant entry, if any.
    free: Option<usize>,
    len: usize,
}

enum SlabEntry {
    Occupied(TaskRecord),
    /// The next vacant entry.
    Vacant(Option<usize>),
}

impl TaskSlab {
    fn insert(&mut self, record: TaskRecord) -> usize {
        self.len += 1;
        match self.free {
            Some(index) => {
                let next = match self.entries[index] {
                    SlabEntry::Vacant(next) => next,
                    SlabEntry::Occupied(_) => unreachable!("the free list names a live task"),
                };
                self.free = next;
                self.entries[index] = SlabEntry::Occupied(record);
                index
            }
            None => {
                self.entries.push(SlabEntry::Occupied(record));
                self.entries.len() - 1
            }
        }
    }

    /// Removes the task `id` at `index`, if it is there.
    fn remove(&mut self, index: usize, id: u64) -> Option<TaskRecord> {
        let entry = self.entries.get_mut(index)?;
        if !matches!(entry, SlabEntry::Occupied(record) if record.header.id == id) {
            return None;
        }
        let SlabEntry::Occupied(record) = std::mem::replace(entry, SlabEntry::Vacant(self.free))
        else {
            unreachable!()
        };
        self.free = Some(index);
        self.len -= 1;
        Some(record)
    }

    /// The live tasks, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &TaskRecord> {
        self.entries.iter().filter_map(|entry| match entry {
            SlabEntry::Occupied(record) => Some(record),
            SlabEntry::Vacant(_) => None,
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The driver watches `busy`.
const WATCH_DRIVER: usize = 1 << (usize::BITS - 1);
/// An `advance_time` watches `busy`.
const WATCH_SETTLE: usize = 1 << (usize::BITS - 2);
/// The bits of the `busy` word that count.
const BUSY: usize = !(WATCH_DRIVER | WATCH_SETTLE);

impl ScopeState {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(ScopeState {
            busy: AtomicUsize::new(0),
            epoch: AtomicU64::new(0),
            interrupt_epoch: AtomicU64::new(0),
            blocking: AtomicUsize::new(0),
            live: AtomicUsize::new(0),
            idle_with_blocking_at: AtomicU64::new(0),
            io_waiting: AtomicUsize::new(0),
            io_activity_at: AtomicU64::new(0),
            driver_waker: AtomicWaker::new(),
            driver_wakes: AtomicU64::new(0),
            settle_waker: AtomicWaker::new(),
            shutdown_waker: AtomicWaker::new(),
            registry: Mutex::new(Registry::default()),
        })
    }

    pub(crate) fn busy(&self) -> usize {
        self.busy.load(Ordering::Acquire) & BUSY
    }

    /// Registers the driver's `waker`, woken when `busy` drops to zero (and by the other
    /// events the driver waits for). Look at `busy` after this, not before.
    pub(crate) fn watch_driver(&self, waker: &Waker) {
        self.driver_waker.register(waker);
        self.busy.fetch_or(WATCH_DRIVER, Ordering::AcqRel);
    }

    /// Registers the driver's `waker` for [`wake_driver`](Self::wake_driver) only, not
    /// for `busy` dropping to zero: what a driver with nothing to drive waits for.
    pub(crate) fn park_driver(&self, waker: &Waker) {
        self.driver_waker.register(waker);
    }

    /// How many times the driver's waker was woken so far; a registration made after a
    /// reading is still in place while the count stays the same.
    pub(crate) fn driver_wakes(&self) -> u64 {
        self.driver_wakes.load(Ordering::Acquire)
    }

    /// Wakes the driver: something it waits for other than `busy` changed (a setup, a
    /// shutdown, the end of an `advance_time`).
    pub(crate) fn wake_driver(&self) {
        self.driver_wakes.fetch_add(1, Ordering::AcqRel);
        self.driver_waker.wake();
    }

    /// As [`watch_driver`](Self::watch_driver), for an `advance_time` settling.
    pub(crate) fn watch_settle(&self, waker: &Waker) {
        self.settle_waker.register(waker);
        self.busy.fetch_or(WATCH_SETTLE, Ordering::AcqRel);
    }

    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// A witness that the scope is idle now: the wake epoch, when no tracked task is
    /// runnable. The scope has stayed idle since while [`still_idle`](Self::still_idle)
    /// holds for it.
    pub(crate) fn idle_epoch(&self) -> Option<u64> {
        // The epoch first: a wake that completes between the two reads moves it.
        let epoch = self.epoch();
        (self.busy() == 0).then_some(epoch)
    }

    /// Whether the scope is idle and has stayed so since [`idle_epoch`](Self::idle_epoch)
    /// gave `epoch`: every wake of an idle scope moves the epoch.
    pub(crate) fn still_idle(&self, epoch: u64) -> bool {
        self.busy() == 0 && self.epoch() == epoch
    }

    pub(crate) fn blocking(&self) -> usize {
        self.blocking.load(Ordering::Acquire)
    }

    /// Tasks of the scope (and its descendants) alive on the runtime.
    pub(crate) fn live(&self) -> usize {
        self.live.load(Ordering::Acquire)
    }

    pub(crate) fn interrupt_epoch(&self) -> u64 {
        self.interrupt_epoch.load(Ordering::Acquire)
    }

    /// Starts a new interruption era; returns its number.
    pub(crate) fn next_interrupt_epoch(&self) -> u64 {
        self.interrupt_epoch.fetch_add(1, Ordering::AcqRel) + 1
    }

    pub(crate) fn busy_inc(&self) {
        if self.busy.fetch_add(1, Ordering::AcqRel) & BUSY == 0 {
            self.epoch.fetch_add(1, Ordering::AcqRel);
            self.idle_with_blocking_at.store(0, Ordering::Relaxed);
        }
    }

    pub(crate) fn busy_dec(&self) {
        let before = self.busy.fetch_sub(1, Ordering::AcqRel);
        if before & BUSY == 1 {
            if self.blocking() > 0 {
                let now = crate::Instant::from_std(std::time::Instant::now());
                self.idle_with_blocking_at
                    .store(now.as_nanos().max(1), Ordering::Relaxed);
            }
            if before & !BUSY != 0 {
                // Clear the flags that are there now (a watcher may have come since).
                let watching = self.busy.fetch_and(BUSY, Ordering::AcqRel) & !BUSY;
                if watching & WATCH_DRIVER != 0 {
                    self.wake_driver();
                }
                if watching & WATCH_SETTLE != 0 {
                    self.settle_waker.wake();
                }
            }
        }
    }

    /// When the scope went idle, if it did with blocking work in flight and has stayed
    /// idle since: the watcher may notice later (its thread may be preempted), and real
    /// time spent meanwhile still counts.
    pub(crate) fn idle_with_blocking_since(&self) -> Option<std::time::Instant> {
        match self.idle_with_blocking_at.load(Ordering::Relaxed) {
            0 => None,
            nanos => crate::Instant::from_nanos(nanos).to_std(),
        }
    }

    fn wake_watchers(&self) {
        self.wake_driver();
        self.settle_waker.wake();
    }

    pub(crate) fn blocking_started(&self) {
        self.blocking.fetch_add(1, Ordering::AcqRel);
    }

    /// A blocking job ended: that counts as a wake of the scope.
    pub(crate) fn blocking_ended(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.blocking.fetch_sub(1, Ordering::AcqRel);
        self.wake_watchers();
    }

    /// I/O waits in flight: tracked objects whose last poll returned `Pending`.
    pub(crate) fn io_waiting(&self) -> usize {
        self.io_waiting.load(Ordering::Acquire)
    }

    pub(crate) fn io_wait_started(&self) {
        self.io_waiting.fetch_add(1, Ordering::AcqRel);
        self.io_activity();
    }

    pub(crate) fn io_wait_ended(&self) {
        self.io_waiting.fetch_sub(1, Ordering::AcqRel);
    }

    /// Notes I/O activity now.
    pub(crate) fn io_activity(&self) {
        let now = crate::Instant::from_std(std::time::Instant::now());
        self.io_activity_at
            .store(now.as_nanos().max(1), Ordering::Relaxed);
    }

    /// When the last I/O activity happened, if any.
    pub(crate) fn io_active_at(&self) -> Option<std::time::Instant> {
        match self.io_activity_at.load(Ordering::Relaxed) {
            0 => None,
            nanos => crate::Instant::from_nanos(nanos).to_std(),
        }
    }

    /// Records an I/O object; `false` if the registry is closed.
    pub(crate) fn register_resource(&self, resource: Arc<dyn Resource>) -> bool {
        let mut registry = self.registry();
        if registry.closed {
            return false;
        }
        registry.resources.insert(resource.id(), resource);
        true
    }

    /// An I/O object's handle was dropped.
    pub(crate) fn resource_released(&self, id: u64) {
        let resource = self.registry().resources.remove(&id);
        drop(resource);
    }

    pub(crate) fn registry(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a task tracked by `track` (`None`: by the tracking in its cell); its index
    /// in the registry, or `None` if the registry is closed.
    pub(crate) fn register_task(
        &self,
        header: TaskRef,
        track: Option<Arc<TrackState>>,
    ) -> Option<usize> {
        let mut registry = self.registry();
        if registry.closed {
            return None;
        }
        let index = registry.tasks.insert(TaskRecord { header, track });
        // Changed only under the registry's lock: a store, no read-modify-write.
        self.live.store(registry.tasks.len(), Ordering::Release);
        Some(index)
    }

    /// Records a blocking job; `false` if the registry is closed.
    pub(crate) fn register_blocking(&self, header: TaskRef) -> bool {
        let mut registry = self.registry();
        if registry.closed {
            return false;
        }
        registry.blocking.insert(header.id, header);
        true
    }

    /// The task `id`, registered at `index`, is gone.
    pub(crate) fn task_finished(&self, index: usize, id: u64) {
        let (record, closed) = {
            let mut registry = self.registry();
            let record = registry.tasks.remove(index, id);
            if let Some(record) = &record {
                self.live.store(registry.tasks.len(), Ordering::Release);
                if record.header.panic_message().is_some() {
                    registry.panicked.push(record.header.clone());
                }
            }
            (record, registry.closed)
        };
        // The record's references are dropped outside the lock.
        drop(record);
        // Only a shutdown waits for tasks to leave, and only once the registry is closed.
        if closed {
            self.shutdown_waker.wake();
        }
    }

    pub(crate) fn blocking_finished(&self, id: u64) {
        {
            let mut registry = self.registry();
            if let Some(header) = registry.blocking.remove(&id)
                && header.panic_message().is_some()
            {
                registry.panicked.push(header);
            }
        }
        self.blocking_ended();
        self.shutdown_waker.wake();
    }

    /// Cancels idle tasks after the scope stopped waiting (end of time, idle timeout).
    ///
    /// With `since = Some(e)`, only tasks not polled since interruption era `e` (the ones
    /// the interruption did not reach); with `None`, every idle task. Returns how many.
    pub(crate) fn cancel_idle(&self, reason: &TimeError, since: Option<u64>) -> usize {
        let registry = self.registry();
        let mut cancelled = 0;
        for record in registry.tasks.iter() {
            let idle = record
                .track()
                .is_some_and(|track| track.is_idle_since(since));
            if record.header.abort_requested() || !idle {
                continue;
            }
            record.header.abort(CancelReason::Time(reason.clone()));
            cancelled += 1;
        }
        cancelled
    }
}
