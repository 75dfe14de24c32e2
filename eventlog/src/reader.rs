//! Batches of the global log, in reader order, from a checkpoint.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgExecutor};
use uuid::Uuid;

use super::{Checkpoint, TransactionId};
use crate::Error;

/// One event as the log holds it. Payload and metadata stay JSON text, exactly as
/// stored: parsing is left to whoever needs it, and the bytes are the hashed ones.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct RecordedEvent {
    pub global_position: i64,
    pub transaction_id: TransactionId,
    pub event_id: Uuid,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub payload: String,
    pub metadata: String,
    pub recorded_at: DateTime<Utc>,
}

impl RecordedEvent {
    /// The checkpoint a reader holds once it has taken this event.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            transaction_id: self.transaction_id,
            global_position: self.global_position,
        }
    }
}

/// The columns and table every batch reads; the conditions follow.
macro_rules! batch_query {
    ($($condition:literal),*) => {
        concat!(
            "SELECT ",
            crate::event_columns!(),
            " FROM events
              WHERE (transaction_id, global_position) > ($1, $2)
                AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())",
            $($condition,)*
            " ORDER BY transaction_id, global_position LIMIT $3"
        )
    };
}

/// Up to `limit` events after `after`, in reader order, from transactions that have
/// all ended. An empty answer means "nothing more yet", never "the end".
pub async fn read_batch<'e>(
    executor: impl PgExecutor<'e>,
    after: Checkpoint,
    limit: i64,
) -> Result<Vec<RecordedEvent>, Error> {
    let events = sqlx::query_as::<_, RecordedEvent>(batch_query!())
        .bind(after.transaction_id)
        .bind(after.global_position)
        .bind(limit)
        .fetch_all(executor)
        .await?;
    Ok(events)
}

/// Like [`read_batch`], but never past `until`: a reader that must stop exactly
/// where another one stands (a read model rebuilt beside the live one catches up
/// with the live projector's checkpoint, not with the head of the log). Events
/// at or before a checkpoint some reader reached are all committed, so the
/// answer is empty only once `until` is reached.
pub async fn read_batch_until<'e>(
    executor: impl PgExecutor<'e>,
    after: Checkpoint,
    until: Checkpoint,
    limit: i64,
) -> Result<Vec<RecordedEvent>, Error> {
    let events = sqlx::query_as::<_, RecordedEvent>(batch_query!(
        " AND (transaction_id, global_position) <= ($4, $5)"
    ))
    .bind(after.transaction_id)
    .bind(after.global_position)
    .bind(limit)
    .bind(until.transaction_id)
    .bind(until.global_position)
    .fetch_all(executor)
    .await?;
    Ok(events)
}
