//! R6, R7 proxy scopes: what a proxy made is closed at shutdown and reported with the
//! line that made it; nested proxies each report their own.

use std::future::pending;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use looptime_api::{
    AdvanceError, CheckKind, Chronometer, ClockExt, Leaks, Proxy, ReactorExt, Settings, SetupError,
    SpawnerExt,
};

use crate::support::{ensure, ensure_eq, ms, real_at_least, real_below, real_proxy, secs};
use crate::{Backend, Ctx, Failure, Outcome, Report};

/// Checks that `leaks` holds exactly one leak, of `kind`, made at `line` of this file.
fn one_leak(leaks: &Leaks, kind: CheckKind, line: u32) -> Result<(), Failure> {
    ensure_eq!(leaks.len(), 1, "number of leaks in:\n{leaks}");
    let leak = leaks.iter().next().expect("one leak");
    ensure_eq!(leak.kind(), kind, "kind of the leak");
    ensure_eq!(leak.site().file(), file!(), "file of the leak");
    ensure_eq!(leak.site().line(), line, "line of the leak");
    let report = leaks.to_string();
    ensure!(
        report.contains(&format!("{}:{line}", file!())),
        "the report names the line: {report}"
    );
    Ok(())
}

/// R7: a scope whose work all finished reports nothing.
pub fn clean_scope_reports_nothing<B: Backend>(_: &Ctx) -> Outcome {
    let proxy = real_proxy::<B>();
    let chrono = Chronometer::started();
    let result = proxy.block_on(async {
        let task = proxy.spawn(async { 1 }).await?;
        let job = proxy.spawn_blocking(|| 2).await?;
        proxy.sleep(ms(1)).await;
        ensure_eq!(task + job, 3, "results");
        Ok::<_, Failure>(
            proxy
                .check_and_shutdown(CheckKind::ALL | CheckKind::TIMERS)
                .await,
        )
    })??;
    ensure!(result.is_ok(), "no leaks: {result:?}");
    Ok(Report::real(chrono.elapsed()))
}

/// R7: a leaked task is reported with its spawn line, and cancelled.
pub fn leaked_task_is_reported_and_cancelled<B: Backend>(_: &Ctx) -> Outcome {
    let proxy = real_proxy::<B>();
    let chrono = Chronometer::started();
    let line = line!() + 2;
    let (leaks, joined) = proxy.block_on(async {
        let handle = proxy.spawn(pending::<()>());
        let leaks = proxy.check_and_shutdown(CheckKind::ALL).await;
        (leaks, handle.await)
    })?;
    let Err(leaks) = leaks else {
        return Err(Failure::new("the leaked task was not reported"));
    };
    one_leak(&leaks, CheckKind::TASKS, line)?;
    ensure!(
        joined.as_ref().is_err_and(|e| e.is_cancelled()),
        "the leaked task was cancelled: {joined:?}"
    );
    Ok(Report::real(chrono.elapsed()))
}

/// Waits (in real time) until `flag` is set.
async fn until_set(proxy: &Proxy, flag: &AtomicBool) {
    while !flag.load(Ordering::SeqCst) {
        proxy.sleep(ms(1)).await;
    }
}

/// R7: a blocking job in flight at shutdown is reported; shutdown waits for it (within
/// the grace), so it is finished when shutdown returns. (A job not started yet is
/// cancelled instead.)
pub fn leaked_blocking_job_is_reported<B: Backend>(_: &Ctx) -> Outcome {
    let proxy = real_proxy::<B>();
    let started = Arc::new(AtomicBool::new(false));
    let finished = Arc::new(AtomicBool::new(false));
    let chrono = Chronometer::started();
    let line = line!() + 3;
    let leaks = proxy.block_on(async {
        let (start, finish) = (started.clone(), finished.clone());
        let _job = proxy.spawn_blocking(move || {
            start.store(true, Ordering::SeqCst);
            std::thread::sleep(ms(200));
            finish.store(true, Ordering::SeqCst);
        });
        until_set(&proxy, &started).await;
        proxy.check_and_shutdown(CheckKind::ALL).await
    })?;
    let Err(leaks) = leaks else {
        return Err(Failure::new("the blocking job was not reported"));
    };
    one_leak(&leaks, CheckKind::BLOCKING, line)?;
    ensure!(
        finished.load(Ordering::SeqCst),
        "shutdown waited for the job"
    );
    Ok(Report::real(chrono.elapsed()))
}

/// R7: a blocking job that does not return in time: shutdown returns after its grace and
/// reports it as still running.
pub fn blocking_job_that_never_returns<B: Backend>(ctx: &Ctx) -> Outcome {
    let proxy = real_proxy::<B>();
    proxy.set_shutdown_grace(ms(100));
    let started = Arc::new(AtomicBool::new(false));
    let (leaks, real) = proxy.block_on(async {
        let start = started.clone();
        let _job = proxy.spawn_blocking(move || {
            start.store(true, Ordering::SeqCst);
            std::thread::sleep(secs(2));
        });
        until_set(&proxy, &started).await;
        let chrono = Chronometer::started();
        let leaks = proxy.check_and_shutdown(CheckKind::ALL).await;
        (leaks, chrono.elapsed())
    })?;
    let Err(leaks) = leaks else {
        return Err(Failure::new("the stuck job was not reported"));
    };
    let leak = leaks.iter().next().expect("one leak");
    ensure!(
        leak.detail().is_some_and(|d| d.contains("still running")),
        "the report says the job is still running: {leaks}"
    );
    real_at_least(real, ms(100), "shutdown with a stuck job")?;
    real_below(ctx, real, ms(150), "shutdown with a stuck job")?;
    Ok(Report::real(real))
}

/// R7: a task that panicked with nobody receiving the panic is reported, with its message.
pub fn unobserved_panic_is_reported<B: Backend>(_: &Ctx) -> Outcome {
    let proxy = real_proxy::<B>();
    let chrono = Chronometer::started();
    let line = line!() + 2;
    let leaks = proxy.block_on(async {
        let handle = proxy.spawn(async { panic!("boom (an expected test panic)") });
        while !handle.is_finished() {
            proxy.sleep(ms(1)).await;
        }
        proxy.check_and_shutdown(CheckKind::ALL).await
    })?;
    let Err(leaks) = leaks else {
        return Err(Failure::new("the panic was not reported"));
    };
    one_leak(&leaks, CheckKind::TASKS, line)?;
    let leak = leaks.iter().next().expect("one leak");
    ensure!(leak.is_panic(), "reported as a panic: {leaks}");
    ensure!(
        leaks.to_string().contains("boom"),
        "with its message: {leaks}"
    );
    Ok(Report::real(chrono.elapsed()))
}

/// R7: a panic received through the join handle is not a leak.
pub fn observed_panic_is_not_a_leak<B: Backend>(_: &Ctx) -> Outcome {
    let proxy = real_proxy::<B>();
    let chrono = Chronometer::started();
    let (joined, leaks) = proxy.block_on(async {
        let joined = proxy
            .spawn(async { panic!("boom (an expected test panic)") })
            .await;
        (joined, proxy.check_and_shutdown(CheckKind::ALL).await)
    })?;
    ensure!(
        joined
            .as_ref()
            .is_err_and(|e| e.is_panic() && e.panic_message().is_some_and(|m| m.contains("boom"))),
        "the handle receives the panic: {joined:?}"
    );
    ensure!(leaks.is_ok(), "a received panic is no leak: {leaks:?}");
    Ok(Report::real(chrono.elapsed()))
}

/// R7: `kind` selects what is reported, not what is closed.
pub fn kinds_select_reports_not_closing<B: Backend>(_: &Ctx) -> Outcome {
    let proxy = real_proxy::<B>();
    let chrono = Chronometer::started();
    let (leaks, joined) = proxy.block_on(async {
        let handle = proxy.spawn(pending::<()>());
        let leaks = proxy.check_and_shutdown(CheckKind::BLOCKING).await;
        (leaks, handle.await)
    })?;
    ensure!(leaks.is_ok(), "tasks were not selected: {leaks:?}");
    ensure!(
        joined.is_err_and(|e| e.is_cancelled()),
        "the task was closed all the same"
    );
    Ok(Report::real(chrono.elapsed()))
}

/// R7: pending timers are cancelled silently by `ALL`, and reported when `TIMERS` is asked.
pub fn pending_timers_on_request<B: Backend>(_: &Ctx) -> Outcome {
    let chrono = Chronometer::started();
    let mut lines = Vec::new();
    for kind in [CheckKind::ALL, CheckKind::TIMERS] {
        let proxy = real_proxy::<B>();
        let clock = proxy.clone();
        let line = line!() + 3;
        let leaks = proxy.block_on(async {
            let _sleeper = proxy.spawn(async move {
                clock.sleep(secs(10)).await;
            });
            proxy.sleep(ms(5)).await;
            proxy.check_and_shutdown(kind).await
        })?;
        match (kind == CheckKind::TIMERS, leaks) {
            (true, Err(leaks)) => one_leak(&leaks, CheckKind::TIMERS, line)?,
            (false, Err(leaks)) if leaks.kinds() == CheckKind::TASKS => {}
            (_, other) => {
                return Err(Failure::new(format!(
                    "{kind:?}: unexpected report {other:?}"
                )));
            }
        }
        lines.push(line);
    }
    Ok(Report::real(chrono.elapsed()))
}

/// R6, R7: global → module → test proxies each report only their own leaks.
pub fn nested_proxies_report_their_own<B: Backend>(_: &Ctx) -> Outcome {
    let runtime = B::runtime();
    let global = Proxy::named(&runtime, "global");
    let module = Proxy::named(&global, "module");
    let test = Proxy::named(&module, "test");
    let chrono = Chronometer::started();
    let lines = [line!() + 1, line!() + 2, line!() + 3];
    let _g = global.spawn(pending::<()>());
    let _m = module.spawn(pending::<()>());
    let _t = test.spawn(pending::<()>());
    let reports = global.block_on(async {
        let t = test.check_and_shutdown(CheckKind::ALL).await;
        let m = module.check_and_shutdown(CheckKind::ALL).await;
        let g = global.check_and_shutdown(CheckKind::ALL).await;
        [t, m, g]
    })?;
    for (report, line) in reports.iter().zip(lines.iter().rev()) {
        let Err(leaks) = report else {
            return Err(Failure::new("a scope reported no leak"));
        };
        one_leak(leaks, CheckKind::TASKS, *line)?;
    }
    ensure!(
        reports[0]
            .as_ref()
            .is_err_and(|l| l.to_string().contains("proxy 'test'")),
        "the report names the proxy"
    );
    Ok(Report::real(chrono.elapsed()))
}

/// R6, R7: what a child made is visible to its parent until the child ends it.
pub fn parent_sees_child_work<B: Backend>(_: &Ctx) -> Outcome {
    let runtime = B::runtime();
    let module = Proxy::new(&runtime);
    let test = Proxy::new(&module);
    let chrono = Chronometer::started();
    let line = line!() + 1;
    let handle = test.spawn(pending::<()>());
    let (parent, child, joined) = module.block_on(async {
        let parent = module.check_and_shutdown(CheckKind::ALL).await;
        let child = test.check_and_shutdown(CheckKind::ALL).await;
        (parent, child, handle.await)
    })?;
    let Err(leaks) = parent else {
        return Err(Failure::new("the parent did not see the child's task"));
    };
    one_leak(&leaks, CheckKind::TASKS, line)?;
    ensure!(
        child.is_ok(),
        "the child was shut down with its parent: {child:?}"
    );
    ensure!(test.is_shut_down(), "the child refuses work now");
    ensure!(
        joined.is_err_and(|e| e.is_cancelled()),
        "the task was cancelled"
    );
    Ok(Report::real(chrono.elapsed()))
}

/// R7: calling `check_and_shutdown` twice is harmless.
pub fn shutdown_twice_is_harmless<B: Backend>(_: &Ctx) -> Outcome {
    let proxy = real_proxy::<B>();
    let chrono = Chronometer::started();
    let (first, second) = proxy.block_on(async {
        let _leak = proxy.spawn(pending::<()>());
        let first = proxy.check_and_shutdown(CheckKind::ALL).await;
        (first, proxy.check_and_shutdown(CheckKind::ALL).await)
    })?;
    ensure!(first.is_err(), "the first call reports the leak");
    ensure!(second.is_ok(), "the second call is harmless: {second:?}");
    Ok(Report::real(chrono.elapsed()))
}

/// R7: after shutdown the proxy refuses new work with clear errors, never a hang.
pub fn refuses_work_after_shutdown<B: Backend>(ctx: &Ctx) -> Outcome {
    let proxy = real_proxy::<B>();
    let done = proxy.block_on(proxy.check_and_shutdown(CheckKind::ALL))?;
    ensure!(done.is_ok(), "an empty scope shuts down cleanly");
    let chrono = Chronometer::started();
    let parent = proxy.parent().clone();
    let refusals = parent.block_on(async {
        let spawned = proxy.spawn(async { 1 }).await;
        let tried = proxy.try_spawn(async { 1 });
        let blocking = proxy.spawn_blocking(|| 1).await;
        let wait = proxy.interruptible(proxy.sleep(secs(1))).await;
        let advanced = proxy.advance_time(secs(1)).await;
        (spawned, tried.is_err(), blocking, wait, advanced)
    })?;
    let (spawned, tried, blocking, wait, advanced) = refusals;
    ensure!(
        spawned.as_ref().is_err_and(|e| e.is_refused()),
        "spawn is refused: {spawned:?}"
    );
    let message = spawned.err().map(|e| e.to_string()).unwrap_or_default();
    ensure!(
        message.contains("shut down"),
        "the refusal says why: {message}"
    );
    ensure!(tried, "try_spawn is refused");
    ensure!(
        blocking.is_err_and(|e| e.is_refused()),
        "spawn_blocking is refused"
    );
    ensure!(
        wait.is_err_and(|e| e.is_shut_down()),
        "a new wait fails at once"
    );
    ensure!(
        advanced == Err(AdvanceError::ShutDown),
        "advance_time is refused"
    );
    let run = proxy.block_on(async { 1 });
    ensure!(run.is_err_and(|e| e.is_shut_down()), "a run is refused");
    let setup = proxy.setup_looptime(Settings::new());
    ensure!(
        matches!(setup, Err(SetupError::ShutDown)),
        "setup is refused"
    );
    let real = chrono.elapsed();
    real_below(ctx, real, ms(10), "refusals")?;
    Ok(Report::real(real))
}
