//! `check_and_shutdown` (SPEC R7): close everything a proxy made, report what was left.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;
use std::collections::HashSet;
use std::panic::Location;
use std::sync::Arc;

use bitflags::bitflags;

use super::ProxyShared;
use super::resource::Resource;
use super::scope::ScopeState;
use crate::engine::clock::wake_all;
use crate::reactor::BoxFuture;
use crate::task::{CancelReason, TaskHeader, TaskRef};
use crate::{ReactorExt, TimeError};

bitflags! {
    /// The kinds of resources a proxy tracks, to select what
    /// [`check_and_shutdown`](crate::Proxy::check_and_shutdown) *reports*.
    ///
    /// Every kind is always closed, whatever is selected; the selection only decides what
    /// counts as a leak. [`ALL`](CheckKind::ALL) is every kind but `TIMERS`: as in
    /// aioloop-proxy, pending timers are cancelled silently unless asked for.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct CheckKind: u16 {
        /// Spawned tasks still running, and panics nobody received.
        const TASKS = 1 << 0;
        /// Blocking jobs still in flight.
        const BLOCKING = 1 << 1;
        /// Signal streams.
        const SIGNALS = 1 << 2;
        /// Listeners.
        const SERVERS = 1 << 3;
        /// Streams and UDP sockets.
        const TRANSPORTS = 1 << 4;
        /// Readable-fd watchers.
        const READERS = 1 << 5;
        /// Writable-fd watchers.
        const WRITERS = 1 << 6;
        /// Pending timers.
        const TIMERS = 1 << 7;
        /// Every kind but `TIMERS`.
        const ALL = Self::TASKS.bits()
            | Self::BLOCKING.bits()
            | Self::SIGNALS.bits()
            | Self::SERVERS.bits()
            | Self::TRANSPORTS.bits()
            | Self::READERS.bits()
            | Self::WRITERS.bits();
    }
}

/// One resource a proxy found alive (or a panic nobody received) at shutdown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leak {
    kind: CheckKind,
    order: u64,
    site: &'static Location<'static>,
    name: Option<String>,
    detail: Option<String>,
}

impl Leak {
    fn from_header(kind: CheckKind, header: &TaskHeader, detail: Option<String>) -> Self {
        Leak {
            kind,
            order: header.id,
            site: header.site,
            name: header.name.clone(),
            detail,
        }
    }

    /// The kind of resource (a single flag).
    pub fn kind(&self) -> CheckKind {
        self.kind
    }

    /// Where it was created: the `spawn`/`sleep`/`connect_tcp`/… call site (for a stream
    /// accepted by a listener, the listener's).
    pub fn site(&self) -> &'static Location<'static> {
        self.site
    }

    /// Its name, if it was given one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// More about it: a panic message, that it was still running after the grace, or what
    /// an I/O object is (`TCP stream 127.0.0.1:40000 -> 127.0.0.1:8080`).
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// Whether this is a task that panicked with nobody receiving the panic.
    pub fn is_panic(&self) -> bool {
        self.detail
            .as_deref()
            .is_some_and(|d| d.starts_with("panicked"))
    }
}

impl fmt::Display for Leak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            CheckKind::TASKS => "task spawned",
            CheckKind::BLOCKING => "blocking job spawned",
            CheckKind::TIMERS => "timer created",
            CheckKind::SERVERS => "server made",
            CheckKind::TRANSPORTS => "transport made",
            CheckKind::READERS => "reader made",
            CheckKind::WRITERS => "writer made",
            CheckKind::SIGNALS => "signal stream made",
            _ => "resource made",
        };
        write!(f, "{what} at {}", self.site)?;
        if let Some(name) = &self.name {
            write!(f, " ('{name}')")?;
        }
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

/// What [`check_and_shutdown`](crate::Proxy::check_and_shutdown) found alive: every leak
/// of a selected kind, with its kind, creation site and name.
///
/// Its `Display` is the report a failing test prints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leaks {
    scope: String,
    leaks: Vec<Leak>,
}

impl Leaks {
    /// The leaks, in creation order.
    pub fn iter(&self) -> std::slice::Iter<'_, Leak> {
        self.leaks.iter()
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.leaks.len()
    }

    /// Whether there are none (never true for a returned `Err`).
    pub fn is_empty(&self) -> bool {
        self.leaks.is_empty()
    }

    /// The union of the kinds found.
    pub fn kinds(&self) -> CheckKind {
        self.leaks
            .iter()
            .fold(CheckKind::empty(), |acc, leak| acc | leak.kind)
    }
}

impl<'a> IntoIterator for &'a Leaks {
    type Item = &'a Leak;
    type IntoIter = std::slice::Iter<'a, Leak>;
    fn into_iter(self) -> Self::IntoIter {
        self.leaks.iter()
    }
}

impl fmt::Display for Leaks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.leaks.len();
        write!(
            f,
            "{} leaked {n} resource{}:",
            self.scope,
            if n == 1 { "" } else { "s" }
        )?;
        for leak in &self.leaks {
            write!(f, "\n  - {leak}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Leaks {}

/// Closes `proxy` and its descendants: no new work, timers interrupted. Collects the
/// sites of pending timers. `false` if it was closed already.
pub(crate) fn close_tree(
    proxy: &ProxyShared,
    timers: &mut Vec<(u64, &'static Location<'static>)>,
) -> bool {
    {
        let mut registry = proxy.scope.registry();
        if registry.closed {
            return false;
        }
        registry.closed = true;
    }
    let (interrupted, arm) = {
        let mut st = proxy.clock.lock();
        st.shut_down = true;
        proxy.clock.publish_gate(&st);
        timers.extend(st.queue.pending_sites());
        let mut interrupted = Vec::new();
        st.queue
            .interrupt_all(&TimeError::shut_down(), &mut interrupted);
        (interrupted, st.arm.rearm())
    };
    wake_all(interrupted);
    if let Some(arm) = arm {
        arm.wake();
    }
    proxy.scope.wake_driver();
    for child in proxy.live_children() {
        close_tree(&child, timers);
    }
    true
}

/// What shutdown found alive: the user tasks still running (or that had panicked), the
/// jobs in flight, and the I/O objects, all taken under one lock of the registry.
///
/// One snapshot, before anything is aborted or closed: an aborted task may drop the I/O it
/// owns (on another thread) at once, and a closed object may let a task finish on its own;
/// either would hide a leak from a later look.
struct Alive {
    leaked: Vec<TaskRef>,
    all_tasks: Vec<TaskRef>,
    blocking: Vec<TaskRef>,
    resources: Vec<Arc<dyn Resource>>,
}

fn snapshot(scope: &ScopeState) -> Alive {
    let mut registry = scope.registry();
    let mut all_tasks: Vec<_> = registry.tasks.iter().map(|r| r.header.clone()).collect();
    // A job that has delivered its result is over, even if its thread has not left the
    // registry yet: its handle may already have the result.
    let mut blocking: Vec<_> = registry
        .blocking
        .values()
        .filter(|job| !job.is_finished())
        .cloned()
        .collect();
    let mut resources: Vec<_> = registry.resources.drain().map(|(_, r)| r).collect();
    drop(registry);
    all_tasks.sort_by_key(|h| h.id);
    blocking.sort_by_key(|h| h.id);
    resources.sort_by_key(|r| r.id());
    let leaked = all_tasks
        .iter()
        .filter(|h| !h.internal && (!h.is_finished() || h.unobserved_panic().is_some()))
        .cloned()
        .collect();
    Alive {
        leaked,
        all_tasks,
        blocking,
        resources,
    }
}

/// Aborts every task and job of the snapshot and closes every I/O object.
fn abort_and_close(alive: &Alive) {
    let reason = CancelReason::Time(TimeError::shut_down());
    for header in alive.all_tasks.iter().chain(&alive.blocking) {
        header.abort(reason.clone());
    }
    for resource in &alive.resources {
        resource.close();
    }
}

/// Cancels what a proxy dropped without shutdown still runs; returns how many user tasks.
pub(crate) fn cancel_on_drop(proxy: &ProxyShared) -> usize {
    let mut timers = Vec::new();
    if !close_tree(proxy, &mut timers) {
        return 0;
    }
    let alive = snapshot(&proxy.scope);
    abort_and_close(&alive);
    alive.leaked.len()
}

/// The whole of `check_and_shutdown`.
pub(crate) async fn check_and_shutdown(proxy: &ProxyShared, kind: CheckKind) -> Result<(), Leaks> {
    let mut timers = Vec::new();
    if !close_tree(proxy, &mut timers) {
        return Ok(());
    }
    let alive = snapshot(&proxy.scope);
    abort_and_close(&alive);
    let Alive {
        leaked: tasks,
        blocking,
        resources,
        ..
    } = alive;
    let grace = proxy.grace();
    let all_gone = WaitGone {
        scope: &proxy.scope,
        grace: proxy.parent.sleep_real(grace),
    }
    .await;

    let mut leaks = Vec::new();
    let mut reported = HashSet::new();
    let (still_tasks, still_blocking, panicked) = {
        let mut registry = proxy.scope.registry();
        let still_tasks: HashSet<u64> = registry.tasks.iter().map(|r| r.header.id).collect();
        let still_blocking: HashSet<u64> = registry.blocking.keys().copied().collect();
        (
            still_tasks,
            still_blocking,
            std::mem::take(&mut registry.panicked),
        )
    };
    let late = |alive: bool, what: &str| {
        (!all_gone && alive).then(|| format!("{what} still running {grace:?} after shutdown"))
    };
    if kind.contains(CheckKind::TASKS) {
        for header in &tasks {
            if reported.insert(header.id) {
                let detail = match header.unobserved_panic() {
                    Some(message) => Some(format!("panicked: {message}")),
                    None => late(still_tasks.contains(&header.id), "task"),
                };
                leaks.push(Leak::from_header(CheckKind::TASKS, header, detail));
            }
        }
        for header in &panicked {
            if let Some(message) = header.unobserved_panic()
                && reported.insert(header.id)
            {
                leaks.push(Leak::from_header(
                    CheckKind::TASKS,
                    header,
                    Some(format!("panicked: {message}")),
                ));
            }
        }
    }
    if kind.contains(CheckKind::BLOCKING) {
        for header in &blocking {
            let detail = late(still_blocking.contains(&header.id), "blocking job");
            leaks.push(Leak::from_header(CheckKind::BLOCKING, header, detail));
        }
    }
    for resource in resources {
        if kind.contains(resource.kind()) {
            leaks.push(Leak {
                kind: resource.kind(),
                order: resource.id(),
                site: resource.site(),
                name: None,
                detail: Some(resource.what().to_owned()),
            });
        }
    }
    if kind.contains(CheckKind::TIMERS) {
        for (seq, site) in timers {
            leaks.push(Leak {
                kind: CheckKind::TIMERS,
                order: seq,
                site,
                name: None,
                detail: None,
            });
        }
    }
    if leaks.is_empty() {
        return Ok(());
    }
    leaks.sort_by_key(|leak| (leak.kind.bits(), leak.order));
    let leaks = Leaks {
        scope: proxy.describe(),
        leaks,
    };
    tracing::warn!(report = %leaks, "looptime: leaks found at shutdown");
    Err(leaks)
}

/// Waits until the scope's tasks and blocking jobs are gone, or the grace is over.
struct WaitGone<'a> {
    scope: &'a ScopeState,
    grace: BoxFuture,
}

impl Future for WaitGone<'_> {
    type Output = bool;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        self.scope.shutdown_waker.register(cx.waker());
        {
            let registry = self.scope.registry();
            if registry.tasks.is_empty() && registry.blocking.is_empty() {
                return Poll::Ready(true);
            }
        }
        match self.grace.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(false),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The default bound on waiting for blocking jobs (and aborted tasks) at shutdown.
pub(crate) const DEFAULT_GRACE: Duration = Duration::from_secs(1);
