//! B4: 1 000 000 pending timers on looptime's virtual clock against tokio's paused time,
//! both on a current-thread tokio runtime with all drivers.
//!
//! Each run makes `N` sleeps (default 10⁶) with seeded random delays of whole
//! milliseconds between 1 ms and 1000 s ([`SplitMix64`], the same list on both sides;
//! about 632 000 distinct deadlines), each boxed (`Box::pin`, as a task or a
//! `FuturesUnordered` would hold it; tokio's `Sleep` cannot move once polled) and polled
//! once with a no-op waker, then waits until all have fired:
//!
//! - **`B4create`**: creating and first-polling the `N` sleeps, per timer. looptime:
//!   `proxy.sleep(d)` inside `proxy.block_on` on virtual time (default settings);
//!   baseline: `tokio::time::sleep(d)` under `start_paused`, inside
//!   `tokio::task::unconstrained` (tokio's cooperative budget would otherwise turn every
//!   poll after the 128th of a turn into a `Pending` that registers nothing). Target
//!   ratio ≤ 1.0.
//! - **`B4fire`**: awaiting one more sleep as long as the longest, registered last, so
//!   it completes after every other timer has fired; per timer. looptime's driver jumps
//!   from deadline to deadline; tokio's paused clock auto-advances from one to the next.
//!   Every sleep is checked to have fired afterwards (untimed). Target ratio ≤ 1.0.
//! - **`B4mem`**: memory per pending timer in bytes, `looptime=<bytes>B
//!   baseline=<bytes>B`: the bytes outstanding on the heap after creating and polling the
//!   `N` sleeps, minus those before, divided by `N`. Counted by this binary's global
//!   allocator, a wrapper around [`System`] that adds up requested sizes (allocator
//!   overhead not included; the `Vec` holding the boxes is allocated beforehand and not
//!   counted, the boxes are). looptime's figure includes its timer queue's spare
//!   capacity; tokio's wheel is allocated with the runtime, so its figure is the boxed
//!   `Sleep` alone.
//!
//! Each measured run builds a fresh runtime; the sides alternate (see [`alternate`]).
//! `LOOPTIME_BENCH_N` overrides `N`, `LOOPTIME_BENCH_RUNS` (default 7) the runs. Without
//! `--bench` it makes one tiny run per side.

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use looptime_api::{ClockExt, Proxy, ReactorExt, Settings, Sleep};
use looptime_benches::{
    Bytes, Config, Filter, Short, SplitMix64, alternate, header, main_with, median_by, median_f64,
    per_op, poll_once, summary, summary_bytes, verdict,
};
use looptime_tokio::Tokio;

/// Timers per run, measured and in a smoke run.
const N: (u32, u32) = (1_000_000, 100);

/// The heap's bytes outstanding, as requested by their allocations (all threads).
static OUTSTANDING: AtomicUsize = AtomicUsize::new(0);

/// [`System`], counting the bytes it has handed out and not yet taken back.
struct Counting;

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so
// `System`'s guarantees hold; the counter has no effect on the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract, which is `System.alloc`'s.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            OUTSTANDING.fetch_add(layout.size(), Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            OUTSTANDING.fetch_add(layout.size(), Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, i.e. from `System`, with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        OUTSTANDING.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from `System` with `layout`; the caller upholds the rest.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            OUTSTANDING.fetch_add(new_size, Ordering::Relaxed);
            OUTSTANDING.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        new
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Heap bytes outstanding now.
fn outstanding() -> usize {
    OUTSTANDING.load(Ordering::Relaxed)
}

/// One run of one side.
#[derive(Clone, Copy)]
struct Sample {
    /// Creating and first-polling one timer.
    create: Duration,
    /// Firing one timer.
    fire: Duration,
    /// Heap bytes per pending timer.
    bytes: f64,
}

fn main() -> ExitCode {
    main_with("timers", run)
}

fn run(config: &Config, filter: &Filter) -> Result<(), String> {
    let ids = ["B4create", "B4fire", "B4mem"];
    if !ids.iter().any(|id| filter.matches(id)) {
        return Ok(());
    }
    let n = config.size(N.0, N.1);
    println!(
        "{}",
        header(
            config,
            "B4",
            &format!("{n} pending timers of 1ms..=1000s: create + first poll, then fire all")
        )
    );
    let delays =
        SplitMix64::new(SplitMix64::SEED).durations(n, Duration::from_millis(1), 1, 1_000_000);
    let longest = delays.iter().copied().max().unwrap_or_default();
    println!(
        "B4: size_of Sleep: looptime {} B (+ its queue entry), tokio {} B",
        size_of::<Sleep>(),
        size_of::<tokio::time::Sleep>()
    );
    let [looptime, baseline] = alternate(
        config,
        [&mut || looptime_side(&delays, longest), &mut || {
            tokio_side(&delays, longest)
        }],
        |run, [ours, theirs]| {
            println!(
                "run {run}: create looptime {}/timer baseline {}/timer; \
                 fire looptime {}/timer baseline {}/timer; \
                 memory looptime {}/timer baseline {}/timer",
                Short(ours.create),
                Short(theirs.create),
                Short(ours.fire),
                Short(theirs.fire),
                Bytes(ours.bytes),
                Bytes(theirs.bytes)
            );
        },
    )?;
    let create = (
        median_by(&looptime, |s| s.create).ok_or("no runs")?,
        median_by(&baseline, |s| s.create).ok_or("no runs")?,
    );
    let fire = (
        median_by(&looptime, |s| s.fire).ok_or("no runs")?,
        median_by(&baseline, |s| s.fire).ok_or("no runs")?,
    );
    let bytes = |samples: &[Sample]| {
        median_f64(&samples.iter().map(|s| s.bytes).collect::<Vec<_>>()).ok_or("no runs")
    };
    let memory = (bytes(&looptime)?, bytes(&baseline)?);
    println!("{}", verdict("B4create", create.0, create.1, 1.0));
    println!("{}", verdict("B4fire", fire.0, fire.1, 1.0));
    println!("B4mem: no target (reported against tokio's)");
    println!("{}", summary("B4create", create.0, create.1));
    println!("{}", summary("B4fire", fire.0, fire.1));
    println!("{}", summary_bytes("B4mem", memory.0, memory.1));
    Ok(())
}

/// The three figures of a side, from its raw measurements over `n` timers.
/// Creates a timer per delay with `make` and polls each once (so it is registered),
/// keeping them in `sleeps`; returns the time that took and the heap bytes they hold.
fn arm_all<F: Future<Output = ()>>(
    delays: &[Duration],
    sleeps: &mut Vec<Pin<Box<F>>>,
    make: impl Fn(Duration) -> F,
) -> Result<(Duration, usize), String> {
    let before = outstanding();
    let start = Instant::now();
    for &delay in delays {
        let mut sleep = Box::pin(make(delay));
        if poll_once(sleep.as_mut()).is_ready() {
            return Err("a timer fired at once".to_owned());
        }
        sleeps.push(sleep);
    }
    Ok((start.elapsed(), outstanding().wrapping_sub(before)))
}

fn sample(create: Duration, fire: Duration, bytes: usize, n: usize) -> Sample {
    let ops = u32::try_from(n).unwrap_or(u32::MAX);
    Sample {
        create: per_op(create, ops),
        fire: per_op(fire, ops),
        bytes: bytes as f64 / n.max(1) as f64,
    }
}

/// Polls every sleep once more and fails unless all have completed.
fn all_fired<F: Future<Output = ()> + ?Sized>(sleeps: &mut [Pin<Box<F>>]) -> Result<(), String> {
    match sleeps
        .iter_mut()
        .position(|sleep| poll_once(sleep.as_mut()) != Poll::Ready(()))
    {
        Some(index) => Err(format!("timer {index} did not fire")),
        None => Ok(()),
    }
}

fn looptime_side(delays: &[Duration], longest: Duration) -> Result<Sample, String> {
    let runtime = Tokio::current_thread().map_err(|e| format!("tokio runtime: {e}"))?;
    let proxy = Proxy::new(&runtime);
    let _virtual_time = proxy
        .setup_looptime(Settings::new())
        .map_err(|e| format!("setup_looptime: {e}"))?;
    let mut sleeps: Vec<Pin<Box<Sleep>>> = Vec::with_capacity(delays.len());

    let outcome = proxy.block_on(async {
        let (create, bytes) = arm_all(delays, &mut sleeps, |delay| proxy.sleep(delay))?;

        let start = Instant::now();
        proxy.sleep(longest).await;
        Ok::<_, String>((create, start.elapsed(), bytes))
    });
    let (create, fire, bytes) = outcome.map_err(|e| format!("looptime block_on: {e}"))??;
    all_fired(&mut sleeps)?;
    assert_eq!(
        proxy.looptime(),
        longest,
        "loop time after the longest sleep"
    );
    Ok(sample(create, fire, bytes, delays.len()))
}

fn tokio_side(delays: &[Duration], longest: Duration) -> Result<Sample, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    let mut sleeps: Vec<Pin<Box<tokio::time::Sleep>>> = Vec::with_capacity(delays.len());

    // Unconstrained: tokio's cooperative budget would otherwise make every poll after the
    // 128th of a turn return `Pending` without registering its timer.
    let (create, fire, bytes, advanced) = runtime.block_on(tokio::task::unconstrained(async {
        let origin = tokio::time::Instant::now();
        let (create, bytes) = arm_all(delays, &mut sleeps, tokio::time::sleep)?;

        let start = Instant::now();
        tokio::time::sleep(longest).await;
        let fire = start.elapsed();
        // Inside the runtime: a tokio `Sleep` is polled in its runtime's context.
        all_fired(&mut sleeps)?;
        Ok::<_, String>((create, fire, bytes, origin.elapsed()))
    }))?;
    assert!(
        advanced >= longest,
        "tokio's paused clock advanced {advanced:?}, less than the longest sleep {longest:?}"
    );
    Ok(sample(create, fire, bytes, delays.len()))
}
