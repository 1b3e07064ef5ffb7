//! [`Proxy`]: a scope over a runtime (or another proxy) that records what is created
//! through it, shuts it down, and can run on virtual time (SPEC §3–§4).

mod impls;
mod io;
#[cfg(all(test, looptime_loom))]
mod loom_model;
pub(crate) mod resource;
mod run;
pub(crate) mod scope;
mod shutdown;
pub(crate) mod tracking;

use core::future::Future;
use core::time::Duration;
use std::any::Any;
use std::panic::Location;
use std::sync::{Arc, Mutex, Weak};

pub use run::Run;
pub use shutdown::{CheckKind, Leak, Leaks};

use crate::engine::advance::AdvanceTask;
use crate::engine::clock::ClockCore;
use crate::engine::settings::{Settings, SetupError};
use crate::instant::duration_to_nanos;
use crate::spawner::spawn_internal;
use crate::{AdvanceError, Runtime};
use scope::ScopeState;

/// A scope over a parent [`Runtime`]: all real work is delegated to the parent, and
/// everything created through the proxy is recorded, so that one test's tasks, blocking
/// jobs and timers can be checked and shut down without touching the parent's
/// (aioloop-proxy's idea, SPEC R6).
///
/// A `Proxy` is itself a [`Runtime`]: code written against `impl Runtime` or `impl Clock`
/// runs on it unchanged, and proxies nest (global → module → test). What a child creates
/// is visible to its ancestors until the child shuts it down.
///
/// A proxy runs on its parent's time, shifted by [`advance_time`](Proxy::advance_time),
/// until [`setup_looptime`](Proxy::setup_looptime) puts it on a **virtual clock** that
/// moves only while the scope is idle, straight to the next deadline (SPEC §4). Virtual
/// time moves while a [`run`](Proxy::run) (or [`block_on`](crate::ReactorExt::block_on))
/// of the proxy is in progress; between runs it stands still. A child of a virtual proxy
/// sees that virtual time (plus its own shifts), and its timers fire as the virtual time
/// reaches them; at equal deadlines, a parent's timers fire before its child's (see
/// [`advance_time`](Proxy::advance_time)).
///
/// Cloning a `Proxy` is cheap and gives another handle to the same scope.
///
/// ```
/// use looptime_api::{CheckKind, ClockExt, Proxy, ReactorExt, Settings, SpawnerExt};
/// use std::time::Duration;
///
/// let runtime = looptime_tokio::Tokio::current_thread().unwrap();
/// let proxy = Proxy::new(&runtime);
/// let _virtual_time = proxy.setup_looptime(Settings::new()).unwrap();
/// proxy.block_on(async {
///     // A 15-minute timeout, over in microseconds of real time.
///     let waited = proxy.timeout(Duration::from_secs(900), std::future::pending::<()>()).await;
///     assert!(waited.unwrap_err().is_deadline());
///     assert_eq!(proxy.looptime(), Duration::from_secs(900));
///
///     let leaked = proxy.spawn(std::future::pending::<()>());
///     let report = proxy.check_and_shutdown(CheckKind::ALL).await.unwrap_err();
///     assert_eq!(report.len(), 1);
///     assert!(leaked.await.unwrap_err().is_cancelled());
/// }).unwrap();
/// ```
#[derive(Clone)]
pub struct Proxy {
    pub(crate) shared: Arc<ProxyShared>,
}

pub(crate) struct ProxyShared {
    site: &'static Location<'static>,
    name: Option<String>,
    pub(crate) parent: Arc<dyn Runtime>,
    /// The parent, when it is a proxy: I/O is made through it with the original caller's
    /// line, so every layer reports the line in the user's code.
    parent_proxy: Option<Proxy>,
    pub(crate) scope: Arc<ScopeState>,
    pub(crate) clock: Arc<ClockCore>,
    grace: Mutex<Duration>,
    children: Mutex<Vec<Weak<ProxyShared>>>,
}

impl ProxyShared {
    fn describe(&self) -> String {
        match &self.name {
            Some(name) => format!("proxy '{name}' created at {}", self.site),
            None => format!("proxy created at {}", self.site),
        }
    }

    fn grace(&self) -> Duration {
        *self.grace.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn live_children(&self) -> Vec<Arc<ProxyShared>> {
        let mut children = self.children.lock().unwrap_or_else(|p| p.into_inner());
        children.retain(|child| child.strong_count() > 0);
        children.iter().filter_map(Weak::upgrade).collect()
    }
}

impl Drop for ProxyShared {
    fn drop(&mut self) {
        let cancelled = shutdown::cancel_on_drop(self);
        if cancelled > 0 {
            tracing::warn!(
                proxy = %self.describe(),
                tasks = cancelled,
                "looptime: proxy dropped without check_and_shutdown; its tasks were cancelled"
            );
        }
    }
}

impl Proxy {
    /// A new scope over `parent`: a runtime adapter or another proxy.
    #[track_caller]
    pub fn new<R: Runtime + Clone + 'static>(parent: &R) -> Proxy {
        Proxy::build(parent, None)
    }

    /// Like [`new`](Proxy::new), with a name that leak reports show.
    #[track_caller]
    pub fn named<R: Runtime + Clone + 'static>(parent: &R, name: impl Into<String>) -> Proxy {
        Proxy::build(parent, Some(name.into()))
    }

    #[track_caller]
    fn build<R: Runtime + Clone + 'static>(parent: &R, name: Option<String>) -> Proxy {
        let parent_proxy = (parent as &dyn Any).downcast_ref::<Proxy>();
        let parent_rt: Arc<dyn Runtime> = Arc::new(parent.clone());
        let shared = Arc::new(ProxyShared {
            site: Location::caller(),
            name,
            scope: ScopeState::new(),
            clock: ClockCore::new(
                parent_rt.clone(),
                parent_proxy.map(|parent| parent.shared.clock.clone()),
            ),
            parent: parent_rt,
            parent_proxy: parent_proxy.cloned(),
            grace: Mutex::new(shutdown::DEFAULT_GRACE),
            children: Mutex::new(Vec::new()),
        });
        if let Some(parent) = parent_proxy {
            parent
                .shared
                .children
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(Arc::downgrade(&shared));
        }
        Proxy { shared }
    }

    /// Where this proxy was created.
    pub fn site(&self) -> &'static Location<'static> {
        self.shared.site
    }

    /// The parent this proxy delegates to.
    pub fn parent(&self) -> &Arc<dyn Runtime> {
        &self.shared.parent
    }

    /// The loop time: this proxy's `now()` as an exact duration since its clock's origin
    /// (on virtual time, since loop time zero).
    pub fn looptime(&self) -> Duration {
        self.shared.clock.now().since_origin()
    }

    /// Whether the proxy runs on a virtual clock (after its first setup).
    pub fn is_virtual(&self) -> bool {
        self.shared.clock.is_virtual()
    }

    /// The settings of the last setup (the defaults before any).
    pub fn settings(&self) -> Settings {
        self.shared.clock.lock().settings.clone()
    }

    /// Puts the proxy on its virtual clock with `settings`, and switches virtual time on
    /// until the returned guard is dropped (SPEC R16).
    ///
    /// The first setup starts loop time at `settings.start` (default 0); a repeated setup
    /// keeps the current loop time unless `start` is given (a `start` below it is honoured
    /// with a logged warning). Every setup resets the end of time, the idle countdown and
    /// the no-op count.
    ///
    /// # Errors
    ///
    /// Invalid settings (zero resolution, `end` before `start`, …), a guard still alive
    /// ([`SetupError::AlreadyEnabled`]), or a shut-down proxy.
    pub fn setup_looptime(&self, settings: Settings) -> Result<LooptimeGuard, SetupError> {
        self.shared.clock.setup(settings)?;
        Ok(self.guard())
    }

    /// Switches virtual time on again with the settings of the last setup (or the defaults,
    /// on a proxy never set up), until the returned guard is dropped.
    ///
    /// # Errors
    ///
    /// [`SetupError::AlreadyEnabled`] while another guard is alive, or a shut-down proxy.
    pub fn looptime_enabled(&self) -> Result<LooptimeGuard, SetupError> {
        self.shared.clock.enable()?;
        Ok(self.guard())
    }

    fn guard(&self) -> LooptimeGuard {
        self.shared.scope.wake_driver();
        LooptimeGuard {
            proxy: self.clone(),
        }
    }

    /// Shifts this proxy's time forward by `by` (SPEC R8). The parent's time does not move.
    ///
    /// The shift steps through every deadline of this proxy and its descendants inside the
    /// window, in deadline order (FIFO for equal ones), firing that tick's timers and
    /// letting the scope settle before the next, so work that sleeps in a loop runs as it
    /// would in real time. Relative (`sleep`) and absolute (`sleep_until`, `timeout_at`)
    /// deadlines are both honoured. Firing `k` of `n` pending timers costs O(k log n).
    ///
    /// On a virtual clock, a shift that reaches `end` stops there and ends time. Concurrent
    /// calls on one proxy run one after another, in call order; each one shifts from the
    /// time at which it takes its turn. The last step fires the timers due at the target
    /// and returns without waiting for the scope to settle.
    ///
    /// **Across proxies.** A child's time is its parent's plus the child's own shifts, so a
    /// shift of a child moves the child and its descendants, never its parent; a shift of a
    /// parent reaches its descendants' timers. The timers of a proxy and its descendants
    /// due at one tick fire together, in one order: by deadline, then in the order they
    /// were registered across the whole tree, whichever proxy each belongs to. A task that
    /// called `advance_time` resumes after the tasks woken at the last tick (on a
    /// current-thread runtime, which runs woken tasks in FIFO order).
    ///
    /// # Errors
    ///
    /// [`AdvanceError::Overflow`] when the result does not fit the clock (nothing moves),
    /// [`AdvanceError::EndOfTime`], or [`AdvanceError::ShutDown`].
    pub async fn advance_time(&self, by: Duration) -> Result<(), AdvanceError> {
        let by_nanos = duration_to_nanos(by).ok_or(AdvanceError::Overflow { by })?;
        let stepping = AdvanceTask::new(
            self.shared.clock.clone(),
            self.shared.scope.clone(),
            by,
            by_nanos,
        );
        let handle =
            spawn_internal(&*self.shared.parent, stepping).map_err(|_| AdvanceError::ShutDown)?;
        handle.await.unwrap_or(Err(AdvanceError::ShutDown))
    }

    /// Closes everything this proxy (and its descendants) still has alive, and reports the
    /// kinds selected by `kind` (SPEC R7).
    ///
    /// Whatever `kind` says, every task is aborted, every timer cancelled, and every I/O
    /// object made through the proxy closed (streams, including those its listeners
    /// accepted, listeners, UDP sockets, fd watchers with their descriptors, signal
    /// streams); `kind` only selects what counts as a leak. A closed object's handle returns
    /// an [`io::Error`](std::io::Error) (a signal stream ends) and never touches the
    /// descriptor again. A task that panicked with nobody receiving the panic
    /// is reported under [`CheckKind::TASKS`]. Blocking jobs cannot be killed: shutdown
    /// waits for them (and for aborted tasks to be dropped) up to a grace of real time
    /// ([`set_shutdown_grace`](Proxy::set_shutdown_grace), default 1 s), then reports them.
    ///
    /// Afterwards the proxy refuses new work with clear errors: spawns resolve to
    /// [`JoinError::is_refused`](crate::JoinError::is_refused), waits to
    /// [`TimeError::is_shut_down`](crate::TimeError::is_shut_down). Calling it again
    /// returns `Ok(())`.
    ///
    /// Call it from outside the scope's own tasks (from the root of a run, or outside any
    /// run): a task of the scope that awaits it would abort itself.
    pub async fn check_and_shutdown(&self, kind: CheckKind) -> Result<(), Leaks> {
        shutdown::check_and_shutdown(&self.shared, kind).await
    }

    /// Whether [`check_and_shutdown`](Proxy::check_and_shutdown) has run.
    pub fn is_shut_down(&self) -> bool {
        self.shared.scope.registry().closed
    }

    /// Sets how long shutdown waits, in real time, for blocking jobs and aborted tasks.
    pub fn set_shutdown_grace(&self, grace: Duration) {
        *self.shared.grace.lock().unwrap_or_else(|p| p.into_inner()) = grace;
    }

    /// Runs `root` in this proxy's scope, driving its virtual clock meanwhile (if enabled).
    ///
    /// Resolves to the root's output, or to the [`TimeError`](crate::TimeError) of the end
    /// of time or idle timeout that left the root blocked. On a shut-down proxy it resolves
    /// at once to a [`TimeError::is_shut_down`](crate::TimeError::is_shut_down) error.
    pub fn run<F: Future>(&self, root: F) -> Run<F> {
        Run::new(self.clone(), root)
    }
}

impl core::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Proxy")
            .field("site", &format_args!("{}", self.shared.site))
            .field("name", &self.shared.name)
            .field("virtual", &self.is_virtual())
            .field("looptime", &self.looptime())
            .finish_non_exhaustive()
    }
}

/// Keeps a proxy's virtual time switched on; made by
/// [`Proxy::setup_looptime`] and [`Proxy::looptime_enabled`].
///
/// Dropping it switches virtual time off: loop time stands still until the next guard.
#[must_use = "virtual time is switched off when the guard is dropped"]
pub struct LooptimeGuard {
    proxy: Proxy,
}

impl Drop for LooptimeGuard {
    fn drop(&mut self) {
        self.proxy.shared.clock.disable();
        self.proxy.shared.scope.wake_driver();
    }
}

impl core::fmt::Debug for LooptimeGuard {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LooptimeGuard").finish_non_exhaustive()
    }
}
