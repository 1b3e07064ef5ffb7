//! # looptime-benches
//!
//! Shared helpers for the benchmarks that compare looptime's virtual time with tokio's
//! paused time: run configuration from the command line and environment, medians, and
//! the formatting of per-operation costs.
//!
//! The benchmarks use a plain harness: `cargo bench` passes `--bench` and gets the full
//! measurement; any other invocation (such as `cargo test --all-targets`) gets a quick
//! smoke run, see [`Config::from_env`].
//!
//! ```
//! use looptime_benches::{Short, median, per_op, ratio};
//! use std::time::Duration;
//!
//! let looptime = [3, 1, 2].map(Duration::from_millis);  // three runs of 1000 operations
//! let baseline = [4, 5, 4].map(Duration::from_millis);
//! let ours = per_op(median(&looptime).unwrap(), 1000);
//! let theirs = per_op(median(&baseline).unwrap(), 1000);
//! assert_eq!(ours, Duration::from_micros(2));
//! assert_eq!(ratio(ours, theirs), 0.5);
//! assert_eq!(Short(ours).to_string(), "2.000µs");
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::env;
use std::fmt;
use std::time::Duration;

/// Environment variable overriding the number of measured runs per side.
pub const RUNS_VAR: &str = "LOOPTIME_BENCH_RUNS";

/// Environment variable overriding the number of operations per run.
pub const N_VAR: &str = "LOOPTIME_BENCH_N";

/// How many runs a benchmark makes and how many operations each run performs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Whether this is a real measurement (`cargo bench`) rather than a smoke run.
    pub measure: bool,
    /// Measured runs per side.
    pub runs: u32,
    /// Operations per run.
    pub n: u32,
}

impl Config {
    /// Runs per side when [`RUNS_VAR`] is not set.
    pub const DEFAULT_RUNS: u32 = 7;
    /// Operations per run when [`N_VAR`] is not set.
    pub const DEFAULT_N: u32 = 100_000;
    /// Operations per run of a smoke run.
    pub const SMOKE_N: u32 = 100;

    /// The configuration of this process.
    ///
    /// With `--bench` among the arguments (as `cargo bench` passes it), the run count and
    /// size come from [`RUNS_VAR`] and [`N_VAR`], defaulting to [`DEFAULT_RUNS`] and
    /// [`DEFAULT_N`]. Without it, the result is a smoke run: one run per side of
    /// [`SMOKE_N`] operations, cheap enough for `cargo test --all-targets`.
    ///
    /// [`DEFAULT_RUNS`]: Config::DEFAULT_RUNS
    /// [`DEFAULT_N`]: Config::DEFAULT_N
    /// [`SMOKE_N`]: Config::SMOKE_N
    ///
    /// # Errors
    ///
    /// A message naming the variable when one is set but is not a positive integer.
    pub fn from_env() -> Result<Config, String> {
        if !env::args().skip(1).any(|arg| arg == "--bench") {
            return Ok(Config {
                measure: false,
                runs: 1,
                n: Config::SMOKE_N,
            });
        }
        Ok(Config {
            measure: true,
            runs: positive_from_env(RUNS_VAR, Config::DEFAULT_RUNS)?,
            n: positive_from_env(N_VAR, Config::DEFAULT_N)?,
        })
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
    match env::var(name) {
        Err(env::VarError::NotPresent) => Ok(default),
        Err(env::VarError::NotUnicode(raw)) => Err(format!("{name}={raw:?} is not valid Unicode")),
        Ok(text) => parse_positive(&text).map_err(|why| format!("{name}={text:?}: {why}")),
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

/// Displays a duration with three decimals in the most fitting unit, as `1.234µs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Short(pub Duration);

impl fmt::Display for Short {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3?}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(values: &[u64]) -> Vec<Duration> {
        values.iter().copied().map(Duration::from_nanos).collect()
    }

    #[test]
    fn median_of_nothing_is_none() {
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn median_of_odd_count_is_the_middle_value() {
        assert_eq!(median(&ns(&[7])), Some(Duration::from_nanos(7)));
        assert_eq!(median(&ns(&[9, 1, 5])), Some(Duration::from_nanos(5)));
        assert_eq!(
            median(&ns(&[3, 100, 2, 8, 1])),
            Some(Duration::from_nanos(3))
        );
    }

    #[test]
    fn median_of_even_count_is_the_mean_of_the_middle_values() {
        assert_eq!(median(&ns(&[4, 1, 3, 2])), Some(Duration::from_nanos(2)));
        assert_eq!(median(&ns(&[10, 20])), Some(Duration::from_nanos(15)));
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
    fn parse_positive_rejects_bad_input() {
        assert_eq!(parse_positive(" 42 "), Ok(42));
        assert!(parse_positive("0").is_err());
        assert!(parse_positive("-3").is_err());
        assert!(parse_positive("ten").is_err());
        assert!(parse_positive("").is_err());
    }
}
