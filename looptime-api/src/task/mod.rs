//! Units of work handed to a [`Spawner`](crate::Spawner), and their join handles.

mod header;
mod join;
mod work;

#[allow(unused_imports)]
pub(crate) use header::{CancelReason, TaskHeader, next_id};
pub use join::{JoinError, JoinHandle};
pub(crate) use join::{JoinSlot, SlotSender};
pub use work::{BlockingJob, Task};
