//! Units of work handed to a [`Spawner`](crate::Spawner), and their join handles.

mod header;
mod join;
#[cfg(all(test, not(looptime_loom)))]
mod tests;
mod work;

#[allow(unused_imports)]
pub(crate) use header::{CancelReason, TaskHeader, TaskRef, next_id};
pub use join::{JoinError, JoinHandle};
pub(crate) use join::{SlotSender, new_cell};
pub use work::{BlockingJob, Task};
