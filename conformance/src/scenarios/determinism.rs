//! R18 determinism: the same program gives the same order of timer firings and task
//! completions on every run.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use looptime_api::{Chronometer, ClockExt, ReactorExt, Settings, SpawnerExt};

use crate::support::{Rng, ensure, ensure_eq, virtual_proxy};
use crate::{Backend, Ctx, Failure, Outcome, Report};

const TASKS: usize = 10_000;

/// Runs `TASKS` tasks with seeded random sleeps of 1 ms–1000 s; returns (task, loop time)
/// in completion order.
fn random_sleeps<B: Backend>(seed: u64) -> Result<Vec<(usize, Duration)>, Failure> {
    let (proxy, _on) = virtual_proxy::<B>(Settings::new())?;
    let done = Arc::new(Mutex::new(Vec::with_capacity(TASKS)));
    let mut rng = Rng::new(seed);
    let durations: Vec<_> = (0..TASKS)
        .map(|_| Duration::from_millis(rng.next() % 1_000_000 + 1))
        .collect();
    proxy.block_on(async {
        let mut handles = Vec::with_capacity(TASKS);
        for (i, &d) in durations.iter().enumerate() {
            let (clock, done) = (proxy.clone(), done.clone());
            handles.push(proxy.spawn(async move {
                clock.sleep(d).await;
                done.lock().unwrap().push((i, clock.looptime()));
            }));
        }
        for handle in handles {
            handle.await?;
        }
        Ok::<_, Failure>(())
    })??;
    let done = std::mem::take(&mut *done.lock().unwrap());
    for &(i, at) in &done {
        ensure_eq!(
            at,
            durations[i],
            "task {i} completes exactly at its deadline"
        );
    }
    Ok(done)
}

/// R18: 10 000 seeded random sleeps, run twice, complete in the identical order (on a
/// single-threaded backend; on others, in deadline order).
pub fn random_sleeps_repeat_exactly<B: Backend>(_: &Ctx) -> Outcome {
    let chrono = Chronometer::started();
    let first = random_sleeps::<B>(0x5eed_1007)?;
    let second = random_sleeps::<B>(0x5eed_1007)?;
    ensure_eq!(first.len(), TASKS, "completions");
    if B::SINGLE_THREADED {
        ensure!(
            first == second,
            "two runs of the same program complete in the same order"
        );
    } else {
        ensure!(
            first.windows(2).all(|w| w[0].1 <= w[1].1),
            "completions come in deadline order"
        );
    }
    let last = first.iter().map(|&(_, at)| at).max().unwrap_or_default();
    Ok(Report::new(last, chrono.elapsed()))
}
