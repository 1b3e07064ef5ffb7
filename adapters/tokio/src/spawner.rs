//! [`Spawner`] for [`Tokio`]: tokio tasks and tokio's blocking pool.

use looptime_api::{BlockingJob, SpawnError, Spawner, Task};

use crate::Tokio;

impl Spawner for Tokio {
    fn spawn_task(&self, task: Task) -> Result<(), SpawnError> {
        // A runtime that is shutting down drops the task, which cancels its handle.
        drop(self.handle.spawn(task));
        Ok(())
    }

    fn spawn_blocking_job(&self, job: BlockingJob) -> Result<(), SpawnError> {
        drop(self.handle.spawn_blocking(move || job.run()));
        Ok(())
    }
}
