//! [`Task`] and [`BlockingJob`]: what a [`Spawner`](crate::Spawner) receives.

use core::fmt;
use core::future::Future;
use core::pin::{Pin, pin};
use core::task::{Context, Poll, Waker};
use std::panic::{AssertUnwindSafe, Location, catch_unwind};

use pin_project_lite::pin_project;

use super::header::{ErasedSlot, TaskCell, TaskHeader, TaskRef};
use super::join::{
    JoinSlot, SlotSender, deliver_cancelled, deliver_output, deliver_panic, new_cell,
};
use crate::proxy::tracking::{Layer, Layers};

/// The innermost layers of a task, its output type erased: the future, the delivery of its
/// result, and the tracking of the first proxy that took it.
pub(crate) trait TaskFuture: Future<Output = ()> + Send {
    fn cell(&self) -> &TaskCell<dyn ErasedSlot>;

    fn task_ref(&self) -> TaskRef;

    /// Polls from now on through the cell's `track` (set by the proxy that took the task),
    /// with the cell as that layer's waker; the task is at `index` in that proxy's registry.
    fn track_inline(self: Pin<&mut Self>, index: usize);
}

/// A boxed, type-erased task future.
pub(crate) type BoxedTask = Pin<Box<dyn TaskFuture>>;

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
    /// The user's future with the delivery of its result and the innermost proxy layer
    /// (one allocation).
    future: BoxedTask,
    /// The tracking of each further proxy the task was spawned through, inner to outer:
    /// polled outermost first, each with its own waker.
    layers: Layers,
}

pin_project! {
    /// The innermost layers: the tracking of the first proxy that took the task (if any),
    /// then aborts, panics, and the delivery of the output.
    ///
    /// Fields drop in order: the future first, then the sender (which cancels the handle
    /// of an unfinished task, then leaves the first proxy's registry). `inline_waker` is
    /// the waker of the innermost proxy layer (the cell), once a proxy took the task.
    struct Joined<F: Future> {
        #[pin]
        future: F,
        sender: SlotSender<F::Output>,
        inline_waker: Option<Waker>,
    }
}

impl<F: Future> Future for Joined<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        let (cell, sent) = this.sender.parts();
        let body = Body {
            future: this.future,
            cell,
            sent,
        };
        match (cell.track.get(), this.inline_waker.as_ref()) {
            // As a proxy's tracking wrapper around the body would.
            (Some(track), Some(waker)) => track.poll_as(waker, pin!(body), cx),
            _ => {
                // Not tracked by a proxy: an abort wakes the waker of the last poll (of a
                // task still running).
                if !*body.sent {
                    cell.header.waker.register(cx.waker());
                }
                pin!(body).poll(cx)
            }
        }
    }
}

/// A task's own layer, polled by [`Joined`]: aborts, panics, the delivery of the output.
struct Body<'a, F: Future> {
    future: Pin<&'a mut F>,
    cell: &'a TaskCell<JoinSlot<F::Output>>,
    /// Whether the result was delivered.
    sent: &'a mut bool,
}

impl<F: Future> Future for Body<'_, F> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        if *this.sent {
            return Poll::Ready(());
        }
        if this.cell.header.abort_requested() {
            *this.sent = true;
            deliver_cancelled(this.cell);
            return Poll::Ready(());
        }
        let future = this.future.as_mut();
        match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => {
                *this.sent = true;
                deliver_output(this.cell, output);
                Poll::Ready(())
            }
            Err(payload) => {
                *this.sent = true;
                deliver_panic(this.cell, payload);
                Poll::Ready(())
            }
        }
    }
}

impl<F> TaskFuture for Joined<F>
where
    F: Future + Send,
    F::Output: Send + 'static,
{
    fn cell(&self) -> &TaskCell<dyn ErasedSlot> {
        &**self.sender.cell()
    }

    fn task_ref(&self) -> TaskRef {
        self.sender.task_ref()
    }

    fn track_inline(self: Pin<&mut Self>, index: usize) {
        let this = self.project();
        this.sender.set_registered(index);
        *this.inline_waker = Some(Waker::from(this.sender.cell().clone()));
    }
}

impl Task {
    /// A task whose output goes to `sender`'s slot.
    pub(crate) fn with_output<F>(future: F, sender: SlotSender<F::Output>) -> Task
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Task {
            future: Box::pin(Joined {
                future,
                sender,
                inline_waker: None,
            }),
            layers: Layers::default(),
        }
    }

    /// A helper task of the library itself: cancelled at shutdown, never reported.
    pub(crate) fn internal<F>(future: F, site: &'static Location<'static>) -> Task
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let cell = new_cell(TaskHeader::new(site, None, true));
        Task::with_output(future, SlotSender::new(cell))
    }

    pub(crate) fn header(&self) -> &TaskHeader {
        &self.future.cell().header
    }

    /// The task's cell, with the tracking of the first proxy that took it.
    pub(crate) fn cell(&self) -> &TaskCell<dyn ErasedSlot> {
        self.future.cell()
    }

    /// The task's header, shared.
    pub(crate) fn task_ref(&self) -> TaskRef {
        self.future.task_ref()
    }

    /// Makes the cell's `track` the task's innermost tracking layer (the first proxy
    /// took the task), registered at `index` in that proxy's registry.
    pub(crate) fn tracked_inline(mut self, index: usize) -> Task {
        self.future.as_mut().track_inline(index);
        self
    }

    /// Wraps the task in another proxy's tracking (outside those it has).
    pub(crate) fn layered(mut self, layer: Layer) -> Task {
        self.layers.push(layer);
        self
    }

    /// A process-unique id.
    pub fn id(&self) -> u64 {
        self.header().id
    }

    /// Where the task was spawned.
    pub fn spawn_site(&self) -> &'static Location<'static> {
        self.header().site
    }

    /// The task's name, if it was spawned with one.
    pub fn name(&self) -> Option<&str> {
        self.header().name.as_deref()
    }
}

impl Future for Task {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        this.layers.poll(this.future.as_mut(), cx)
    }
}

impl Drop for Task {
    /// In the order nested wrappers had: every layer finishes (outermost first, the
    /// cell's last), then the future is dropped (an unfinished one cancels its handle,
    /// then leaves the registry of the cell's layer), then each further layer leaves its
    /// proxy's registry (innermost first; the fields drop in that order).
    fn drop(&mut self) {
        self.layers.finish();
        if let Some(track) = self.future.cell().inline_track() {
            track.finish();
        }
    }
}

impl fmt::Debug for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header = self.header();
        f.debug_struct("Task")
            .field("id", &header.id)
            .field("spawned_at", &format_args!("{}", header.site))
            .field("name", &header.name)
            .finish_non_exhaustive()
    }
}

/// A blocking closure, ready for a runtime's blocking pool: call [`run`](BlockingJob::run)
/// on a thread where blocking is allowed.
///
/// Like [`Task`], it already catches panics and delivers its result to its join handle.
/// Dropping it without running resolves the handle to a cancellation.
pub struct BlockingJob {
    header: TaskRef,
    job: BoxedJob,
}

impl BlockingJob {
    /// A job whose result goes to `sender`'s slot.
    pub(crate) fn with_output<R, F>(f: F, mut sender: SlotSender<R>) -> BlockingJob
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let header = sender.task_ref();
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

    pub(crate) fn header(&self) -> &TaskRef {
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
