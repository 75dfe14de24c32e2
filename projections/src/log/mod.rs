//! The global event log, read in an order that never skips an event.
//!
//! Positions (`global_position`) are taken when a row is inserted, but transactions
//! commit in any order: a reader that follows `global_position > last` passes over
//! an event whose transaction took its position early and committed late. This
//! reader orders by `(transaction_id, global_position)` and reads only rows of
//! transactions older than the oldest one still running
//! (`pg_snapshot_xmin(pg_current_snapshot())`): every such transaction has ended, so
//! nothing can appear behind the checkpoint afterwards.

mod checkpoint;
pub mod horizon;
pub mod integrity;
pub mod query;
mod reader;
pub mod replay;
mod tail;
mod wakeups;

pub use checkpoint::{Checkpoint, TransactionId};
pub use reader::{read_batch, read_batch_until, RecordedEvent};
pub use tail::LogTail;
pub use wakeups::{LogWakeups, WakeupReceiver, EVENTS_CHANNEL};
