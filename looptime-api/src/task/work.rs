//! [`Task`] and [`BlockingJob`]: what a [`Spawner`](crate::Spawner) receives.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::panic::{AssertUnwindSafe, Location, catch_unwind};
use std::sync::Arc;

use pin_project_lite::pin_project;

use super::{JoinSlot, SlotSender, TaskHeader};

/// A boxed, type-erased task future.
pub(crate) type BoxedTask = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A boxed, type-erased blocking closure.
pub(crate) type BoxedJob = Box<dyn FnOnce() + Send + 'static>;

/// A spawned future, ready for a runtime: poll it to completion.
///
/// Made by [`SpawnerExt::spawn`](crate::SpawnerExt::spawn); a [`Spawner`](crate::Spawner)
/// implementation receives it and runs it (`Task` is a `Future<Output = ()> + Send +
/// 'static`). It already catches panics, honours [`JoinHandle::abort`](crate::JoinHandle::abort)
/// and delivers the output to its join handle, so a runtime only has to poll it. Dropping
/// it unfinished resolves the handle to a cancellation.
pub struct Task {
    header: Arc<TaskHeader>,
    future: BoxedTask,
}

pin_project! {
    /// The innermost layer: aborts, panics, and the delivery of the output.
    struct Joined<F: Future> {
        #[pin]
        future: F,
        sender: SlotSender<F::Output>,
        done: bool,
    }
}

impl<F: Future> Future for Joined<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        if *this.done {
            return Poll::Ready(());
        }
        let header = this.sender.header();
        header.waker.register(cx.waker());
        if header.abort_requested() {
            *this.done = true;
            this.sender.send_cancelled();
            return Poll::Ready(());
        }
        let future = this.future;
        match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => {
                *this.done = true;
                this.sender.send_output(output);
                Poll::Ready(())
            }
            Err(payload) => {
                *this.done = true;
                this.sender.send_panic(payload);
                Poll::Ready(())
            }
        }
    }
}

impl Task {
    /// A task whose output goes to `sender`'s slot.
    pub(crate) fn with_output<F>(future: F, sender: SlotSender<F::Output>) -> Task
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let header = sender.header().clone();
        Task {
            header,
            future: Box::pin(Joined {
                future,
                sender,
                done: false,
            }),
        }
    }

    /// A helper task of the library itself: cancelled at shutdown, never reported.
    pub(crate) fn internal<F>(future: F, site: &'static Location<'static>) -> Task
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let header = Arc::new(TaskHeader::new(site, None, true));
        Task::with_output(future, SlotSender::new(JoinSlot::new(), header))
    }

    pub(crate) fn header(&self) -> &Arc<TaskHeader> {
        &self.header
    }

    /// Wraps the future in another layer (a proxy's tracking).
    pub(crate) fn map(self, wrap: impl FnOnce(BoxedTask) -> BoxedTask) -> Task {
        Task {
            header: self.header,
            future: wrap(self.future),
        }
    }

    /// A process-unique id.
    pub fn id(&self) -> u64 {
        self.header.id
    }

    /// Where the task was spawned.
    pub fn spawn_site(&self) -> &'static Location<'static> {
        self.header.site
    }

    /// The task's name, if it was spawned with one.
    pub fn name(&self) -> Option<&str> {
        self.header.name.as_deref()
    }
}

impl Future for Task {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.future.as_mut().poll(cx)
    }
}

impl fmt::Debug for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("id", &self.header.id)
            .field("spawned_at", &format_args!("{}", self.header.site))
            .field("name", &self.header.name)
            .finish_non_exhaustive()
    }
}

/// A blocking closure, ready for a runtime's blocking pool: call [`run`](BlockingJob::run)
/// on a thread where blocking is allowed.
///
/// Like [`Task`], it already catches panics and delivers its result to its join handle.
/// Dropping it without running resolves the handle to a cancellation.
pub struct BlockingJob {
    header: Arc<TaskHeader>,
    job: BoxedJob,
}

impl BlockingJob {
    /// A job whose result goes to `sender`'s slot.
    pub(crate) fn with_output<R, F>(f: F, mut sender: SlotSender<R>) -> BlockingJob
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let header = sender.header().clone();
        BlockingJob {
            header,
            job: Box::new(move || {
                if sender.header().abort_requested() {
                    sender.send_cancelled();
                    return;
                }
                match catch_unwind(AssertUnwindSafe(f)) {
                    Ok(value) => sender.send_output(value),
                    Err(payload) => sender.send_panic(payload),
                }
            }),
        }
    }

    pub(crate) fn header(&self) -> &Arc<TaskHeader> {
        &self.header
    }

    /// Wraps the closure in another layer (a proxy's tracking).
    pub(crate) fn map(self, wrap: impl FnOnce(BoxedJob) -> BoxedJob) -> BlockingJob {
        BlockingJob {
            header: self.header,
            job: wrap(self.job),
        }
    }

    /// Runs the job on the current thread, blocking it until the job returns.
    pub fn run(self) {
        (self.job)()
    }

    /// A process-unique id.
    pub fn id(&self) -> u64 {
        self.header.id
    }

    /// Where the job was spawned.
    pub fn spawn_site(&self) -> &'static Location<'static> {
        self.header.site
    }
}

impl fmt::Debug for BlockingJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingJob")
            .field("id", &self.header.id)
            .field("spawned_at", &format_args!("{}", self.header.site))
            .finish_non_exhaustive()
    }
}
