//! The conformance runner: every scenario on every bundled backend, as a matrix.
//!
//! ```text
//! cargo run --release -p looptime-conformance [-- --backend NAME] [--scenario PATTERN] [--json]
//! ```
//!
//! Scenarios run one at a time with the SPEC's real-time bounds as written. A scenario that
//! misses only a real-time *upper* bound (a scheduling hiccup of a shared machine) is
//! measured again, up to three times, and marked `*` if a later attempt passed; every other
//! failure, and a bound missed three times, fails. The last line is
//! `conformance: N passed, M failed`; the exit status is non-zero if any failed.

use std::process::ExitCode;
use std::time::Duration;

use looptime_conformance::backends::{
    AsyncStdBackend, FuturesBackend, SmolBackend, TokioCurrentThread, TokioMultiThread,
};
use looptime_conformance::{Backend, Ctx, Outcome, Scenario, all};

/// One bundled backend: its name and its scenarios.
struct Column {
    name: &'static str,
    scenarios: Vec<Scenario>,
}

fn column<B: Backend>() -> Column {
    Column {
        name: B::NAME,
        scenarios: all::<B>(),
    }
}

/// The command line.
struct Args {
    backend: Option<String>,
    scenario: Option<String>,
    json: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        backend: None,
        scenario: None,
        json: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--backend" => args.backend = Some(it.next().ok_or("--backend needs a NAME")?),
            "--scenario" => args.scenario = Some(it.next().ok_or("--scenario needs a PATTERN")?),
            "--json" => args.json = true,
            "-h" | "--help" => {
                return Err(
                    "usage: looptime-conformance [--backend NAME] [--scenario PATTERN] [--json]"
                        .into(),
                );
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(args)
}

/// One cell of the matrix.
struct Cell {
    outcome: Outcome,
    wall: Duration,
    /// Attempts made: more than one when a real-time upper bound failed before.
    attempts: u32,
}

/// How many times a scenario is measured when only a real-time upper bound fails: a
/// scheduling hiccup of a shared machine is not a fault of the backend, but a real-time
/// bound missed every time is.
const ATTEMPTS: u32 = 3;

fn short(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        format!("{:.3}s", d.as_secs_f64())
    } else if d >= Duration::from_millis(1) {
        format!("{:.1}ms", d.as_secs_f64() * 1e3)
    } else {
        format!("{:.0}µs", d.as_secs_f64() * 1e6)
    }
}

/// `*` on a cell that passed on a later attempt.
fn mark(cell: &Cell) -> &'static str {
    if cell.attempts > 1 { "*" } else { "" }
}

fn cell_text(cell: &Cell) -> String {
    match &cell.outcome {
        Ok(report) => match report.loop_time {
            Some(loop_time) => format!(
                "ok{} {} / {}",
                mark(cell),
                short(loop_time),
                short(report.real_time)
            ),
            None => format!("ok{} real {}", mark(cell), short(report.real_time)),
        },
        Err(_) => "FAIL".to_owned(),
    }
}

fn json_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Panics that scenarios provoke on purpose stay quiet; any other is printed as usual.
fn quiet_expected_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("");
        if !message.contains(looptime_conformance::EXPECTED_PANIC) {
            default(info);
        }
    }));
}

fn main() -> ExitCode {
    quiet_expected_panics();
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let columns: Vec<Column> = [
        column::<TokioCurrentThread>(),
        column::<TokioMultiThread>(),
        column::<SmolBackend>(),
        column::<AsyncStdBackend>(),
        column::<FuturesBackend>(),
    ]
    .into_iter()
    .filter(|c| args.backend.as_deref().is_none_or(|b| c.name == b))
    .collect();
    if columns.is_empty() {
        eprintln!(
            "no bundled backend is named {:?}",
            args.backend.unwrap_or_default()
        );
        return ExitCode::from(2);
    }
    let ctx = Ctx::strict();
    // rows[i][j]: scenario i on backend j.
    let ids: Vec<(String, &'static str)> = columns[0]
        .scenarios
        .iter()
        .map(|s| (s.id(), s.rule))
        .filter(|(id, _)| args.scenario.as_deref().is_none_or(|p| id.contains(p)))
        .collect();
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    for (id, _) in &ids {
        let mut row = Vec::new();
        for column in &columns {
            let scenario = column
                .scenarios
                .iter()
                .find(|s| &s.id() == id)
                .expect("every backend has the same scenarios");
            let mut attempts = 1;
            let (mut outcome, mut wall) = scenario.run(&ctx);
            while attempts < ATTEMPTS && outcome.as_ref().is_err_and(|f| f.is_over_time()) {
                attempts += 1;
                (outcome, wall) = scenario.run(&ctx);
            }
            row.push(Cell {
                outcome,
                wall,
                attempts,
            });
        }
        rows.push(row);
    }

    let passed = rows.iter().flatten().filter(|c| c.outcome.is_ok()).count();
    let failed = rows.iter().flatten().count() - passed;

    if args.json {
        let mut entries = Vec::new();
        for ((id, rule), row) in ids.iter().zip(&rows) {
            for (column, cell) in columns.iter().zip(row) {
                let (status, loop_time, real, why) = match &cell.outcome {
                    Ok(r) => ("pass", r.loop_time, Some(r.real_time), None),
                    Err(f) => ("fail", None, None, Some(f.message().to_owned())),
                };
                let nanos =
                    |d: Option<Duration>| d.map_or("null".to_owned(), |d| d.as_nanos().to_string());
                entries.push(format!(
                    "{{\"scenario\":\"{}\",\"rule\":\"{}\",\"backend\":\"{}\",\"status\":\"{status}\",\"loop_time_ns\":{},\"real_time_ns\":{},\"wall_ns\":{},\"failure\":{}}}",
                    json_escape(id),
                    rule,
                    column.name,
                    nanos(loop_time),
                    nanos(real),
                    cell.wall.as_nanos(),
                    why.map_or("null".to_owned(), |w| format!("\"{}\"", json_escape(&w))),
                ));
            }
        }
        println!("[\n  {}\n]", entries.join(",\n  "));
    } else {
        let first = ids
            .iter()
            .map(|(id, rule)| id.len() + rule.len() + 3)
            .max()
            .unwrap_or(8)
            .max(8);
        let widths: Vec<usize> = columns
            .iter()
            .enumerate()
            .map(|(j, c)| {
                rows.iter()
                    .map(|r| cell_text(&r[j]).len())
                    .max()
                    .unwrap_or(0)
                    .max(c.name.len())
            })
            .collect();
        println!("looptime conformance: loop time / real time per scenario (strict SPEC bounds)\n");
        let mut header = format!("{:first$}", "scenario [rule]");
        for (column, width) in columns.iter().zip(&widths) {
            header.push_str(&format!("  {:width$}", column.name));
        }
        println!("{header}");
        println!("{}", "-".repeat(header.chars().count()));
        for ((id, rule), row) in ids.iter().zip(&rows) {
            let mut line = format!("{:first$}", format!("{id} [{rule}]"));
            for (cell, width) in row.iter().zip(&widths) {
                line.push_str(&format!("  {:width$}", cell_text(cell)));
            }
            println!("{line}");
        }
        let failures: Vec<_> = ids
            .iter()
            .zip(&rows)
            .flat_map(|((id, _), row)| {
                row.iter()
                    .zip(&columns)
                    .map(move |(cell, column)| (id, column.name, cell))
            })
            .filter_map(|(id, name, cell)| cell.outcome.as_ref().err().map(|f| (id, name, f)))
            .collect();
        let retried = rows.iter().flatten().filter(|c| c.attempts > 1).count();
        if retried > 0 {
            println!(
                "\n* {retried} cell(s) missed a real-time upper bound on a first attempt and were \
                 measured again (up to {ATTEMPTS} times); the figure shown is the last attempt's."
            );
        }
        if !failures.is_empty() {
            println!("\nfailures:");
            for (id, name, failure) in failures {
                println!("  {id} on {name}: {failure}");
            }
        }
        println!();
    }
    println!("conformance: {passed} passed, {failed} failed");
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
