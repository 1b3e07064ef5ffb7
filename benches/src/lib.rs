//! # looptime-benches
//!
//! Shared helpers for the benchmarks that compare looptime's virtual time with tokio's
//! paused time (issue 7): run configuration and benchmark selection from the command line
//! and environment, side-by-side runs that alternate, medians, the summary lines, and a
//! small seeded random generator.
//!
//! The benchmarks use a plain harness: `cargo bench` passes `--bench` and gets the full
//! measurement; any other invocation (such as `cargo test --all-targets`) gets a quick
//! smoke run of the same code, see [`Config::from_env`]. Every benchmark ends with one
//! line per figure, exactly of the form `ID looptime=<median> baseline=<median>
//! ratio=<looptime/baseline>` ([`summary`]).
//!
//! | binary (`benches/benches/`) | IDs |
//! |---|---|
//! | `sleep.rs` | `B1`, `B1u` |
//! | `tasks.rs` | `B2`, `B5` |
//! | `advance.rs` | `B3/1000`, `B3/10000`, `B3/100000`, `B3/1000000` |
//! | `timers.rs` | `B4create`, `B4fire`, `B4mem` |
//! | `backends.rs` | `B6smol`, `B6async-std`, `B6futures` |
//!
//! `cargo bench -p looptime-benches` runs them all; `cargo bench -p looptime-benches --
//! B3` only those whose ID contains `B3` ([`Filter`]).
//!
//! ```
//! use looptime_benches::{Short, median, per_op, ratio, summary};
//! use std::time::Duration;
//!
//! let looptime = [3, 1, 2].map(Duration::from_millis);  // three runs of 1000 operations
//! let baseline = [4, 5, 4].map(Duration::from_millis);
//! let ours = per_op(median(&looptime).unwrap(), 1000);
//! let theirs = per_op(median(&baseline).unwrap(), 1000);
//! assert_eq!(ours, Duration::from_micros(2));
//! assert_eq!(ratio(ours, theirs), 0.5);
//! assert_eq!(Short(ours).to_string(), "2.000µs");
//! assert_eq!(summary("B1", ours, theirs), "B1 looptime=2.000µs baseline=4.000µs ratio=0.50");
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::env;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// Environment variable overriding the number of measured runs per side.
pub const RUNS_VAR: &str = "LOOPTIME_BENCH_RUNS";

/// Environment variable overriding the size of every selected benchmark (sleeps, tasks,
/// timers, spawns or `advance_time` calls per run, as each benchmark documents).
pub const N_VAR: &str = "LOOPTIME_BENCH_N";

/// How many runs a benchmark makes, and whether its size is overridden.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Whether this is a real measurement (`cargo bench`) rather than a smoke run.
    pub measure: bool,
    /// Measured runs per side.
    pub runs: u32,
    /// The size given by [`N_VAR`], if any (see [`Config::size`]).
    pub n: Option<u32>,
}

impl Config {
    /// Runs per side when [`RUNS_VAR`] is not set.
    pub const DEFAULT_RUNS: u32 = 7;

    /// The configuration of this process.
    ///
    /// With `--bench` among the arguments (as `cargo bench` passes it), the run count
    /// comes from [`RUNS_VAR`] (default [`DEFAULT_RUNS`](Config::DEFAULT_RUNS)) and the
    /// size override from [`N_VAR`]. Without it, the result is a smoke run: one run per
    /// side at each benchmark's smoke size, cheap enough for `cargo test --all-targets`
    /// in a debug build.
    ///
    /// # Errors
    ///
    /// A message naming the variable when one is set but is not a positive integer.
    pub fn from_env() -> Result<Config, String> {
        let bench = env::args().skip(1).any(|arg| arg == "--bench");
        if !bench {
            return Ok(Config::smoke());
        }
        Ok(Config {
            measure: true,
            runs: positive_from_env(RUNS_VAR, Config::DEFAULT_RUNS)?,
            n: optional_positive_from_env(N_VAR)?,
        })
    }

    /// The configuration of a smoke run: one run per side, smoke sizes.
    pub fn smoke() -> Config {
        Config {
            measure: false,
            runs: 1,
            n: None,
        }
    }

    /// The size of a benchmark whose measured size is `full` and whose smoke size is
    /// `smoke`: `smoke` in a smoke run, otherwise the [`N_VAR`] override or `full`.
    pub fn size(&self, full: u32, smoke: u32) -> u32 {
        match (self.measure, self.n) {
            (false, _) => smoke,
            (true, Some(n)) => n,
            (true, None) => full,
        }
    }

    /// Unmeasured rounds of every side before the measured ones: one when measuring
    /// (allocator growth, page faults and lazy statics land there), none in a smoke run.
    pub fn warmups(&self) -> u32 {
        u32::from(self.measure)
    }
}

/// The value of the environment variable `name` as a positive integer, or `default` when
/// it is unset.
///
/// # Errors
///
/// A message naming the variable when it is set but is not valid Unicode or not a
/// positive integer that fits in a `u32`.
pub fn positive_from_env(name: &str, default: u32) -> Result<u32, String> {
    Ok(optional_positive_from_env(name)?.unwrap_or(default))
}

/// The value of the environment variable `name` as a positive integer, `None` when unset.
///
/// # Errors
///
/// As [`positive_from_env`].
pub fn optional_positive_from_env(name: &str) -> Result<Option<u32>, String> {
    match env::var(name) {
        Err(env::VarError::NotPresent) => Ok(None),
        Err(env::VarError::NotUnicode(raw)) => Err(format!("{name}={raw:?} is not valid Unicode")),
        Ok(text) => parse_positive(&text)
            .map(Some)
            .map_err(|why| format!("{name}={text:?}: {why}")),
    }
}

/// Parses `text` (surrounding whitespace allowed) as a positive integer that fits a `u32`.
///
/// # Errors
///
/// A short explanation when `text` is not such a number.
pub fn parse_positive(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(0) => Err("expected a positive integer, got 0".to_owned()),
        Ok(value) => Ok(value),
        Err(err) => Err(format!(
            "expected a positive integer up to {}: {err}",
            u32::MAX
        )),
    }
}

/// Which benchmarks to run, from the command line: `cargo bench -p looptime-benches --
/// B3 B4` runs the benchmarks whose ID contains `B3` or `B4`.
///
/// Arguments starting with `-` are flags, not patterns; the only flag understood is
/// `--exact`, which makes the patterns match whole IDs (`-- --exact B1` runs `B1` but not
/// `B1u`). No pattern selects everything. Matching is case-sensitive, as libtest's is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    patterns: Vec<String>,
    exact: bool,
}

impl Filter {
    /// The filter of this process's command line.
    pub fn from_env() -> Filter {
        Filter::from_args(env::args().skip(1))
    }

    /// The filter of the arguments `args` (the program name left out).
    pub fn from_args<I, S>(args: I) -> Filter
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut filter = Filter::default();
        for arg in args {
            let arg = arg.into();
            if arg == "--exact" {
                filter.exact = true;
            } else if !arg.starts_with('-') && !arg.is_empty() {
                filter.patterns.push(arg);
            }
        }
        filter
    }

    /// Whether the benchmark (or figure) `id` is selected.
    pub fn matches(&self, id: &str) -> bool {
        self.patterns.is_empty()
            || self.patterns.iter().any(|pattern| {
                if self.exact {
                    pattern == id
                } else {
                    id.contains(pattern.as_str())
                }
            })
    }
}

/// Runs `bench` with this process's [`Config`] and [`Filter`], and turns its outcome into
/// the exit code, printing an error to stderr prefixed with `name`.
pub fn main_with(name: &str, bench: fn(&Config, &Filter) -> Result<(), String>) -> ExitCode {
    let outcome = Config::from_env().and_then(|config| bench(&config, &Filter::from_env()));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{name}: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The header line of a benchmark: what it measures, and how (runs, cores), or that this
/// is a smoke run.
pub fn header(config: &Config, id: &str, what: &str) -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    if config.measure {
        format!(
            "{id}: {what}; {} runs per side (after {} warm-up); {cores} cores",
            config.runs,
            config.warmups()
        )
    } else {
        format!("{id}: {what}; smoke run (not a measurement: run `cargo bench` for that)")
    }
}

/// A side of a comparison: one run of it, returning its measurement.
pub type Side<'a, T> = &'a mut dyn FnMut() -> Result<T, String>;

/// Runs the `K` sides of a comparison alternately: [`Config::warmups`] unmeasured rounds,
/// then [`Config::runs`] measured rounds, each running every side once. Round `r`
/// (counting from 0, warm-ups included) starts with side `r % K` and goes on in order, so
/// no side always runs first or right after the same other side. `each` sees every
/// measured round (numbered from 1, in side order) as it ends, e.g. to print it.
///
/// Returns each side's measurements, in side order, one per measured round.
///
/// # Errors
///
/// The first error of a side, at once.
pub fn alternate<T, const K: usize>(
    config: &Config,
    sides: [Side<'_, T>; K],
    mut each: impl FnMut(u32, &[T; K]),
) -> Result<[Vec<T>; K], String> {
    let mut results: [Vec<T>; K] = std::array::from_fn(|_| Vec::new());
    let warmups = config.warmups();
    for round in 0..warmups + config.runs {
        let mut row: [Option<T>; K] = std::array::from_fn(|_| None);
        for step in 0..K {
            let side = (round as usize + step) % K;
            row[side] = Some(sides[side]()?);
        }
        if round < warmups {
            continue;
        }
        let row = row.map(|value| value.expect("every side ran this round"));
        each(round - warmups + 1, &row);
        for (column, value) in results.iter_mut().zip(row) {
            column.push(value);
        }
    }
    Ok(results)
}

/// The median of `values`: the middle value, or the mean of the two middle values for an
/// even count. `None` when `values` is empty.
pub fn median(values: &[Duration]) -> Option<Duration> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let mid = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        len if len % 2 == 1 => Some(sorted[mid]),
        _ => Some((sorted[mid - 1] + sorted[mid]) / 2),
    }
}

/// The median of the figure `pick` takes out of each of `samples`, as [`median`].
pub fn median_by<T>(samples: &[T], pick: impl Fn(&T) -> Duration) -> Option<Duration> {
    median(&samples.iter().map(pick).collect::<Vec<_>>())
}

/// The median of `values` (NaNs sorted last), as [`median`]; `None` when empty.
pub fn median_f64(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        len if len % 2 == 1 => Some(sorted[mid]),
        _ => Some((sorted[mid - 1] + sorted[mid]) / 2.0),
    }
}

/// The cost of one operation when `ops` operations took `elapsed` in all, to the
/// nanosecond (rounded down). `ops` of zero counts as one.
pub fn per_op(elapsed: Duration, ops: u32) -> Duration {
    elapsed / ops.max(1)
}

/// `numerator / denominator` as a float, e.g. the cost of looptime relative to a
/// baseline. Infinite or NaN when `denominator` is zero.
pub fn ratio(numerator: Duration, denominator: Duration) -> f64 {
    numerator.as_secs_f64() / denominator.as_secs_f64()
}

/// The summary line of one figure: `ID looptime=<median> baseline=<median>
/// ratio=<looptime/baseline>`, durations as [`Short`], the ratio with two decimals.
pub fn summary(id: &str, looptime: Duration, baseline: Duration) -> String {
    format!(
        "{id} looptime={} baseline={} ratio={:.2}",
        Short(looptime),
        Short(baseline),
        ratio(looptime, baseline)
    )
}

/// The summary line of a figure in bytes, as [`summary`]: `ID looptime=<bytes>B
/// baseline=<bytes>B ratio=<looptime/baseline>` ([`Bytes`]).
pub fn summary_bytes(id: &str, looptime: f64, baseline: f64) -> String {
    format!(
        "{id} looptime={} baseline={} ratio={:.2}",
        Bytes(looptime),
        Bytes(baseline),
        looptime / baseline
    )
}

/// A note on whether the figure `id` met its target ratio (`ratio <= target`).
pub fn verdict(id: &str, looptime: Duration, baseline: Duration, target: f64) -> String {
    let ratio = ratio(looptime, baseline);
    let outcome = if ratio <= target { "met" } else { "MISSED" };
    format!("{id}: target ratio <= {target:.2}: {outcome} ({ratio:.2})")
}

/// Displays a duration with three decimals in the most fitting unit, as `1.234µs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Short(pub Duration);

impl fmt::Display for Short {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3?}", self.0)
    }
}

/// Displays a byte count with one decimal and a `B`, as `123.4B`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bytes(pub f64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.1}B", self.0)
    }
}

/// Polls `future` once with a waker that does nothing (a timer polled once registers its
/// deadline and stays pending).
pub fn poll_once<F: Future + ?Sized>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, fast, seeded generator, so that every
/// run and both sides of a comparison see the same "random" workload.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// The seed every benchmark uses unless it says otherwise.
    pub const SEED: u64 = 0x1007_7133;

    /// A generator starting from `seed`.
    pub const fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `low..=high` (uniform up to a bias below 2⁻³² for spans under 2³²).
    ///
    /// # Panics
    ///
    /// When `low > high`.
    pub fn in_range(&mut self, low: u64, high: u64) -> u64 {
        assert!(low <= high, "empty range {low}..={high}");
        match (high - low).checked_add(1) {
            Some(span) => low + self.next_u64() % span,
            None => self.next_u64(),
        }
    }

    /// `count` durations of whole `unit`s, each in `low..=high` units.
    pub fn durations(&mut self, count: u32, unit: Duration, low: u32, high: u32) -> Vec<Duration> {
        (0..count)
            .map(|_| unit * self.in_range(low.into(), high.into()) as u32)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    fn ns(values: &[u64]) -> Vec<Duration> {
        values.iter().copied().map(Duration::from_nanos).collect()
    }

    fn measuring(runs: u32) -> Config {
        Config {
            measure: true,
            runs,
            n: None,
        }
    }

    #[test]
    fn median_of_nothing_is_none() {
        assert_eq!(median(&[]), None);
        assert_eq!(median_f64(&[]), None);
    }

    #[test]
    fn median_of_odd_count_is_the_middle_value() {
        assert_eq!(median(&ns(&[7])), Some(Duration::from_nanos(7)));
        assert_eq!(median(&ns(&[9, 1, 5])), Some(Duration::from_nanos(5)));
        assert_eq!(
            median(&ns(&[3, 100, 2, 8, 1])),
            Some(Duration::from_nanos(3))
        );
        assert_eq!(median_f64(&[3.0, 1.0, 2.0]), Some(2.0));
    }

    #[test]
    fn median_of_even_count_is_the_mean_of_the_middle_values() {
        assert_eq!(median(&ns(&[4, 1, 3, 2])), Some(Duration::from_nanos(2)));
        assert_eq!(median(&ns(&[10, 20])), Some(Duration::from_nanos(15)));
        assert_eq!(median_f64(&[10.0, 20.0, 0.0, 40.0]), Some(15.0));
    }

    #[test]
    fn median_by_picks_a_figure() {
        let samples = [(1, Duration::from_nanos(30)), (2, Duration::from_nanos(10))];
        assert_eq!(median_by(&samples, |s| s.1), Some(Duration::from_nanos(20)));
    }

    #[test]
    fn per_op_divides_and_guards_zero() {
        assert_eq!(
            per_op(Duration::from_millis(1), 1000),
            Duration::from_micros(1)
        );
        assert_eq!(
            per_op(Duration::from_millis(1), 0),
            Duration::from_millis(1)
        );
    }

    #[test]
    fn short_uses_three_decimals() {
        assert_eq!(Short(Duration::from_nanos(1234)).to_string(), "1.234µs");
        assert_eq!(Short(Duration::from_nanos(56)).to_string(), "56.000ns");
    }

    #[test]
    fn summary_lines_have_the_issue_format() {
        assert_eq!(
            summary(
                "B3/1000",
                Duration::from_nanos(1500),
                Duration::from_nanos(1000)
            ),
            "B3/1000 looptime=1.500µs baseline=1.000µs ratio=1.50"
        );
        assert_eq!(
            summary_bytes("B4mem", 150.0, 100.0),
            "B4mem looptime=150.0B baseline=100.0B ratio=1.50"
        );
    }

    #[test]
    fn verdict_compares_with_the_target() {
        let (a, b) = (Duration::from_nanos(13), Duration::from_nanos(10));
        assert_eq!(
            verdict("B5", a, b, 1.3),
            "B5: target ratio <= 1.30: met (1.30)"
        );
        assert_eq!(
            verdict("B2", a, b, 1.0),
            "B2: target ratio <= 1.00: MISSED (1.30)"
        );
    }

    #[test]
    fn parse_positive_rejects_bad_input() {
        assert_eq!(parse_positive(" 42 "), Ok(42));
        assert!(parse_positive("0").is_err());
        assert!(parse_positive("-3").is_err());
        assert!(parse_positive("ten").is_err());
        assert!(parse_positive("").is_err());
    }

    #[test]
    fn size_is_smoke_or_override_or_full() {
        assert_eq!(Config::smoke().size(1000, 10), 10);
        assert_eq!(measuring(7).size(1000, 10), 1000);
        let overridden = Config {
            n: Some(5),
            ..measuring(7)
        };
        assert_eq!(overridden.size(1000, 10), 5);
        assert_eq!(Config::smoke().warmups(), 0);
        assert_eq!(measuring(7).warmups(), 1);
    }

    #[test]
    fn filter_selects_by_substring_or_exactly() {
        let all = Filter::from_args(["--bench"]);
        assert!(all.matches("B1") && all.matches("B6smol"));

        let b1 = Filter::from_args(["--bench", "B1"]);
        assert!(b1.matches("B1") && b1.matches("B1u") && !b1.matches("B2"));

        let exact = Filter::from_args(["--exact", "B1", "--bench"]);
        assert!(exact.matches("B1") && !exact.matches("B1u"));

        let two = Filter::from_args(["B3", "mem"]);
        assert!(two.matches("B3/1000") && two.matches("B4mem") && !two.matches("B4fire"));
    }

    #[test]
    fn alternate_rotates_the_first_side_and_skips_warmups() {
        let order = RefCell::new(Vec::new());
        let mut count = [0u32; 3];
        let mut a = || {
            order.borrow_mut().push('a');
            count[0] += 1;
            Ok(count[0])
        };
        let mut b = || {
            order.borrow_mut().push('b');
            Ok(10)
        };
        let mut c = || {
            order.borrow_mut().push('c');
            Ok(20)
        };
        let mut rounds = Vec::new();
        let results = alternate(&measuring(3), [&mut a, &mut b, &mut c], |run, row| {
            rounds.push((run, *row));
        })
        .unwrap();
        // One warm-up round, then three measured ones, each starting one side later.
        assert_eq!(
            order.into_inner().iter().collect::<String>(),
            "abcbcacababc"
        );
        assert_eq!(results, [vec![2, 3, 4], vec![10; 3], vec![20; 3]]);
        assert_eq!(
            rounds,
            [(1, [2, 10, 20]), (2, [3, 10, 20]), (3, [4, 10, 20])]
        );
    }

    #[test]
    fn alternate_stops_at_the_first_error() {
        let mut calls = 0;
        let mut ok = || {
            calls += 1;
            Ok(())
        };
        let mut failing = || Err::<(), _>("broken".to_owned());
        let outcome = alternate(&Config::smoke(), [&mut ok, &mut failing], |_, _| {});
        assert_eq!(outcome, Err("broken".to_owned()));
        assert_eq!(calls, 1);
    }

    #[test]
    fn poll_once_polls_with_a_noop_waker() {
        let mut ready = std::future::ready(3);
        assert_eq!(poll_once(Pin::new(&mut ready)), Poll::Ready(3));
        let mut pending = std::future::pending::<()>();
        assert_eq!(poll_once(Pin::new(&mut pending)), Poll::Pending);
    }

    #[test]
    fn splitmix64_matches_the_reference_sequence() {
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(rng.next_u64(), 0x06C4_5D18_8009_454F);
    }

    #[test]
    fn splitmix64_ranges_stay_inside() {
        let mut rng = SplitMix64::new(SplitMix64::SEED);
        for _ in 0..1000 {
            let value = rng.in_range(3, 7);
            assert!((3..=7).contains(&value));
        }
        assert_eq!(rng.in_range(5, 5), 5);
        let _ = rng.in_range(0, u64::MAX);
        let durations = rng.durations(100, Duration::from_millis(1), 1, 1000);
        assert_eq!(durations.len(), 100);
        assert!(
            durations
                .iter()
                .all(|d| { (Duration::from_millis(1)..=Duration::from_secs(1)).contains(d) })
        );
        let again = SplitMix64::new(1).durations(5, Duration::from_micros(1), 1, 9);
        assert_eq!(
            again,
            SplitMix64::new(1).durations(5, Duration::from_micros(1), 1, 9)
        );
    }
}
