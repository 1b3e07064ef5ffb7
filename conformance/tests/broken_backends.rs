//! The suite can fail: backends with one deliberate flaw each must fail the scenarios
//! that check the rule they break, and pass the others of the same topic.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::time::SystemTime;

use looptime_api::{
    BlockingJob, BoxFuture, Clock, Instant, Reactor, Sleep, SpawnError, Spawner, Task, TimeError,
};
use looptime_conformance::{Backend, Ctx, all};
use looptime_tokio::Tokio;

/// The flaw a [`Broken`] runtime has.
#[derive(Clone, Copy, Debug)]
enum Flaw {
    /// `yield_now` completes at once: no other task gets a turn (and no alive count).
    YieldNeverYields,
    /// Blocking jobs run inline, on the spawning thread.
    BlockingRunsInline,
    /// `alive_tasks` reports nothing alive: passes are skipped while outside work runs.
    AliveCountLies,
}

/// A current-thread tokio runtime with one flaw.
#[derive(Clone)]
struct Broken {
    tokio: Tokio,
    flaw: Flaw,
}

impl Clock for Broken {
    fn now(&self) -> Instant {
        self.tokio.now()
    }

    #[track_caller]
    fn sleep_until(&self, deadline: Instant) -> Sleep {
        self.tokio.sleep_until(deadline)
    }

    fn system_time(&self) -> SystemTime {
        self.tokio.system_time()
    }
}

impl Spawner for Broken {
    fn spawn_task(&self, task: Task) -> Result<(), SpawnError> {
        self.tokio.spawn_task(task)
    }

    fn spawn_blocking_job(&self, job: BlockingJob) -> Result<(), SpawnError> {
        match self.flaw {
            Flaw::BlockingRunsInline => {
                job.run();
                Ok(())
            }
            _ => self.tokio.spawn_blocking_job(job),
        }
    }
}

impl Reactor for Broken {
    fn block_on_dyn(
        &self,
        root: Pin<&mut (dyn Future<Output = ()> + '_)>,
    ) -> Result<(), TimeError> {
        self.tokio.block_on_dyn(root)
    }

    fn sleep_real_until(&self, deadline: std::time::Instant) -> BoxFuture {
        self.tokio.sleep_real_until(deadline)
    }

    fn yield_now(&self) -> BoxFuture {
        match self.flaw {
            Flaw::YieldNeverYields => Box::pin(std::future::ready(())),
            _ => self.tokio.yield_now(),
        }
    }

    fn alive_tasks(&self) -> Option<usize> {
        match self.flaw {
            Flaw::YieldNeverYields => None,
            Flaw::AliveCountLies => Some(0),
            Flaw::BlockingRunsInline => self.tokio.alive_tasks(),
        }
    }
}

macro_rules! broken_backend {
    ($name:ident, $flaw:expr, $label:literal) => {
        struct $name;
        impl Backend for $name {
            type Runtime = Broken;
            const NAME: &'static str = $label;
            fn runtime() -> Broken {
                Broken {
                    tokio: Tokio::current_thread().expect("a tokio runtime builds"),
                    flaw: $flaw,
                }
            }
        }
    };
}

broken_backend!(
    NoYield,
    Flaw::YieldNeverYields,
    "broken: yield never yields"
);
broken_backend!(
    InlineBlocking,
    Flaw::BlockingRunsInline,
    "broken: blocking runs inline"
);
broken_backend!(LyingCount, Flaw::AliveCountLies, "broken: alive count lies");

/// Runs `B`'s scenarios of `topics`; returns the names of those that failed.
fn failures<B: Backend>(topics: &[&str]) -> BTreeSet<String> {
    all::<B>()
        .into_iter()
        .filter(|s| topics.contains(&s.topic))
        .filter_map(|s| match s.run(&Ctx::relaxed()).0 {
            Ok(_) => None,
            Err(failure) => {
                eprintln!("{} on {}: {failure}", s.id(), B::NAME);
                Some(s.id())
            }
        })
        .collect()
}

fn names(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn a_yield_that_never_yields_is_caught() {
    assert_eq!(
        failures::<NoYield>(&["compaction"]),
        names(&[
            "compaction::yield_lets_ready_tasks_run",
            "compaction::untracked_work_gets_its_passes",
        ]),
    );
}

#[test]
fn blocking_jobs_run_inline_are_caught() {
    assert_eq!(
        failures::<InlineBlocking>(&["slow_executors"]),
        names(&[
            "slow_executors::blocking_100ms_with_idle_step_10ms",
            "slow_executors::job_outliving_its_timeout",
        ]),
    );
}

#[test]
fn an_alive_count_that_lies_is_caught() {
    assert_eq!(
        failures::<LyingCount>(&["compaction"]),
        names(&["compaction::untracked_work_gets_its_passes"]),
    );
}
