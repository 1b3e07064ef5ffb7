//! [`Spawner`] (SPEC R3) and its generic helpers, [`SpawnerExt`].

use core::future::Future;
use std::panic::Location;
use std::sync::Arc;

use crate::task::{SlotSender, TaskHeader, new_cell};
use crate::{BlockingJob, JoinHandle, SpawnError, Task};

/// Runs futures and blocking closures in the background.
///
/// The core methods take type-erased work ([`Task`], [`BlockingJob`]) so the trait is
/// dyn-compatible; user code calls the typed helpers of [`SpawnerExt`] (`spawn`,
/// `spawn_blocking`), which record the caller's location (`#[track_caller]`) so leak
/// reports can name the line that spawned a task.
///
/// # Contract
///
/// Implementations MUST:
/// - poll an accepted [`Task`] until it completes, on any thread (it is `Send`), or drop
///   it if the runtime shuts down (its handle then reports a cancellation);
/// - call [`BlockingJob::run`] on a thread where blocking is allowed, never on a thread
///   that drives async tasks;
/// - return `Err` instead of panicking when they cannot accept work.
///
/// Everything else (abort, panics, join results, tracking) is already inside the `Task`.
pub trait Spawner: Send + Sync {
    /// Starts `task` in the background.
    fn spawn_task(&self, task: Task) -> Result<(), SpawnError>;

    /// Starts `job` on a thread where blocking is allowed.
    fn spawn_blocking_job(&self, job: BlockingJob) -> Result<(), SpawnError>;
}

/// Typed spawning on any [`Spawner`], including `dyn Spawner`.
///
/// ```no_run
/// use looptime_api::{Spawner, SpawnerExt};
///
/// async fn sum_in_background(spawner: &impl Spawner) -> u64 {
///     let handle = spawner.spawn(async { (1..=10u64).sum::<u64>() });
///     let blocking = spawner.spawn_blocking(|| 32u64);
///     handle.await.unwrap() + blocking.await.unwrap()
/// }
/// ```
pub trait SpawnerExt: Spawner {
    /// Spawns `future`; the returned handle resolves to its output.
    ///
    /// If the spawner refuses (a shut-down proxy), the handle resolves at once to a
    /// [`JoinError`](crate::JoinError) with [`is_refused`](crate::JoinError::is_refused).
    #[track_caller]
    fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_inner(self, future, None).unwrap_or_else(|(handle, e)| handle.refused(e))
    }

    /// Like [`spawn`](SpawnerExt::spawn), with a name that leak reports show.
    #[track_caller]
    fn spawn_named<F>(&self, name: impl Into<String>, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_inner(self, future, Some(name.into())).unwrap_or_else(|(handle, e)| handle.refused(e))
    }

    /// Like [`spawn`](SpawnerExt::spawn), but reports a refusal as an error right away.
    #[track_caller]
    fn try_spawn<F>(&self, future: F) -> Result<JoinHandle<F::Output>, SpawnError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_inner(self, future, None).map_err(|(_, e)| e)
    }

    /// Runs `f` on a thread where blocking is allowed; the handle resolves to its result.
    ///
    /// A blocking job cannot be killed: [`JoinHandle::abort`] only discards its result.
    #[track_caller]
    fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let cell = new_cell(TaskHeader::new(Location::caller(), None, false));
        let handle = JoinHandle::new(cell.clone());
        let job = BlockingJob::with_output(f, SlotSender::new(cell));
        match self.spawn_blocking_job(job) {
            Ok(()) => handle,
            Err(error) => handle.refused(error),
        }
    }
}

impl<S: Spawner + ?Sized> SpawnerExt for S {}

/// Spawns a helper of the library itself: cancelled at shutdown, never reported as a leak.
#[track_caller]
pub(crate) fn spawn_internal<S, F>(
    spawner: &S,
    future: F,
) -> Result<JoinHandle<F::Output>, SpawnError>
where
    S: Spawner + ?Sized,
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let header = TaskHeader::new(Location::caller(), None, true);
    spawn_with(spawner, future, header).map_err(|(_, e)| e)
}

/// A spawned task's handle, or the refusal with the handle (to resolve it to the refusal).
type Spawned<T> = Result<JoinHandle<T>, (JoinHandle<T>, SpawnError)>;

/// Spawns with an optional name; `Err` carries the refusal and the task's handle.
#[track_caller]
fn spawn_inner<S, F>(spawner: &S, future: F, name: Option<String>) -> Spawned<F::Output>
where
    S: Spawner + ?Sized,
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    spawn_with(
        spawner,
        future,
        TaskHeader::new(Location::caller(), name, false),
    )
}

/// Spawns `future` as the task described by `header`, with a join handle.
fn spawn_with<S, F>(spawner: &S, future: F, header: TaskHeader) -> Spawned<F::Output>
where
    S: Spawner + ?Sized,
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let cell = new_cell(header);
    let handle = JoinHandle::new(cell.clone());
    let task = Task::with_output(future, SlotSender::new(cell));
    match spawner.spawn_task(task) {
        Ok(()) => Ok(handle),
        Err(error) => Err((handle, error)),
    }
}

macro_rules! forward_spawner {
    ($($ty:ty),*) => {$(
        impl<S: Spawner + ?Sized> Spawner for $ty {
            fn spawn_task(&self, task: Task) -> Result<(), SpawnError> {
                (**self).spawn_task(task)
            }
            fn spawn_blocking_job(&self, job: BlockingJob) -> Result<(), SpawnError> {
                (**self).spawn_blocking_job(job)
            }
        }
    )*};
}

forward_spawner!(&S, Box<S>, Arc<S>);
