//! [`Chronometer`] (SPEC R17): measures *real* time.

use core::future::Future;
use core::time::Duration;
use std::time::Instant;

/// A stopwatch of real (wall-clock monotonic) time, to check what virtual time saved.
///
/// ```
/// use looptime_api::Chronometer;
///
/// let mut chrono = Chronometer::new();
/// chrono.start();
/// std::thread::sleep(std::time::Duration::from_millis(2));
/// chrono.stop();
/// assert!(chrono.elapsed() >= std::time::Duration::from_millis(2));
/// ```
#[derive(Clone, Debug, Default)]
pub struct Chronometer {
    accumulated: Duration,
    started: Option<Instant>,
}

impl Chronometer {
    /// A stopped chronometer reading zero.
    pub fn new() -> Self {
        Chronometer::default()
    }

    /// A chronometer already running.
    pub fn started() -> Self {
        let mut chrono = Chronometer::new();
        chrono.start();
        chrono
    }

    /// Starts (or keeps) running.
    pub fn start(&mut self) {
        self.started.get_or_insert_with(Instant::now);
    }

    /// Stops; the reading keeps what was measured so far.
    pub fn stop(&mut self) {
        if let Some(started) = self.started.take() {
            self.accumulated += started.elapsed();
        }
    }

    /// Whether it is running.
    pub fn is_running(&self) -> bool {
        self.started.is_some()
    }

    /// The real time measured: all stopped intervals plus the running one.
    pub fn elapsed(&self) -> Duration {
        self.accumulated + self.started.map_or(Duration::ZERO, |s| s.elapsed())
    }

    /// Resets to a stopped zero.
    pub fn reset(&mut self) {
        *self = Chronometer::new();
    }

    /// Runs `future`, adding the real time it took to this chronometer.
    pub async fn measure<F: Future>(&mut self, future: F) -> F::Output {
        self.start();
        let output = future.await;
        self.stop();
        output
    }
}
