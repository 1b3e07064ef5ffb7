//! The trait set for [`Proxy`]: it is a [`Runtime`](crate::Runtime) like its parent.

use core::future::Future;
use core::pin::{Pin, pin};
use core::task::{Context, Poll};
use std::panic::Location;
use std::sync::Arc;
use std::time::SystemTime;

use std::io;
use std::net::SocketAddr;
#[cfg(unix)]
use std::os::fd::OwnedFd;

use super::Proxy;
use super::scope::ScopeState;
use super::tracking::{Layer, RegistryGuard, TrackState};
use crate::engine::clock::EngineSleep;
#[cfg(unix)]
use crate::io::{FdWatcher, Interest, SignalKind, Signals};
use crate::io::{IoFuture, TcpListener, TcpStream, UdpSocket};
use crate::reactor::BoxFuture;
use crate::{BlockingJob, Clock, Instant, Reactor, Sleep, SpawnError, Spawner, Task, TimeError};

impl Clock for Proxy {
    fn now(&self) -> Instant {
        self.shared.clock.now()
    }

    #[track_caller]
    fn sleep_until(&self, deadline: Instant) -> Sleep {
        let imp = EngineSleep::new(self.shared.clock.clone(), deadline, Location::caller());
        Sleep::engine(deadline, imp)
    }

    fn system_time(&self) -> SystemTime {
        self.shared.clock.system_time()
    }
}

impl Spawner for Proxy {
    /// Records the task, wraps it in this scope's tracking layer and hands it to the
    /// parent.
    fn spawn_task(&self, task: Task) -> Result<(), SpawnError> {
        let scope = &self.shared.scope;
        // The first proxy to take a task keeps its tracking in the task's cell.
        let mut first = false;
        let inline = task.cell().track.get_or_init(|| {
            first = true;
            TrackState::scheduled(scope.clone())
        });
        if first {
            let Some(index) = scope.register_task(task.task_ref(), None) else {
                inline.finish();
                return Err(SpawnError::shut_down(self.shared.site));
            };
            return self.shared.parent.spawn_task(task.tracked_inline(index));
        }
        let track = TrackState::new_scheduled(scope.clone());
        let Some(index) = scope.register_task(task.task_ref(), Some(track.clone())) else {
            track.finish();
            return Err(SpawnError::shut_down(self.shared.site));
        };
        let id = task.header().id;
        let task = task.layered(Layer::task(track, index, id));
        self.shared.parent.spawn_task(task)
    }

    /// Records the job as in flight (virtual time does not jump meanwhile, SPEC R11) and
    /// hands it to the parent.
    fn spawn_blocking_job(&self, job: BlockingJob) -> Result<(), SpawnError> {
        let scope = &self.shared.scope;
        let header = job.header().clone();
        if !scope.register_blocking(header.clone()) {
            return Err(SpawnError::shut_down(self.shared.site));
        }
        scope.blocking_started();
        let guard = RegistryGuard::blocking(scope.clone(), header.id);
        let job = job.map(|run| {
            Box::new(move || {
                let _guard = guard;
                run();
            })
        });
        self.shared.parent.spawn_blocking_job(job)
    }
}

impl Reactor for Proxy {
    /// Runs `root` through [`Proxy::run`] on the parent's `block_on`.
    fn block_on_dyn(
        &self,
        root: Pin<&mut (dyn Future<Output = ()> + '_)>,
    ) -> Result<(), TimeError> {
        let mut outcome = Ok(());
        {
            let run = self.run(root);
            let mut wrapper = pin!(async {
                outcome = run.await;
            });
            self.shared.parent.block_on_dyn(wrapper.as_mut())?;
        }
        outcome
    }

    fn sleep_real_until(&self, deadline: std::time::Instant) -> BoxFuture {
        self.shared.parent.sleep_real_until(deadline)
    }

    /// The parent's yield, counted as work of this scope until it completes: a task in
    /// the middle of a yield is never idle, whatever thread or runtime runs it (R9).
    fn yield_now(&self) -> BoxFuture {
        Box::pin(HeldYield {
            scope: self.shared.scope.clone(),
            pass: self.shared.parent.yield_now(),
            held: false,
        })
    }

    /// The runtime's count: the tasks alive on it, whichever scope they belong to.
    fn alive_tasks(&self) -> Option<usize> {
        self.shared.parent.alive_tasks()
    }

    /// The parent's stream, tracked by this scope; the connection in progress counts as an
    /// I/O wait.
    #[track_caller]
    fn connect_tcp(&self, addr: SocketAddr) -> IoFuture<TcpStream> {
        self.connect_tracked(addr, Location::caller())
    }

    /// The parent's listener, tracked (`SERVERS`), as are the streams it accepts.
    #[track_caller]
    fn bind_tcp(&self, addr: SocketAddr) -> io::Result<TcpListener> {
        self.bind_tcp_tracked(addr, Location::caller())
    }

    /// The parent's socket, tracked (`TRANSPORTS`).
    #[track_caller]
    fn bind_udp(&self, addr: SocketAddr) -> io::Result<UdpSocket> {
        self.bind_udp_tracked(addr, Location::caller())
    }

    /// The parent's watcher, tracked (`READERS` or `WRITERS`).
    #[cfg(unix)]
    #[track_caller]
    fn watch_fd(&self, fd: OwnedFd, interest: Interest) -> io::Result<FdWatcher> {
        self.watch_fd_tracked(fd, interest, Location::caller())
    }

    /// The parent's signal stream, tracked (`SIGNALS`).
    #[cfg(unix)]
    #[track_caller]
    fn signal(&self, kind: SignalKind) -> io::Result<Signals> {
        self.signal_tracked(kind, Location::caller())
    }
}

/// A yield that holds a unit of its scope's `busy` while in flight.
struct HeldYield {
    scope: Arc<ScopeState>,
    pass: BoxFuture,
    held: bool,
}

impl Future for HeldYield {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if !self.held {
            self.held = true;
            self.scope.busy_inc();
        }
        let done = self.pass.as_mut().poll(cx).is_ready();
        if done {
            self.held = false;
            self.scope.busy_dec();
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

impl Drop for HeldYield {
    fn drop(&mut self) {
        if self.held {
            self.scope.busy_dec();
        }
    }
}
