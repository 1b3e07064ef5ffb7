//! How a task's layers behave on a runtime the test drives by hand: the tracking of the
//! first proxy in the task's cell, further proxies' layers, the registry, aborts, and the
//! result slot.

use std::future::{Future, pending};
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use crate::proxy::scope::ScopeState;
use crate::test_support::{Counter, Manual};
use crate::{CheckKind, JoinError, JoinHandle, Proxy, SpawnerExt, TimeError};

/// Polls `future` once with `counter` as the waker.
fn poll_with<F: Future + Unpin>(future: &mut F, counter: &Arc<Counter>) -> Poll<F::Output> {
    let waker = Waker::from(counter.clone());
    Pin::new(future).poll(&mut Context::from_waker(&waker))
}

/// A future that waits until opened, keeping the waker of its last poll.
#[derive(Clone, Default)]
struct Gate {
    open: Arc<AtomicBool>,
    waker: Arc<Mutex<Option<Waker>>>,
}

impl Gate {
    fn wait<T>(&self, value: T) -> impl Future<Output = T> + use<T> {
        let gate = self.clone();
        let mut value = Some(value);
        std::future::poll_fn(move |cx| {
            if gate.open.load(Ordering::SeqCst) {
                return Poll::Ready(value.take().expect("polled after Ready"));
            }
            *gate.waker.lock().unwrap() = Some(cx.waker().clone());
            Poll::Pending
        })
    }

    fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
    }

    /// Wakes the task with the waker it last polled with.
    fn wake(&self) {
        self.waker
            .lock()
            .unwrap()
            .as_ref()
            .expect("polled")
            .wake_by_ref();
    }
}

/// Runs `f` when dropped.
struct OnDrop<F: FnMut()>(F);

impl<F: FnMut()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        (self.0)();
    }
}

fn scope(proxy: &Proxy) -> Arc<ScopeState> {
    proxy.shared.scope.clone()
}

fn ready<T>(handle: &mut JoinHandle<T>) -> Result<T, JoinError> {
    match poll_with(handle, &Arc::default()) {
        Poll::Ready(result) => result,
        Poll::Pending => panic!("the handle is not resolved"),
    }
}

#[test]
fn a_task_of_one_proxy_is_tracked_in_its_cell() {
    let runtime = Manual::default();
    let proxy = Proxy::new(&runtime);
    let scope = scope(&proxy);
    let gate = Gate::default();
    let mut handle = proxy.spawn(gate.wait(7));
    assert_eq!((scope.busy(), scope.live()), (1, 1), "spawned: scheduled");

    let mut task = runtime.take();
    let counter = Arc::new(Counter::default());
    assert!(poll_with(&mut task, &counter).is_pending());
    assert_eq!(scope.busy(), 0, "idle after its poll");
    assert!(matches!(poll_with(&mut handle, &counter), Poll::Pending));

    gate.wake();
    assert_eq!(scope.busy(), 1, "a wake counts before the poll");
    assert_eq!(counter.wakes(), 1, "and reaches the runtime");
    gate.wake();
    assert_eq!(scope.busy(), 1, "a second wake changes nothing");

    gate.open();
    assert!(poll_with(&mut task, &counter).is_ready());
    assert_eq!(
        (scope.busy(), scope.live()),
        (0, 1),
        "done, not dropped yet"
    );
    drop(task);
    assert_eq!((scope.busy(), scope.live()), (0, 0));
    assert!(scope.registry().tasks.is_empty());
    assert_eq!(ready(&mut handle).unwrap(), 7);
}

#[test]
fn nested_proxies_each_track_the_task_and_drop_in_order() {
    let runtime = Manual::default();
    let parent = Proxy::new(&runtime);
    let child = Proxy::new(&parent);
    let (outer, inner) = (scope(&parent), scope(&child));
    let gate = Gate::default();
    let seen_at_drop = Arc::new(Mutex::new(None));
    let mut handle = child.spawn({
        let (outer, inner, seen) = (outer.clone(), inner.clone(), seen_at_drop.clone());
        let probe = OnDrop(move || {
            *seen.lock().unwrap() = Some((inner.live(), outer.live(), inner.busy(), outer.busy()));
        });
        let wait = gate.wait(());
        async move {
            let _probe = probe;
            wait.await;
        }
    });
    assert_eq!((inner.busy(), outer.busy()), (1, 1));
    assert_eq!((inner.live(), outer.live()), (1, 1));

    let mut task = runtime.take();
    let counter = Arc::new(Counter::default());
    assert!(poll_with(&mut task, &counter).is_pending());
    assert_eq!((inner.busy(), outer.busy()), (0, 0));
    gate.wake();
    assert_eq!(
        (inner.busy(), outer.busy()),
        (1, 1),
        "the wake goes through both"
    );
    assert_eq!(counter.wakes(), 1);

    drop(task);
    assert_eq!(
        *seen_at_drop.lock().unwrap(),
        Some((1, 1, 0, 0)),
        "the future is dropped after every layer finished, before any leaves its registry"
    );
    assert_eq!((inner.busy(), outer.busy()), (0, 0));
    assert_eq!((inner.live(), outer.live()), (0, 0));
    assert!(ready(&mut handle).unwrap_err().is_cancelled());
}

#[test]
fn idle_cancellation_sees_each_proxys_own_tracking() {
    let runtime = Manual::default();
    let parent = Proxy::new(&runtime);
    let child = Proxy::new(&parent);
    let (outer, inner) = (scope(&parent), scope(&child));
    let mut handle = child.spawn(pending::<()>());
    let mut task = runtime.take();
    let error = TimeError::shut_down();
    assert_eq!(outer.cancel_idle(&error, None), 0, "scheduled: not idle");
    assert!(poll_with(&mut task, &Arc::default()).is_pending());
    assert_eq!(
        outer.cancel_idle(&error, None),
        1,
        "the parent's own layer is idle"
    );
    assert_eq!(inner.cancel_idle(&error, None), 0, "already asked to stop");
    assert!(poll_with(&mut task, &Arc::default()).is_ready());
    drop(task);
    let error = ready(&mut handle).unwrap_err();
    assert!(error.time_error().is_some_and(TimeError::is_shut_down));
}

#[test]
fn abort_wakes_the_task_through_its_innermost_layer() {
    let runtime = Manual::default();
    let proxy = Proxy::new(&runtime);
    let scope = scope(&proxy);
    let mut handle = proxy.spawn(pending::<()>());
    let mut task = runtime.take();
    let counter = Arc::new(Counter::default());
    assert!(poll_with(&mut task, &counter).is_pending());
    handle.abort();
    assert_eq!(scope.busy(), 1, "the abort counts as a wake");
    assert_eq!(counter.wakes(), 1, "and reaches the runtime");
    assert!(poll_with(&mut task, &counter).is_ready());
    assert!(handle.is_finished());
    drop(task);
    assert!(ready(&mut handle).unwrap_err().is_cancelled());
    assert_eq!((scope.busy(), scope.live()), (0, 0));
}

#[test]
fn abort_of_a_task_outside_any_proxy_wakes_its_last_waker() {
    let runtime = Manual::default();
    let mut handle = runtime.spawn(pending::<()>());
    let mut task = runtime.take();
    let counter = Arc::new(Counter::default());
    assert!(poll_with(&mut task, &counter).is_pending());
    handle.abort();
    assert_eq!(counter.wakes(), 1);
    assert!(poll_with(&mut task, &counter).is_ready());
    assert!(ready(&mut handle).unwrap_err().is_cancelled());
}

#[test]
fn a_shut_down_proxy_refuses_and_returns_its_units() {
    let runtime = Manual::default();
    let proxy = Proxy::new(&runtime);
    let scope = scope(&proxy);
    let mut shutdown = pin!(proxy.check_and_shutdown(CheckKind::ALL));
    assert!(matches!(
        poll_with(&mut shutdown, &Arc::default()),
        Poll::Ready(Ok(()))
    ));
    let mut handle = proxy.spawn(async { 1 });
    let error = ready(&mut handle).unwrap_err();
    assert!(error.is_refused(), "{error}");
    assert!(handle.is_finished());
    assert!(proxy.try_spawn(async { 1 }).is_err());
    assert!(runtime.tasks.lock().unwrap().is_empty());
    assert_eq!((scope.busy(), scope.live()), (0, 0));
}

#[test]
fn a_refusal_by_the_parent_leaves_the_child_registry() {
    let runtime = Manual::default();
    let parent = Proxy::new(&runtime);
    let child = Proxy::new(&parent);
    let mut shutdown = pin!(parent.check_and_shutdown(CheckKind::ALL));
    assert!(poll_with(&mut shutdown, &Arc::default()).is_ready());
    // The parent's shutdown closed the child too; a grandchild made now is still open.
    let grandchild = Proxy::new(&child);
    let inner = scope(&grandchild);
    let mut handle = grandchild.spawn(async { 1 });
    assert!(ready(&mut handle).unwrap_err().is_refused());
    assert_eq!((inner.busy(), inner.live()), (0, 0));
}

#[test]
fn a_detached_result_is_dropped_when_it_arrives() {
    let runtime = Manual::default();
    let proxy = Proxy::new(&runtime);
    let dropped = Arc::new(AtomicBool::new(false));
    let flag = dropped.clone();
    let handle = proxy.spawn(async move { OnDrop(move || flag.store(true, Ordering::SeqCst)) });
    drop(handle);
    let mut task = runtime.take();
    assert!(poll_with(&mut task, &Arc::default()).is_ready());
    assert!(dropped.load(Ordering::SeqCst), "nobody can receive it");
    drop(task);
}

#[test]
fn an_unreceived_result_is_dropped_with_the_handle() {
    let runtime = Manual::default();
    let proxy = Proxy::new(&runtime);
    let dropped = Arc::new(AtomicBool::new(false));
    let flag = dropped.clone();
    let handle = proxy.spawn(async move { OnDrop(move || flag.store(true, Ordering::SeqCst)) });
    let mut task = runtime.take();
    assert!(poll_with(&mut task, &Arc::default()).is_ready());
    assert!(!dropped.load(Ordering::SeqCst), "kept for the handle");
    drop(handle);
    assert!(dropped.load(Ordering::SeqCst));
    drop(task);
}

#[test]
fn a_panic_nobody_received_stays_in_the_registry() {
    let runtime = Manual::default();
    let proxy = Proxy::new(&runtime);
    let scope = scope(&proxy);
    let mut handle = proxy.spawn(async {
        if true {
            panic!("boom");
        }
    });
    let mut task = runtime.take();
    assert!(poll_with(&mut task, &Arc::default()).is_ready());
    drop(task);
    {
        let registry = scope.registry();
        assert_eq!(registry.panicked.len(), 1);
        assert_eq!(
            registry.panicked[0].unobserved_panic().as_deref(),
            Some("boom")
        );
    }
    assert!(ready(&mut handle).unwrap_err().is_panic());
    assert_eq!(scope.registry().panicked[0].unobserved_panic(), None);
}

#[test]
fn a_blocking_job_leaves_the_registry() {
    let runtime = Manual::default();
    let proxy = Proxy::new(&runtime);
    let scope = scope(&proxy);
    let mut handle = proxy.spawn_blocking(|| 5);
    assert_eq!(ready(&mut handle).unwrap(), 5);
    assert!(scope.registry().blocking.is_empty());
    assert_eq!(scope.blocking(), 0);
}

#[test]
fn the_registry_reuses_the_places_of_finished_tasks() {
    let runtime = Manual::default();
    let proxy = Proxy::new(&runtime);
    let scope = scope(&proxy);
    let handles: Vec<_> = (0..3).map(|i| proxy.spawn(async move { i })).collect();
    let mut tasks: Vec<_> = std::mem::take(&mut *runtime.tasks.lock().unwrap());
    assert_eq!(scope.registry().tasks.len(), 3);
    drop(tasks.remove(1));
    assert_eq!(scope.registry().tasks.len(), 2);
    let _again = proxy.spawn(async { 3 });
    let ids: Vec<u64> = {
        let registry = scope.registry();
        let mut ids: Vec<_> = registry.tasks.iter().map(|r| r.header.id).collect();
        ids.sort_unstable();
        ids
    };
    assert_eq!(ids.len(), 3);
    assert!(!ids.contains(&handles[1].id()));
    assert!(ids.contains(&handles[0].id()) && ids.contains(&handles[2].id()));
    drop(tasks);
    drop(runtime.take());
    assert!(scope.registry().tasks.is_empty());
    assert_eq!(scope.live(), 0);
}
