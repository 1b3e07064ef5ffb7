//! [`Spawner`] for [`Tokio`]: tokio tasks and tokio's blocking pool.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use looptime_api::{BlockingJob, SpawnError, Spawner, Task};

use crate::Tokio;

impl Spawner for Tokio {
    fn spawn_task(&self, task: Task) -> Result<(), SpawnError> {
        // A runtime that is shutting down drops the task, which cancels its handle.
        drop(self.handle.spawn(task));
        Ok(())
    }

    fn spawn_blocking_job(&self, job: BlockingJob) -> Result<(), SpawnError> {
        let in_flight = InFlight::start(&self.blocking);
        drop(self.handle.spawn_blocking(move || {
            let _in_flight = in_flight;
            job.run();
        }));
        Ok(())
    }
}

/// Counts a blocking job from its spawn until it ends or is dropped unrun.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn start(counter: &Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::AcqRel);
        InFlight(counter.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}
