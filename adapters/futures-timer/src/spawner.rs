//! [`Spawner`] for [`Futures`]: the thread pool, and a thread per blocking job.

use looptime_api::{BlockingJob, SpawnError, Spawner, Task};

use crate::Futures;

impl Spawner for Futures {
    /// Sends the task, in its counting layer, to the pool.
    fn spawn_task(&self, task: Task) -> Result<(), SpawnError> {
        let counted = self.inner.tasks.counted(task);
        self.inner.pool.spawn_ok(counted);
        Ok(())
    }

    /// Runs the job on a new `std::thread`, counted until it returns.
    ///
    /// If the OS refuses a thread, the job is dropped (its handle reports a cancellation)
    /// and the refusal is returned.
    fn spawn_blocking_job(&self, job: BlockingJob) -> Result<(), SpawnError> {
        let guard = self.inner.tasks.job();
        std::thread::Builder::new()
            .name("looptime-blocking".into())
            .spawn(move || guard.run(move || job.run()))
            .map(drop)
            .map_err(|_| SpawnError::runtime_gone())
    }
}
