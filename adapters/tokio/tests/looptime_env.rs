//! `LOOPTIME=off` runs attribute tests on real time; `on`, empty or unset on virtual time;
//! anything else fails them.
//!
//! The environment is process-wide, so the test reruns this binary with `LOOPTIME` set,
//! selecting only `reports_its_clock`.

use std::process::Command;
use std::time::Duration;

use looptime_api::ClockExt;
use looptime_api::testing::{TestHandle, TimeMode};

/// Checks the clock against `LOOPTIME` as this process sees it: on its own (virtual time,
/// unless the suite runs with `LOOPTIME=off`), and in the children below.
#[looptime_tokio::test(start = "5s")]
async fn reports_its_clock(lt: TestHandle) {
    let expected = match std::env::var("LOOPTIME").as_deref() {
        Ok("off") | Ok("OFF") => TimeMode::Real,
        _ => TimeMode::Virtual,
    };
    assert_eq!(lt.mode(), expected);
    assert_eq!(lt.is_virtual(), expected == TimeMode::Virtual);
    match expected {
        TimeMode::Virtual => {
            lt.sleep(Duration::from_secs(3600)).await;
            assert_eq!(lt.looptime(), Duration::from_secs(3605));
            assert!(lt.chronometer().elapsed() < Duration::from_secs(1));
        }
        TimeMode::Real => {
            lt.sleep(Duration::from_millis(50)).await;
            let looptime = lt.looptime();
            assert!(
                looptime >= Duration::from_millis(5050) && looptime < Duration::from_secs(6),
                "loop time follows real time from `start`: {looptime:?}"
            );
            assert!(lt.chronometer().elapsed() >= Duration::from_millis(50));
        }
    }
    println!("ran on {:?} time", lt.mode());
}

/// Runs `reports_its_clock` in a child process with `LOOPTIME` set to `value` (removed
/// when `None`); returns whether it passed and what it printed.
fn run_child(value: Option<&str>) -> (bool, String) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command.args([
        "reports_its_clock",
        "--exact",
        "--nocapture",
        "--test-threads=1",
    ]);
    match value {
        Some(value) => command.env("LOOPTIME", value),
        None => command.env_remove("LOOPTIME"),
    };
    let output = command.output().unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), printed)
}

#[test]
fn looptime_selects_the_clock() {
    for (value, expected) in [
        (Some("off"), "ran on Real time"),
        (Some("OFF"), "ran on Real time"),
        (Some("on"), "ran on Virtual time"),
        (Some(""), "ran on Virtual time"),
        (None, "ran on Virtual time"),
    ] {
        let (passed, printed) = run_child(value);
        assert!(passed, "LOOPTIME={value:?}:\n{printed}");
        assert!(printed.contains(expected), "LOOPTIME={value:?}:\n{printed}");
        assert!(
            printed.contains("1 passed"),
            "LOOPTIME={value:?}:\n{printed}"
        );
    }
    let (passed, printed) = run_child(Some("yes"));
    assert!(!passed, "{printed}");
    assert!(
        printed.contains("LOOPTIME=\"yes\" is not understood"),
        "{printed}"
    );
}
