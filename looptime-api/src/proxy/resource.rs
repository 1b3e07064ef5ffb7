//! The slot a proxy keeps for each I/O object made through it (SPEC R6–R7).
//!
//! The user's handle and the proxy's registry share one [`Slot`]. The handle polls the
//! object through it; the proxy's shutdown takes the object out and drops it, which closes
//! the socket or descriptor. From then on the handle finds the slot empty and returns an
//! [`io::Error`] instead of touching a closed (or reused) descriptor.
//!
//! A slot also tells the scope when a task waits on the object: a poll that returned
//! `Pending` starts an *I/O wait*, the next poll that returns `Ready` (or the handle's drop)
//! ends it. Virtual time reads the count of waits in flight and the moment of the last
//! I/O activity (SPEC R9, R12, [`Settings::io_patience`](crate::Settings::io_patience)).

use core::task::{Context, Poll};
use std::io;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use futures_util::task::AtomicWaker;

use super::scope::ScopeState;
use super::shutdown::CheckKind;
use crate::task::next_id;

/// The two directions a handle can wait in: reading (accepting, receiving, readiness)
/// and writing.
#[derive(Clone, Copy)]
pub(crate) enum Dir {
    Read = 0,
    Write = 1,
}

/// What a proxy's registry needs of a slot, whatever object it holds.
pub(crate) trait Resource: Send + Sync {
    /// Creation order, across all tracked kinds.
    fn id(&self) -> u64;
    /// Which kind it reports as.
    fn kind(&self) -> CheckKind;
    /// Where it was made.
    fn site(&self) -> &'static Location<'static>;
    /// What it is, for reports ("TCP stream 127.0.0.1:40000 -> 127.0.0.1:8080").
    fn what(&self) -> &str;
    /// Drops the object (closing it), ends its waits and wakes its waiters.
    fn close(&self);
}

/// One tracked object and the scope it belongs to.
pub(crate) struct Slot<T> {
    id: u64,
    kind: CheckKind,
    site: &'static Location<'static>,
    what: String,
    scope: Arc<ScopeState>,
    inner: Mutex<Option<T>>,
    waiting: [AtomicBool; 2],
    wakers: [AtomicWaker; 2],
}

impl<T: Send + 'static> Slot<T> {
    /// Registers `inner` with `scope`. Fails (dropping `inner`, so closing it) when the
    /// scope is shut down.
    pub(crate) fn register(
        scope: &Arc<ScopeState>,
        kind: CheckKind,
        site: &'static Location<'static>,
        what: String,
        inner: T,
    ) -> io::Result<Arc<Self>> {
        let slot = Arc::new(Slot {
            id: next_id(),
            kind,
            site,
            what,
            scope: scope.clone(),
            inner: Mutex::new(Some(inner)),
            waiting: [AtomicBool::new(false), AtomicBool::new(false)],
            wakers: [AtomicWaker::new(), AtomicWaker::new()],
        });
        if scope.register_resource(slot.clone()) {
            scope.io_activity();
            Ok(slot)
        } else {
            Err(refused(&slot.what, site))
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<T>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Polls the object with `f`, keeping the scope's count of I/O waits. On a closed
    /// slot, `closed` makes the outcome from the error that says so.
    pub(crate) fn poll<R>(
        &self,
        dir: Dir,
        cx: &mut Context<'_>,
        closed: impl FnOnce(io::Error) -> R,
        f: impl FnOnce(&mut T, &mut Context<'_>) -> Poll<R>,
    ) -> Poll<R> {
        let mut inner = self.lock();
        let Some(object) = inner.as_mut() else {
            drop(inner);
            self.set_waiting(dir, false);
            return Poll::Ready(closed(self.closed_error()));
        };
        let outcome = f(object, cx);
        match outcome {
            Poll::Pending => {
                // Registered under the lock, so a `close` cannot slip between the poll and
                // the registration and leave the waiter asleep.
                self.wakers[dir as usize].register(cx.waker());
                self.set_waiting(dir, true);
            }
            Poll::Ready(_) => {
                self.set_waiting(dir, false);
                self.scope.io_activity();
            }
        }
        outcome
    }

    /// Reads the object with `f`, or the error of a closed slot.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&T) -> io::Result<R>) -> io::Result<R> {
        match self.lock().as_ref() {
            Some(object) => f(object),
            None => Err(self.closed_error()),
        }
    }

    fn set_waiting(&self, dir: Dir, waiting: bool) {
        if self.waiting[dir as usize].swap(waiting, Ordering::AcqRel) != waiting {
            if waiting {
                self.scope.io_wait_started();
            } else {
                self.scope.io_wait_ended();
            }
        }
    }

    fn closed_error(&self) -> io::Error {
        io::Error::new(
            io::ErrorKind::NotConnected,
            format!(
                "{} (made at {}) was closed by the shutdown of its proxy",
                self.what, self.site
            ),
        )
    }

    /// The scope it belongs to.
    pub(crate) fn scope(&self) -> Arc<ScopeState> {
        self.scope.clone()
    }

    /// Where it was made.
    pub(crate) fn site(&self) -> &'static Location<'static> {
        self.site
    }

    /// The handle is gone: forget the object (it closes as the last reference drops).
    pub(crate) fn release(&self) {
        self.set_waiting(Dir::Read, false);
        self.set_waiting(Dir::Write, false);
        self.scope.resource_released(self.id);
    }
}

impl<T: Send + 'static> Resource for Slot<T> {
    fn id(&self) -> u64 {
        self.id
    }
    fn kind(&self) -> CheckKind {
        self.kind
    }
    fn site(&self) -> &'static Location<'static> {
        self.site
    }
    fn what(&self) -> &str {
        &self.what
    }
    fn close(&self) {
        let object = self.lock().take();
        drop(object);
        self.set_waiting(Dir::Read, false);
        self.set_waiting(Dir::Write, false);
        for waker in &self.wakers {
            waker.wake();
        }
    }
}

/// The error for I/O requested from a shut-down proxy.
pub(crate) fn refused(what: &str, site: &'static Location<'static>) -> io::Error {
    io::Error::other(format!(
        "{what} requested at {site} from a proxy that is shut down"
    ))
}
