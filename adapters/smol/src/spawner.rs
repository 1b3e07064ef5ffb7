//! [`Spawner`] for [`Smol`]: tasks on the executor, jobs on the `blocking` thread pool.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use looptime_api::{BlockingJob, SpawnError, Spawner, Task};

use crate::Smol;
use crate::runtime::AliveGuard;

/// A task counted among the alive work of its `Smol` until it is dropped.
///
/// Fields drop in order: the task (and with it any scope's record of it) goes first, the
/// count after, so the count is never below the scopes' own counts of the same tasks.
struct Counted {
    task: Task,
    _alive: AliveGuard,
}

impl Future for Counted {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.task).poll(cx)
    }
}

impl Spawner for Smol {
    /// Spawns `task` on the executor, detached: it runs during the next (or current)
    /// `block_on`. smol's executor never refuses work, so this never fails.
    fn spawn_task(&self, task: Task) -> Result<(), SpawnError> {
        let alive = self.alive_guard();
        self.shared
            .executor
            .spawn(Counted {
                task,
                _alive: alive,
            })
            .detach();
        Ok(())
    }

    /// Runs `job` on the `blocking` crate's thread pool (`blocking::unblock`), detached.
    /// The pool queues jobs beyond its thread limit, so this never fails.
    fn spawn_blocking_job(&self, job: BlockingJob) -> Result<(), SpawnError> {
        let alive = self.alive_guard();
        blocking::unblock(move || {
            job.run();
            drop(alive);
        })
        .detach();
        Ok(())
    }
}
