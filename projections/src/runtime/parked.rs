//! Events that park-on-failure projectors set aside: listed for operators, retried
//! on request by the projector's active instance.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgExecutor, PgPool};
use uuid::Uuid;

use crate::Error;
use eventlog::RecordedEvent;

/// One parked event and why it was parked.
#[derive(Debug, Clone, PartialEq, Eq, FromRow, serde::Serialize)]
pub struct ParkedEvent {
    pub projector: String,
    pub global_position: i64,
    pub event_id: Uuid,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub error: String,
    pub attempts: i32,
    pub parked_at: DateTime<Utc>,
    pub last_attempt_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// Parked events, oldest first; all projectors when `projector` is `None`.
pub async fn list(
    pool: &PgPool,
    projector: Option<&str>,
    include_resolved: bool,
) -> Result<Vec<ParkedEvent>, Error> {
    let parked = sqlx::query_as::<_, ParkedEvent>(
        "SELECT projector, global_position, event_id, aggregate_type, aggregate_id, sequence,
                event_type, error, attempts, parked_at, last_attempt_at, resolved_at
           FROM parked_events
          WHERE ($1::text IS NULL OR projector = $1) AND ($2 OR resolved_at IS NULL)
          ORDER BY projector, global_position",
    )
    .bind(projector)
    .bind(include_resolved)
    .fetch_all(pool)
    .await?;
    Ok(parked)
}

pub(crate) async fn park<'e>(
    executor: impl PgExecutor<'e>,
    projector: &str,
    event: &RecordedEvent,
    error: &str,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO parked_events (projector, global_position, transaction_id, event_id,
                                    aggregate_type, aggregate_id, sequence, event_type, error)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (projector, global_position) DO UPDATE
            SET error = EXCLUDED.error, attempts = parked_events.attempts + 1,
                last_attempt_at = now(), resolved_at = NULL",
    )
    .bind(projector)
    .bind(event.global_position)
    .bind(event.transaction_id)
    .bind(event.event_id)
    .bind(&event.aggregate_type)
    .bind(&event.aggregate_id)
    .bind(event.sequence)
    .bind(&event.event_type)
    .bind(error)
    .execute(executor)
    .await?;
    Ok(())
}

/// The unresolved parked events of `projector`, as the log holds them.
pub(crate) async fn unresolved_events(
    pool: &PgPool,
    projector: &str,
) -> Result<Vec<RecordedEvent>, Error> {
    let events = sqlx::query_as::<_, RecordedEvent>(
        "SELECT e.global_position, e.transaction_id, e.event_id, e.aggregate_type,
                e.aggregate_id, e.sequence, e.event_type, e.event_version,
                e.payload::text AS payload, e.metadata::text AS metadata, e.recorded_at
           FROM parked_events p
           JOIN events e ON e.global_position = p.global_position
          WHERE p.projector = $1 AND p.resolved_at IS NULL
          ORDER BY p.global_position",
    )
    .bind(projector)
    .fetch_all(pool)
    .await?;
    let mut events = events;
    eventlog::personal::unseal(pool, &mut events)
        .await
        .map_err(eventlog::Error::from)?;
    Ok(events)
}

/// Marks a parked event resolved, if no one else has: `false` when it already was.
/// Inside the transaction that applies it, this is the claim that keeps two
/// instances from applying it twice.
pub(crate) async fn claim<'e>(
    executor: impl PgExecutor<'e>,
    projector: &str,
    global_position: i64,
) -> Result<bool, Error> {
    let claimed = sqlx::query(
        "UPDATE parked_events SET resolved_at = now(), last_attempt_at = now(),
                attempts = attempts + 1
          WHERE projector = $1 AND global_position = $2 AND resolved_at IS NULL",
    )
    .bind(projector)
    .bind(global_position)
    .execute(executor)
    .await?;
    Ok(claimed.rows_affected() == 1)
}
