//! The event log as every part of the system reads it: the recorded event,
//! checkpoints, the gap-free reader and its live tail, wakeups, the filtered log,
//! the hash-chain check, states at a point, and the one payload decoder. The write
//! side (consistency tokens, the checkout process) and the read side (projectors,
//! audit, replay) share it, so they cannot disagree on what the log says.
//!
//! Positions (`global_position`) are taken when a row is inserted, but transactions
//! commit in any order: a reader that follows `global_position > last` passes over
//! an event whose transaction took its position early and committed late. This
//! reader orders by `(transaction_id, global_position)` and reads only rows of
//! transactions older than the oldest one still running
//! (`pg_snapshot_xmin(pg_current_snapshot())`): every such transaction has ended, so
//! nothing can appear behind the checkpoint afterwards.

/// The columns of a [`RecordedEvent`], as every reading of the log selects them: a
/// literal, so queries built with `concat!` stay static strings.
macro_rules! event_columns {
    () => {
        "global_position, transaction_id, event_id, aggregate_type, aggregate_id,
         sequence, event_type, event_version, payload::text AS payload,
         metadata::text AS metadata, recorded_at"
    };
}
pub(crate) use event_columns;

mod error;
pub mod payload;
pub mod personal;

mod checkpoint;
pub mod horizon;
pub mod integrity;
pub mod query;
mod reader;
pub mod replay;
mod tail;
mod wakeups;

pub use checkpoint::{Checkpoint, TransactionId};
pub use error::{is_transient_database_error, Error};
pub use payload::decode;
pub use reader::{read_batch, read_batch_of, read_batch_until, PayloadsOf, RecordedEvent};
pub use tail::LogTail;
pub use wakeups::{LogWakeups, WakeupReceiver, EVENTS_CHANNEL};
