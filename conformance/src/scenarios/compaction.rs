//! R9 compaction: time moves only when the scope is idle, straight to the nearest
//! deadline; pure-timer waits cost no real time.

use std::future::pending;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use looptime_api::{Chronometer, Clock, ClockExt, Reactor, ReactorExt, Settings, SpawnerExt};

use crate::support::{
    channel, ensure, ensure_eq, ms, on_attempts, real_below, secs, virtual_proxy,
};
use crate::{Backend, Ctx, Outcome, Report};

/// R9: `sleep(10s)` ends at loop time exactly 10 s in under 10 ms of real time.
pub fn sleep_10s<B: Backend>(ctx: &Ctx) -> Outcome {
    let (proxy, _on) = virtual_proxy::<B>(Settings::new())?;
    let chrono = Chronometer::started();
    proxy.block_on(proxy.sleep(secs(10)))?;
    let real = chrono.elapsed();
    ensure_eq!(proxy.looptime(), secs(10), "loop time after sleep(10s)");
    real_below(ctx, real, ms(10), "sleep(10s)")?;
    Ok(Report::new(proxy.looptime(), real))
}

/// R9: ten thousand `sleep(1s)` give exactly 10 000 s: jumps are exact.
pub fn sleep_1s_ten_thousand_times<B: Backend>(_: &Ctx) -> Outcome {
    let (proxy, _on) = virtual_proxy::<B>(Settings::new())?;
    let chrono = Chronometer::started();
    proxy.block_on(async {
        for _ in 0..10_000 {
            proxy.sleep(secs(1)).await;
        }
    })?;
    ensure_eq!(
        proxy.looptime(),
        secs(10_000),
        "loop time after 10 000 × sleep(1s)"
    );
    Ok(Report::new(proxy.looptime(), chrono.elapsed()))
}

/// R9: a 15-minute timeout completes in well under 10 ms of real time, at exactly 900 s.
pub fn timeout_of_15_minutes<B: Backend>(ctx: &Ctx) -> Outcome {
    let (proxy, _on) = virtual_proxy::<B>(Settings::new())?;
    let chrono = Chronometer::started();
    let result = proxy.block_on(proxy.timeout(secs(900), pending::<()>()))?;
    let real = chrono.elapsed();
    ensure!(
        result.as_ref().is_err_and(|e| e.is_deadline()),
        "timeout(900s, pending): expected a deadline error, got {result:?}"
    );
    ensure_eq!(proxy.looptime(), secs(900), "loop time");
    real_below(ctx, real, ms(10), "timeout(900s)")?;
    Ok(Report::new(proxy.looptime(), real))
}

/// R9: timers at the same tick fire in FIFO order, all at that tick.
pub fn equal_deadlines_fire_fifo<B: Backend>(_: &Ctx) -> Outcome {
    let (proxy, _on) = virtual_proxy::<B>(Settings::new())?;
    let order = Arc::new(Mutex::new(Vec::new()));
    let chrono = Chronometer::started();
    proxy.block_on(async {
        let deadline = proxy.now() + secs(5);
        let mut handles = Vec::new();
        for i in 0..10 {
            let (clock, order) = (proxy.clone(), order.clone());
            handles.push(proxy.spawn(async move {
                clock.sleep_until(deadline).await;
                order.lock().unwrap().push((i, clock.looptime()));
            }));
        }
        for handle in handles {
            handle.await?;
        }
        Ok::<_, crate::Failure>(())
    })??;
    let order = order.lock().unwrap().clone();
    ensure!(
        order.iter().all(|&(_, at)| at == secs(5)),
        "every timer fires at its tick (5 s): {order:?}"
    );
    if B::SINGLE_THREADED {
        let indices: Vec<_> = order.iter().map(|&(i, _)| i).collect();
        ensure_eq!(
            indices,
            (0..10).collect::<Vec<_>>(),
            "firing order of equal deadlines"
        );
    }
    Ok(Report::new(proxy.looptime(), chrono.elapsed()))
}

/// R9: while a chain of freshly spawned tasks is runnable, time does not move.
pub fn time_waits_for_runnable_tasks<B: Backend>(_: &Ctx) -> Outcome {
    let (proxy, _on) = virtual_proxy::<B>(Settings::new())?;
    let seen = Arc::new(Mutex::new(None));
    let chrono = Chronometer::started();
    fn chain(proxy: looptime_api::Proxy, left: u32, seen: Arc<Mutex<Option<Duration>>>) {
        if left == 0 {
            *seen.lock().unwrap() = Some(proxy.looptime());
            return;
        }
        let next = proxy.clone();
        drop(proxy.spawn(async move { chain(next, left - 1, seen) }));
    }
    proxy.block_on(async {
        chain(proxy.clone(), 200, seen.clone());
        proxy.sleep(secs(1)).await;
    })?;
    let seen = *seen.lock().unwrap();
    ensure_eq!(
        seen,
        Some(Duration::ZERO),
        "loop time seen by the end of the task chain"
    );
    ensure_eq!(proxy.looptime(), secs(1), "loop time");
    Ok(Report::new(proxy.looptime(), chrono.elapsed()))
}

/// R9: a task in the middle of `yield_now` never looks idle, even with `noop_cycles = 0`.
pub fn mid_yield_task_is_not_idle<B: Backend>(_: &Ctx) -> Outcome {
    let (proxy, _on) = virtual_proxy::<B>(Settings::new().noop_cycles(0))?;
    let yields = Arc::new(AtomicUsize::new(0));
    let chrono = Chronometer::started();
    let seen = proxy.block_on(async {
        let (clock, counter) = (proxy.clone(), yields.clone());
        let yielder = proxy.spawn(async move {
            for _ in 0..1000 {
                clock.yield_now().await;
                counter.fetch_add(1, Ordering::SeqCst);
            }
            clock.looptime()
        });
        proxy.sleep(secs(1)).await;
        yielder.await
    })??;
    ensure_eq!(seen, Duration::ZERO, "loop time seen after 1000 yields");
    ensure_eq!(yields.load(Ordering::SeqCst), 1000, "yields done");
    ensure_eq!(proxy.looptime(), secs(1), "loop time");
    Ok(Report::new(proxy.looptime(), chrono.elapsed()))
}

/// R4, R9: a yield is one scheduler pass: a task that is ready when the yield starts runs
/// before the yielder resumes (a yield that only re-polls itself would not let it).
/// Exact on single-threaded backends; up to three attempts on others (see `on_attempts`).
pub fn yield_lets_ready_tasks_run<B: Backend>(_: &Ctx) -> Outcome {
    on_attempts::<B, _>(|| {
        let (proxy, _on) = virtual_proxy::<B>(Settings::new())?;
        let flag = Arc::new(AtomicBool::new(false));
        let chrono = Chronometer::started();
        let seen = proxy.block_on(async {
            let (clock, flag) = (proxy.clone(), flag.clone());
            proxy
                .spawn(async move {
                    let set_flag = flag.clone();
                    let _setter =
                        clock.spawn(async move { set_flag.store(true, Ordering::SeqCst) });
                    clock.yield_now().await;
                    flag.load(Ordering::SeqCst)
                })
                .await
        })??;
        ensure!(seen, "the ready task ran while the other one yielded");
        Ok(Report::new(proxy.looptime(), chrono.elapsed()))
    })
}

/// R9: work outside the scope's sight (a task spawned on the runtime itself, bypassing
/// the proxy) gets its scheduler passes to wake the scope before time jumps. Exact on
/// single-threaded backends; up to three attempts on others (see `on_attempts`).
pub fn untracked_work_gets_its_passes<B: Backend>(_: &Ctx) -> Outcome {
    on_attempts::<B, _>(|| {
        let (proxy, _on) = virtual_proxy::<B>(Settings::new())?;
        let runtime = proxy.parent().clone();
        let (tx, mut rx) = channel::<u32>();
        let chrono = Chronometer::started();
        let got = proxy.block_on(async {
            let yielder = runtime.clone();
            let _outside = runtime.spawn(async move {
                for _ in 0..10 {
                    yielder.yield_now().await;
                }
                tx.send(7);
            });
            proxy.timeout(secs(1), rx.recv()).await
        })?;
        ensure_eq!(
            got,
            Ok(Some(7)),
            "the message from outside, before the timeout"
        );
        ensure_eq!(proxy.looptime(), Duration::ZERO, "loop time");
        Ok(Report::new(proxy.looptime(), chrono.elapsed()))
    })
}

/// R9: a root woken from other threads while its run is polled for other reasons (here,
/// the driver, woken each time a busy task goes idle) never loses a wake. A lost wake
/// would hang the run; a watchdog turns that into a failure after 20 s.
pub fn cross_thread_wakes_are_never_lost<B: Backend>(ctx: &Ctx) -> Outcome {
    const MESSAGES: u32 = 20_000;
    let (proxy, on) = virtual_proxy::<B>(Settings::new().idle_timeout(None))?;
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let chrono = Chronometer::started();
    let runner = proxy.clone();
    std::thread::spawn(move || {
        let _on = on;
        let (root_tx, mut root_rx) = channel::<u32>();
        let (task_tx, mut task_rx) = channel::<u32>();
        let senders = [root_tx, task_tx].map(|tx| {
            std::thread::spawn(move || {
                for i in 0..MESSAGES {
                    tx.send(i);
                    if i % 64 == 0 {
                        std::thread::yield_now();
                    }
                }
            })
        });
        let result = runner.block_on(async {
            let busy = runner.spawn(async move {
                let mut got = 0;
                while task_rx.recv().await.is_some() {
                    got += 1;
                }
                got
            });
            let mut got = 0;
            while root_rx.recv().await.is_some() {
                got += 1;
            }
            (got, busy.await)
        });
        for sender in senders {
            let _ = sender.join();
        }
        let _ = done_tx.send(result);
    });
    let result = done_rx
        .recv_timeout(secs(20))
        .map_err(|_| crate::Failure::new("the run hung: a wake of its root was lost"))?;
    let (root_got, task_got) = result?;
    ensure_eq!(root_got, MESSAGES, "messages the root received");
    ensure_eq!(task_got.ok(), Some(MESSAGES), "messages the task received");
    let real = chrono.elapsed();
    let _ = ctx;
    Ok(Report::new(proxy.looptime(), real))
}

/// R1: a `dyn Clock` (here `Arc<dyn Clock>`) of a proxy is on the same virtual time.
pub fn dyn_clock_is_virtual_too<B: Backend>(_: &Ctx) -> Outcome {
    let (proxy, _on) = virtual_proxy::<B>(Settings::new())?;
    let clock: Arc<dyn Clock> = Arc::new(proxy.clone());
    let chrono = Chronometer::started();
    let result = proxy.block_on(async {
        clock.sleep(secs(3)).await;
        clock.timeout(secs(2), pending::<()>()).await
    })?;
    ensure!(result.is_err(), "timeout through dyn Clock elapsed");
    ensure_eq!(
        clock.now().since_origin(),
        secs(5),
        "loop time through dyn Clock"
    );
    Ok(Report::new(proxy.looptime(), chrono.elapsed()))
}
