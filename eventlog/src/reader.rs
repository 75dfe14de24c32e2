//! Batches of the global log, in reader order, from a checkpoint.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgExecutor};
use uuid::Uuid;

use super::{Checkpoint, TransactionId};
use crate::Error;

/// One event as the log holds it. Payload and metadata stay JSON text, exactly as
/// stored: parsing is left to whoever needs it, and the bytes are the hashed ones.
/// A reader that asked for some payloads only ([`PayloadsOf`]) gets the others
/// empty.
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

/// Whose payloads a reader reads: events of other types come with an empty
/// payload. A projector that handles a few types then neither fetches nor copies
/// the rest of the log's payloads (a cart line under promotions carries
/// kilobytes, which a dozen projectors would otherwise each read). The rows of
/// those events still come, so checkpoints and lag move over them as before.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PayloadsOf {
    pub aggregate_types: Vec<&'static str>,
    /// Of any aggregate type.
    pub event_types: Vec<&'static str>,
}

impl PayloadsOf {
    /// The payloads of these aggregate types' events.
    pub fn aggregates(types: &[&'static str]) -> Self {
        PayloadsOf {
            aggregate_types: types.to_vec(),
            event_types: Vec::new(),
        }
    }

    /// The payloads of events of these types.
    pub fn events(types: &[&'static str]) -> Self {
        PayloadsOf {
            aggregate_types: Vec::new(),
            event_types: types.to_vec(),
        }
    }

    /// Whether `event`'s payload is read.
    pub fn wants(&self, event: &RecordedEvent) -> bool {
        self.aggregate_types
            .contains(&event.aggregate_type.as_str())
            || self.event_types.contains(&event.event_type.as_str())
    }
}

/// The columns and table every batch reads, with the payloads of `$4`
/// (aggregate types) and `$5` (event types) only when `$4` is not null; the
/// conditions follow.
macro_rules! batch_query {
    ($($condition:literal),*) => {
        concat!(
            "SELECT global_position, transaction_id, event_id, aggregate_type, aggregate_id,
                    sequence, event_type, event_version,
                    CASE WHEN $4::text[] IS NULL OR aggregate_type = ANY($4)
                              OR event_type = ANY($5::text[])
                         THEN payload::text ELSE '' END AS payload,
                    metadata::text AS metadata, recorded_at",
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
    read_batch_of(executor, after, limit, None).await
}

/// Like [`read_batch`], with only the payloads of `payloads` when given.
pub async fn read_batch_of<'e>(
    executor: impl PgExecutor<'e>,
    after: Checkpoint,
    limit: i64,
    payloads: Option<&PayloadsOf>,
) -> Result<Vec<RecordedEvent>, Error> {
    let events = sqlx::query_as::<_, RecordedEvent>(batch_query!())
        .bind(after.transaction_id)
        .bind(after.global_position)
        .bind(limit)
        .bind(payloads.map(|p| p.aggregate_types.clone()))
        .bind(payloads.map(|p| p.event_types.clone()))
        .fetch_all(executor)
        .await?;
    Ok(events)
}

/// Like [`read_batch`], but never past `until`: a reader that must stop exactly
/// where another one stands (a read model rebuilt beside the live one catches up
/// with the live projector's checkpoint, not with the head of the log). Events
/// at or before a checkpoint some reader reached are all committed, so the
/// answer is empty only once `until` is reached. Only the payloads of
/// `payloads`, when given.
pub async fn read_batch_until<'e>(
    executor: impl PgExecutor<'e>,
    after: Checkpoint,
    until: Checkpoint,
    limit: i64,
    payloads: Option<&PayloadsOf>,
) -> Result<Vec<RecordedEvent>, Error> {
    let events = sqlx::query_as::<_, RecordedEvent>(batch_query!(
        " AND (transaction_id, global_position) <= ($6, $7)"
    ))
    .bind(after.transaction_id)
    .bind(after.global_position)
    .bind(limit)
    .bind(payloads.map(|p| p.aggregate_types.clone()))
    .bind(payloads.map(|p| p.event_types.clone()))
    .bind(until.transaction_id)
    .bind(until.global_position)
    .fetch_all(executor)
    .await?;
    Ok(events)
}
