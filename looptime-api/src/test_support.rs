//! What the crate's unit tests share: a runtime the test drives by hand, and a waker that
//! counts its wakes.

use std::future::{Future, pending};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Wake;
use std::time::SystemTime;

use crate::{
    BlockingJob, BoxFuture, Clock, Instant, Reactor, Sleep, SpawnError, Spawner, Task, TimeError,
};

/// A runtime whose tasks the test polls itself.
#[derive(Clone, Default)]
pub(crate) struct Manual {
    /// The tasks spawned and not yet taken, oldest first.
    pub(crate) tasks: Arc<Mutex<Vec<Task>>>,
}

impl Manual {
    /// The task spawned last.
    pub(crate) fn take(&self) -> Task {
        self.tasks.lock().unwrap().pop().expect("a spawned task")
    }
}

impl Clock for Manual {
    fn now(&self) -> Instant {
        Instant::ZERO
    }
    fn sleep_until(&self, _: Instant) -> Sleep {
        Sleep::never()
    }
    fn system_time(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH
    }
}

impl Spawner for Manual {
    fn spawn_task(&self, task: Task) -> Result<(), SpawnError> {
        self.tasks.lock().unwrap().push(task);
        Ok(())
    }
    fn spawn_blocking_job(&self, job: BlockingJob) -> Result<(), SpawnError> {
        job.run();
        Ok(())
    }
}

impl Reactor for Manual {
    fn block_on_dyn(&self, _: Pin<&mut (dyn Future<Output = ()> + '_)>) -> Result<(), TimeError> {
        Ok(())
    }
    fn sleep_real_until(&self, _: std::time::Instant) -> BoxFuture {
        Box::pin(pending())
    }
    fn yield_now(&self) -> BoxFuture {
        Box::pin(std::future::ready(()))
    }
}

/// The runtime's waker of a task: counts its wakes.
#[derive(Default)]
pub(crate) struct Counter(AtomicUsize);

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl Counter {
    /// The wakes so far.
    pub(crate) fn wakes(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}
