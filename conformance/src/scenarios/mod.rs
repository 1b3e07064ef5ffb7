//! The scenarios, one module per topic. Each is a function generic over a
//! [`Backend`](crate::Backend) and cites the SPEC rule it checks; [`suite!`](crate::suite)
//! and [`all`](crate::all) list them.

pub mod advance_time;
pub mod bad_input;
pub mod compaction;
pub mod determinism;
pub mod end_of_time;
pub mod idle;
pub mod io;
pub mod io_time;
pub mod isolation;
pub mod resolution;
pub mod restarts;
pub mod slow_executors;
pub mod timeouts;
