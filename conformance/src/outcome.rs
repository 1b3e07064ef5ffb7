//! What a scenario returns, and how the runner and `#[test]`s judge it.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use looptime_api::{AdvanceError, JoinError, SetupError, TimeError};

/// How strictly a scenario checks real-time *upper* bounds (lower bounds are always
/// exact, and loop time is always exact).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ctx {
    strict: bool,
}

impl Ctx {
    /// The SPEC's bounds as written: for the runner, which runs one scenario at a time.
    pub fn strict() -> Ctx {
        Ctx { strict: true }
    }

    /// Upper bounds with headroom (×10 + 500 ms): for `cargo test`, where tests share the
    /// cores with each other.
    pub fn relaxed() -> Ctx {
        Ctx { strict: false }
    }

    /// Whether upper bounds are checked as written.
    pub fn is_strict(&self) -> bool {
        self.strict
    }

    /// The upper bound to check real time against, for a SPEC bound of `bound`.
    pub fn upper(&self, bound: Duration) -> Duration {
        if self.strict {
            bound
        } else {
            bound * 10 + Duration::from_millis(500)
        }
    }
}

/// What a passing scenario measured.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// The final loop time, where the scenario has one.
    pub loop_time: Option<Duration>,
    /// The real time of the part the scenario measured.
    pub real_time: Duration,
}

impl Report {
    /// A report of `loop_time` reached in `real_time`.
    pub fn new(loop_time: Duration, real_time: Duration) -> Report {
        Report {
            loop_time: Some(loop_time),
            real_time,
        }
    }

    /// A report with no loop time (the scenario runs on real time).
    pub fn real(real_time: Duration) -> Report {
        Report {
            loop_time: None,
            real_time,
        }
    }
}

/// Why a scenario failed: expected versus actual.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    message: String,
    over_time: bool,
}

impl Failure {
    /// A failure with this explanation.
    pub fn new(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            over_time: false,
        }
    }

    /// A failure of a real-time upper bound only: the behaviour was right, the machine
    /// slower than the bound (the runner measures such a scenario again).
    pub fn over_time(message: impl Into<String>) -> Failure {
        Failure {
            over_time: true,
            ..Failure::new(message)
        }
    }

    /// Whether only a real-time upper bound failed.
    pub fn is_over_time(&self) -> bool {
        self.over_time
    }

    /// The explanation.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

macro_rules! unexpected {
    ($($ty:ty),*) => {$(
        impl From<$ty> for Failure {
            fn from(error: $ty) -> Failure {
                Failure::new(format!("unexpected error: {error}"))
            }
        }
    )*};
}

unexpected!(
    TimeError,
    JoinError,
    SetupError,
    AdvanceError,
    std::io::Error
);

/// A scenario's result.
pub type Outcome = Result<Report, Failure>;

/// One scenario instantiated for one backend.
#[derive(Clone, Copy)]
pub struct Scenario {
    /// Its topic (the module of `scenarios`).
    pub topic: &'static str,
    /// Its name.
    pub name: &'static str,
    /// The SPEC rules it checks, like `"R9"` or `"R12,R13"`.
    pub rule: &'static str,
    run: fn(&Ctx) -> Outcome,
}

impl Scenario {
    /// A scenario running `run`.
    pub fn new(
        topic: &'static str,
        name: &'static str,
        rule: &'static str,
        run: fn(&Ctx) -> Outcome,
    ) -> Scenario {
        Scenario {
            topic,
            name,
            rule,
            run,
        }
    }

    /// `topic::name`.
    pub fn id(&self) -> String {
        format!("{}::{}", self.topic, self.name)
    }

    /// Runs it; a panic inside counts as a failure. Also returns the whole real time.
    pub fn run(&self, ctx: &Ctx) -> (Outcome, Duration) {
        let started = Instant::now();
        let outcome = match catch_unwind(AssertUnwindSafe(|| (self.run)(ctx))) {
            Ok(outcome) => outcome,
            Err(payload) => {
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "<non-string panic>".to_owned());
                Err(Failure::new(format!("panicked: {message}")))
            }
        };
        (outcome, started.elapsed())
    }

    /// Runs it with [`Ctx::relaxed`] and panics with the failure: for `#[test]`.
    pub fn assert_passes(&self) {
        if let (Err(failure), _) = self.run(&Ctx::relaxed()) {
            panic!("{} [{}] failed: {failure}", self.id(), self.rule);
        }
    }
}

impl fmt::Debug for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scenario")
            .field("id", &self.id())
            .field("rule", &self.rule)
            .finish()
    }
}
