//! [`Futures`]: a runtime made of the `futures` executor and [`FuturesTimerClock`].

use std::fmt;
use std::io;
use std::sync::Arc;

use futures::executor::ThreadPool;

use crate::FuturesTimerClock;
use crate::passes::{self, Passes};
use crate::tasks::TaskSet;

/// The `futures` executor with futures-timer as a looptime
/// [`Runtime`](looptime_api::Runtime).
///
/// - **Tasks** run on a [`futures::executor::ThreadPool`] that this value owns (two
///   threads by default, see [`with_threads`](Futures::with_threads)).
/// - **Blocking jobs** each run on a plain `std::thread` of their own.
/// - **`block_on`** is [`futures::executor::block_on`] on the calling thread.
/// - **Time** is [`FuturesTimerClock`]; real-time waits are futures-timer delays too.
/// - **`yield_now`** is one scheduler pass: a round trip through the pool's queue, so
///   every task that was ready runs before the yielder resumes, whether it yields from a
///   pool task or from the `block_on` thread. When the runtime has no task alive at all
///   as the pass begins, nothing is there to take a turn, and the pass is a self-wake
///   instead (no trip through the pool).
/// - **`alive_tasks`** is exact: the adapter counts what it spawns (tasks *and* blocking
///   jobs, both being work that can wake a scope) from the moment it is handed over until
///   it is dropped. The pool itself is not exposed, so nothing can reach it uncounted.
///
/// Cheap to clone: clones share the pool. When the last clone is dropped, the runtime
/// shuts down: tasks still alive are dropped at their next turn (their join handles
/// report a cancellation) and the pool's threads exit. Blocking jobs cannot be stopped
/// and run to their end.
#[derive(Clone)]
pub struct Futures {
    pub(crate) inner: Arc<Inner>,
}

/// What the clones of a [`Futures`] share.
pub(crate) struct Inner {
    pub(crate) pool: ThreadPool,
    pub(crate) tasks: Arc<TaskSet>,
    pub(crate) clock: FuturesTimerClock,
    /// What the passes of `yield_now` need: the pool, its id (which tells this pool's
    /// workers from other threads) and the count of live tasks (see `passes`).
    pub(crate) passes: Arc<Passes>,
    threads: usize,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.tasks.close();
    }
}

impl Futures {
    /// The number of pool threads of [`new`](Futures::new).
    pub const DEFAULT_THREADS: usize = 2;

    /// A new runtime with a pool of [`DEFAULT_THREADS`](Futures::DEFAULT_THREADS) threads.
    pub fn new() -> io::Result<Futures> {
        Futures::with_threads(Futures::DEFAULT_THREADS)
    }

    /// A new runtime with a pool of `threads` threads (at least one).
    pub fn with_threads(threads: usize) -> io::Result<Futures> {
        let threads = threads.max(1);
        let pool_id = passes::next_pool_id();
        let pool = ThreadPool::builder()
            .pool_size(threads)
            .name_prefix("looptime-futures-")
            .after_start(move |_| passes::mark_worker(pool_id))
            .create()?;
        let tasks = Arc::<TaskSet>::default();
        Ok(Futures {
            inner: Arc::new(Inner {
                passes: Arc::new(Passes::new(pool.clone(), pool_id, tasks.clone())),
                pool,
                tasks,
                clock: FuturesTimerClock::new(),
                threads,
            }),
        })
    }

    /// The number of threads of the task pool.
    pub fn threads(&self) -> usize {
        self.inner.threads
    }

    /// The clock of this runtime (real time on futures-timer).
    pub fn clock(&self) -> FuturesTimerClock {
        self.inner.clock
    }
}

impl fmt::Debug for Futures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Futures")
            .field("threads", &self.inner.threads)
            .field("alive", &self.inner.tasks.alive())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex, mpsc};
    use std::time::{Duration, Instant};

    use futures::channel::oneshot;
    use looptime_api::{Proxy, Reactor, ReactorExt, SpawnerExt};

    use super::*;

    /// Waits (in real time, up to 5 s) until `runtime` counts `expected` alive.
    fn settles_at(runtime: &Futures, expected: usize) {
        let until = Instant::now() + Duration::from_secs(5);
        while runtime.alive_tasks() != Some(expected) {
            assert!(
                Instant::now() < until,
                "alive_tasks stuck at {:?}, expected {expected}",
                runtime.alive_tasks()
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn counts_tasks_from_spawn_until_dropped() {
        let runtime = Futures::new().unwrap();
        assert_eq!(runtime.alive_tasks(), Some(0));
        let (tx, rx) = oneshot::channel::<()>();
        let waiting = runtime.spawn(async move { rx.await.is_ok() });
        let pending = runtime.spawn(std::future::pending::<()>());
        assert_eq!(runtime.alive_tasks(), Some(2));
        tx.send(()).unwrap();
        assert!(runtime.block_on(waiting).unwrap().unwrap());
        settles_at(&runtime, 1);
        pending.abort();
        assert!(runtime.block_on(pending).unwrap().is_err());
        settles_at(&runtime, 0);
    }

    #[test]
    fn counts_blocking_jobs_while_they_run() {
        let runtime = Futures::new().unwrap();
        let (tx, rx) = mpsc::channel::<()>();
        let job = runtime.spawn_blocking(move || rx.recv().is_ok());
        assert_eq!(runtime.alive_tasks(), Some(1));
        tx.send(()).unwrap();
        assert!(runtime.block_on(job).unwrap().unwrap());
        settles_at(&runtime, 0);
    }

    #[test]
    fn passes_are_not_counted() {
        let runtime = Futures::new().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (rt, log) = (runtime.clone(), seen.clone());
        let yielder = runtime.spawn(async move {
            for _ in 0..100 {
                rt.yield_now().await;
                log.lock().unwrap().push(rt.alive_tasks());
            }
        });
        runtime
            .block_on(async {
                for _ in 0..100 {
                    runtime.yield_now().await;
                }
                yielder.await.unwrap();
            })
            .unwrap();
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 100);
        assert!(seen.iter().all(|&n| n == Some(1)), "{seen:?}");
        settles_at(&runtime, 0);
    }

    #[test]
    fn count_matches_a_scope_with_nothing_outside() {
        let runtime = Futures::new().unwrap();
        let proxy = Proxy::new(&runtime);
        let tasks: Vec<_> = (0..5)
            .map(|_| proxy.spawn(std::future::pending::<()>()))
            .collect();
        assert_eq!(runtime.alive_tasks(), Some(5));
        assert_eq!(proxy.alive_tasks(), Some(5));
        for task in &tasks {
            task.abort();
        }
        settles_at(&runtime, 0);
    }

    #[test]
    fn a_pass_from_block_on_runs_every_ready_task_first() {
        let runtime = Futures::with_threads(1).unwrap();
        let ran = Arc::new(Mutex::new(0));
        let handles: Vec<_> = (0..10)
            .map(|_| {
                let ran = ran.clone();
                runtime.spawn(async move { *ran.lock().unwrap() += 1 })
            })
            .collect();
        runtime.block_on(runtime.yield_now()).unwrap();
        assert_eq!(*ran.lock().unwrap(), 10);
        drop(handles);
    }

    #[test]
    fn a_pass_with_nothing_alive_is_one_self_wake() {
        struct Count(AtomicUsize);
        impl std::task::Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let runtime = Futures::with_threads(1).unwrap();
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = std::task::Waker::from(count.clone());
        let mut cx = std::task::Context::from_waker(&waker);
        let mut pass = runtime.yield_now();
        assert!(pass.as_mut().poll(&mut cx).is_pending());
        assert_eq!(count.0.load(Ordering::SeqCst), 1, "woken before it returns");
        assert!(pass.as_mut().poll(&mut cx).is_ready());
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_pass_with_a_task_alive_goes_through_the_pool() {
        let runtime = Futures::with_threads(1).unwrap();
        let (tx, rx) = mpsc::channel::<()>();
        let (started_tx, started_rx) = mpsc::channel::<()>();
        // The only worker is held inside a task until `tx` sends: a pass must wait.
        let blocker = runtime.spawn(async move {
            started_tx.send(()).unwrap();
            rx.recv().unwrap();
        });
        started_rx.recv().unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        let rt = runtime.clone();
        let waiter = std::thread::spawn(move || {
            rt.block_on(rt.yield_now()).unwrap();
            flag.store(true, Ordering::SeqCst);
        });
        std::thread::sleep(Duration::from_millis(50));
        assert!(
            !done.load(Ordering::SeqCst),
            "the pass waited for the busy worker"
        );
        tx.send(()).unwrap();
        waiter.join().unwrap();
        assert!(done.load(Ordering::SeqCst));
        runtime.block_on(blocker).unwrap().unwrap();
    }

    #[test]
    fn a_pass_from_a_task_lets_other_ready_tasks_run_first() {
        let runtime = Futures::with_threads(1).unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let (rt, log) = (runtime.clone(), order.clone());
        let first = runtime.spawn(async move {
            let other = log.clone();
            let second = rt.spawn(async move { other.lock().unwrap().push("other") });
            rt.yield_now().await;
            log.lock().unwrap().push("yielder");
            second.await.unwrap();
        });
        runtime.block_on(first).unwrap().unwrap();
        assert_eq!(*order.lock().unwrap(), ["other", "yielder"]);
    }

    #[test]
    fn dropping_the_runtime_drops_its_waiting_tasks() {
        struct SetOnDrop(Arc<AtomicBool>);
        impl Drop for SetOnDrop {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let runtime = Futures::new().unwrap();
        let dropped = Arc::new(AtomicBool::new(false));
        let guard = SetOnDrop(dropped.clone());
        let handle = runtime.spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        });
        settles_at(&runtime, 1);
        drop(runtime);
        let result = futures::executor::block_on(handle);
        assert!(result.is_err(), "a cancellation: {result:?}");
        assert!(dropped.load(Ordering::SeqCst));
    }

    #[test]
    #[should_panic(expected = "inside a futures executor")]
    fn block_on_inside_the_pool_panics_clearly() {
        let runtime = Futures::new().unwrap();
        let rt = runtime.clone();
        let nested = runtime.spawn(async move { rt.block_on(async {}).unwrap() });
        if let Err(error) = runtime.block_on(nested).unwrap() {
            panic!("{error}");
        }
    }
}
