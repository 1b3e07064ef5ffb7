//! Diagnostics: every time jump, real-time wait and end of time is a `debug` event with
//! the loop time and the reason; a leak report is a `warn` event.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use looptime_api::{CheckKind, ClockExt, Proxy, ReactorExt, Settings, SpawnerExt};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// Records every event as its level and `field=value` pairs.
#[derive(Clone, Default)]
struct Recorder {
    events: Arc<Mutex<Vec<(Level, String)>>>,
}

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={:?} ", field.name(), value));
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        self.events
            .lock()
            .unwrap()
            .push((*event.metadata().level(), fields.0));
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

impl Recorder {
    /// The first event of `level` whose text contains every one of `parts`.
    fn find(&self, level: Level, parts: &[&str]) -> Option<String> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .find(|(l, text)| *l == level && parts.iter().all(|p| text.contains(p)))
            .map(|(_, text)| text.clone())
    }

    fn all(&self) -> Vec<(Level, String)> {
        self.events.lock().unwrap().clone()
    }
}

#[test]
fn jumps_waits_ends_and_leaks_are_events() {
    let recorder = Recorder::default();
    tracing::subscriber::with_default(recorder.clone(), || {
        let runtime = looptime_tokio::Tokio::current_thread().unwrap();
        let proxy = Proxy::new(&runtime);
        let settings = Settings::new()
            .end(Duration::from_secs(100))
            .idle_step(Duration::from_millis(10));
        let _on = proxy.setup_looptime(settings).unwrap();
        proxy
            .block_on(async {
                proxy.sleep(Duration::from_secs(30)).await;
                proxy
                    .spawn_blocking(|| std::thread::sleep(Duration::from_millis(30)))
                    .await
                    .unwrap();
                let ended = proxy
                    .timeout(Duration::from_secs(3600), std::future::pending::<()>())
                    .await;
                assert!(ended.unwrap_err().is_end_of_time());
                let _leak = proxy.spawn(std::future::pending::<()>());
                assert!(proxy.check_and_shutdown(CheckKind::ALL).await.is_err());
            })
            .unwrap();
    });

    let checks: [(Level, &[&str], &str); 5] = [
        (
            Level::DEBUG,
            &["time jumps", "from=0ns", "to=30s", "nearest deadline"],
            "the jump to 30 s",
        ),
        (
            Level::DEBUG,
            &["waiting in real time", "loop_time=30", "blocking work"],
            "a real-time step while the blocking job runs",
        ),
        (
            Level::DEBUG,
            &["time jumps", "to=100s", "end of time"],
            "the jump to the end",
        ),
        (
            Level::DEBUG,
            &["stops waiting", "loop_time=100s", "end of time"],
            "the end of time",
        ),
        (
            Level::WARN,
            &["leaks found", "diagnostics.rs"],
            "the leak report, with the leak's line",
        ),
    ];
    for (level, parts, what) in checks {
        assert!(
            recorder.find(level, parts).is_some(),
            "{what}: no {level} event with {parts:?} among {:#?}",
            recorder.all()
        );
    }
}

#[test]
fn a_proxy_dropped_without_shutdown_warns_and_cancels() {
    let recorder = Recorder::default();
    let runtime = looptime_tokio::Tokio::current_thread().unwrap();
    let handle = tracing::subscriber::with_default(recorder.clone(), || {
        let proxy = Proxy::named(&runtime, "forgotten");
        let handle = proxy.spawn(std::future::pending::<()>());
        drop(proxy);
        handle
    });
    let joined = runtime.block_on(handle).unwrap();
    assert!(
        joined.is_err_and(|e| e.is_cancelled()),
        "the task is cancelled"
    );
    let warning = recorder.find(
        Level::WARN,
        &["dropped without check_and_shutdown", "forgotten", "tasks=1"],
    );
    assert!(warning.is_some(), "no warning among {:#?}", recorder.all());
}
