//! # looptime-conformance
//!
//! The single statement of looptime's behaviour: every rule of SPEC §3–§4 as a scenario,
//! a function generic over a [`Backend`], so one scenario text runs on every runtime.
//!
//! - [`suite!`] turns the whole suite into `#[test]`s in any crate, one per scenario and
//!   backend; `cargo test` then proves a runtime.
//! - `cargo run --release -p looptime-conformance` runs every scenario on every bundled
//!   backend and prints the scenario × backend matrix (pass/fail, loop time, real time).
//!
//! ## Proving your own runtime
//!
//! Implement [`Backend`] for a type that builds your runtime (any [`Runtime`], that is
//! `Clock + Spawner + Reactor`), then add one line to a
//! test file:
//!
//! ```
//! // tests/conformance.rs of your crate
//! use looptime_conformance::Backend;
//!
//! pub struct MyBackend;
//!
//! impl Backend for MyBackend {
//!     type Runtime = looptime_tokio::Tokio; // your `Runtime` implementation here
//!     const NAME: &'static str = "my-runtime";
//!     fn runtime() -> Self::Runtime {
//!         looptime_tokio::Tokio::current_thread().unwrap()
//!     }
//! }
//!
//! looptime_conformance::suite!(MyBackend);
//! # fn main() {
//! #     // What one of the generated tests does:
//! #     for scenario in looptime_conformance::all::<MyBackend>() {
//! #         if scenario.topic == "resolution" {
//! #             scenario.assert_passes();
//! #         }
//! #     }
//! # }
//! ```
//!
//! `cargo test` runs every scenario as `<topic>::MyBackend::<scenario>`. To run only some
//! topics, list them: `looptime_conformance::suite!(MyBackend; compaction, end_of_time);`.
//!
//! ## Real-time bounds
//!
//! Loop time is always checked by exact equality. Real time is checked against the SPEC's
//! bounds: lower bounds exactly; upper bounds exactly in the runner ([`Ctx::strict`]) and
//! with headroom under `cargo test` ([`Ctx::relaxed`]), where parallel tests share the
//! machine's cores.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod attribute;
pub mod backends;
mod outcome;
mod peers;
pub mod scenarios;
pub mod stress;
mod support;

pub use outcome::{Ctx, Failure, Outcome, Report, Scenario};

use looptime_api::Runtime;

/// The marker in the message of every panic a scenario provokes on purpose.
pub const EXPECTED_PANIC: &str = "(an expected test panic)";

/// A runtime under test: how to build a fresh one for each scenario.
///
/// Implementable outside this crate: it needs nothing private.
pub trait Backend: 'static {
    /// The runtime, as a looptime [`Runtime`].
    type Runtime: Runtime + Clone + 'static;

    /// A short name for the matrix and the test names, like `tokio-current-thread`.
    const NAME: &'static str;

    /// Whether one thread runs every task (a current-thread flavour): the same program
    /// then gives the same order of completions on every run (SPEC R18).
    const SINGLE_THREADED: bool = true;

    /// A fresh runtime for one scenario.
    fn runtime() -> Self::Runtime;
}

/// Every scenario of the suite, instantiated for backend `B`, in suite order.
#[allow(clippy::vec_init_then_push)] // one push per scenario, generated from the list
pub fn all<B: Backend>() -> Vec<Scenario> {
    let mut list = Vec::new();
    __for_each_topic!(list B);
    list
}

/// Instantiates the whole suite (or the listed topics) as `#[test]`s for one or more
/// backends: `suite!(MyBackend)`, `suite!(A, B; compaction, end_of_time)`.
///
/// Each backend must be a type name in scope. Tests are named
/// `<topic>::<Backend>::<scenario>`.
#[macro_export]
macro_rules! suite {
    ($($backend:ident),+ $(,)?) => {
        $crate::__for_each_topic!(tests [$($backend),+]);
    };
    ($($backend:ident),+ ; $($topic:ident),+ $(,)?) => {
        $crate::__topics!([$($backend),+] ; $($topic),+);
    };
}

/// Instantiates the listed topics for a bracketed list of backends (internal).
#[doc(hidden)]
#[macro_export]
macro_rules! __topics {
    ($backends:tt ; $($topic:ident),+) => {
        $( $crate::__topic!($topic, tests $backends); )+
    };
}

/// Calls [`__topic!`] for every topic (internal).
#[doc(hidden)]
#[macro_export]
macro_rules! __for_each_topic {
    ($($mode:tt)*) => {
        $crate::__topic!(compaction, $($mode)*);
        $crate::__topic!(timeouts, $($mode)*);
        $crate::__topic!(slow_executors, $($mode)*);
        $crate::__topic!(idle, $($mode)*);
        $crate::__topic!(end_of_time, $($mode)*);
        $crate::__topic!(resolution, $($mode)*);
        $crate::__topic!(restarts, $($mode)*);
        $crate::__topic!(determinism, $($mode)*);
        $crate::__topic!(isolation, $($mode)*);
        $crate::__topic!(advance_time, $($mode)*);
        $crate::__topic!(bad_input, $($mode)*);
        $crate::__topic!(io, $($mode)*);
        $crate::__topic!(io_time, $($mode)*);
    };
}

/// The scenarios of each topic, with the SPEC rule each checks: the one list (internal).
#[doc(hidden)]
#[macro_export]
macro_rules! __topic {
    (compaction, $($mode:tt)*) => { $crate::__emit!($($mode)* ; compaction ; [
        sleep_10s: "R9",
        sleep_1s_ten_thousand_times: "R9",
        timeout_of_15_minutes: "R9",
        equal_deadlines_fire_fifo: "R9",
        time_waits_for_runnable_tasks: "R9",
        mid_yield_task_is_not_idle: "R9",
        yield_lets_ready_tasks_run: "R4,R9",
        untracked_work_gets_its_passes: "R9",
        cross_thread_wakes_are_never_lost: "R9",
        dyn_clock_is_virtual_too: "R1",
    ]); };
    (timeouts, $($mode:tt)*) => { $crate::__emit!($($mode)* ; timeouts ; [
        timeout_completes_first: "R1",
        timeout_elapses_first: "R1,R14",
        timeout_at_is_absolute: "R1",
        preliminary_execution: "R10",
        interval_ticks_on_schedule: "R1",
        wall_clock_moves_with_loop_time: "R1",
    ]); };
    (slow_executors, $($mode:tt)*) => { $crate::__emit!($($mode)* ; slow_executors ; [
        blocking_job_sets_flag_within_timeout: "R11",
        blocking_100ms_with_idle_step_10ms: "R11",
        short_job_without_idle_step_keeps_time: "R11",
        job_outliving_its_timeout: "R11",
    ]); };
    (idle, $($mode:tt)*) => { $crate::__emit!($($mode)* ; idle ; [
        idle_timeout_with_idle_step: "R12",
        idle_timeout_without_idle_step: "R12",
        outside_wakes_reset_the_countdown: "R12",
        idle_timeout_reaches_every_waiter: "R12,R13",
    ]); };
    (end_of_time, $($mode:tt)*) => { $crate::__emit!($($mode)* ; end_of_time ; [
        end_stops_a_long_sleep: "R13",
        end_is_inclusive: "R13",
        end_is_catchable_and_zero_time_work_runs: "R13,R14",
        interruptible_hears_the_end: "R13",
        end_with_nothing_scheduled_costs_real_time: "R13",
        first_of_end_and_idle_timeout_wins: "R12,R13",
        errors_name_their_clock: "R14",
    ]); };
    (resolution, $($mode:tt)*) => { $crate::__emit!($($mode)* ; resolution ; [
        start_plus_sleep_is_exact: "R15",
        timer_under_half_a_tick_fires: "R15",
        sums_are_exact: "R2,R15",
    ]); };
    (restarts, $($mode:tt)*) => { $crate::__emit!($($mode)* ; restarts ; [
        repeated_setup_keeps_time: "R16",
        switching_while_a_run_waits: "R16",
        start_below_current_time_warns: "R16",
        setup_resets_the_end: "R16",
        enabling_twice_is_an_error: "R16",
        observation_is_exact: "R17",
    ]); };
    (determinism, $($mode:tt)*) => { $crate::__emit!($($mode)* ; determinism ; [
        random_sleeps_repeat_exactly: "R18",
    ]); };
    (isolation, $($mode:tt)*) => { $crate::__emit!($($mode)* ; isolation ; [
        clean_scope_reports_nothing: "R7",
        leaked_task_is_reported_and_cancelled: "R7",
        leaked_blocking_job_is_reported: "R7",
        blocking_job_that_never_returns: "R7",
        unobserved_panic_is_reported: "R7",
        observed_panic_is_not_a_leak: "R7",
        kinds_select_reports_not_closing: "R7",
        pending_timers_on_request: "R7",
        nested_proxies_report_their_own: "R6,R7",
        parent_sees_child_work: "R6,R7",
        shutdown_twice_is_harmless: "R7",
        refuses_work_after_shutdown: "R7",
    ]); };
    (advance_time, $($mode:tt)*) => { $crate::__emit!($($mode)* ; advance_time ; [
        advance_fails_a_15_minute_timeout: "R8",
        absolute_deadlines_honour_the_shift: "R8",
        advance_steps_through_deadlines: "R8",
        advance_on_virtual_time: "R8",
        advance_reaches_child_timers: "R6,R8",
        overflowing_advance_is_rejected: "R8",
    ]); };
    (io, $($mode:tt)*) => { $crate::__emit!($($mode)* ; io ; [
        tcp_roundtrip: "R4",
        udp_roundtrip: "R4",
        fd_reader_and_writer: "R4",
        signal_stream_receives: "R4",
        io_through_dyn_reactor: "R4,R6",
        shutdown_closes_every_kind: "R7",
        closed_handles_return_errors: "R7",
        accepted_streams_are_tracked: "R6,R7",
        parent_closes_child_io: "R6,R7",
        task_owned_io_is_reported: "R7",
    ]); };
    (io_time, $($mode:tt)*) => { $crate::__emit!($($mode)* ; io_time ; [
        read_waits_for_a_peer_in_real_time: "R12",
        read_with_idle_step_moves_loop_time: "R12",
        silent_peer_idle_timeout: "R12",
        silent_peer_end_of_time: "R12,R13",
        silent_peer_first_of_end_and_idle_timeout: "R12,R13",
        timeout_waits_for_a_slow_peer: "R12",
        slow_peer_with_idle_step_tracks_real_time: "R11,R12",
        timeout_fails_on_a_silent_peer: "R12",
        background_ticker_waits_for_the_read: "R12",
        pure_timers_still_compact: "R9",
        io_patience_off_compacts_at_once: "R9",
    ]); };
    (bad_input, $($mode:tt)*) => { $crate::__emit!($($mode)* ; bad_input ; [
        duration_max_waits_never_fire: "R2",
        invalid_settings_are_errors: "R15,R16",
        instant_arithmetic_saturates: "R2",
    ]); };
}

/// Emits one topic as `#[test]`s (`tests`) or into a scenario list (`list`) (internal).
#[doc(hidden)]
#[macro_export]
macro_rules! __emit {
    (tests [$($backend:ident),+] ; $topic:ident ; $list:tt) => {
        #[allow(non_snake_case)]
        mod $topic {
            $( $crate::__emit!(backend $backend ; $topic ; $list); )+
        }
    };
    (backend $backend:ident ; $topic:ident ; [$($name:ident : $rule:literal),+ $(,)?]) => {
        mod $backend {
            $(
                #[test]
                fn $name() {
                    $crate::Scenario::new(
                        stringify!($topic),
                        stringify!($name),
                        $rule,
                        $crate::scenarios::$topic::$name::<super::super::$backend>,
                    )
                    .assert_passes();
                }
            )+
        }
    };
    ($list:ident $backend:ident ; $topic:ident ; [$($name:ident : $rule:literal),+ $(,)?]) => {
        $(
            $list.push($crate::Scenario::new(
                stringify!($topic),
                stringify!($name),
                $rule,
                $crate::scenarios::$topic::$name::<$backend>,
            ));
        )+
    };
}
