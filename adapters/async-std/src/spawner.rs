//! [`Spawner`] for [`AsyncStd`]: async-std's global executor and its blocking pool.

use async_std::task::Builder;
use looptime_api::{BlockingJob, SpawnError, Spawner, Task};

use crate::AsyncStd;

impl Spawner for AsyncStd {
    /// An async-std task (`async_std::task::Builder::spawn`); its join handle is dropped,
    /// which detaches it.
    ///
    /// async-std's runtime lives as long as the process and takes every task; should
    /// `Builder::spawn` ever return an error, it becomes [`SpawnError::runtime_gone`].
    fn spawn_task(&self, task: Task) -> Result<(), SpawnError> {
        match Builder::new().spawn(task) {
            Ok(handle) => {
                drop(handle);
                Ok(())
            }
            Err(_) => Err(SpawnError::runtime_gone()),
        }
    }

    /// A job on async-std's blocking pool (`async_std::task::spawn_blocking`), detached.
    fn spawn_blocking_job(&self, job: BlockingJob) -> Result<(), SpawnError> {
        drop(async_std::task::spawn_blocking(move || job.run()));
        Ok(())
    }
}
