//! How far behind the head of the log each projector is, for health and metrics.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgExecutor};

use crate::Error;
use eventlog::TransactionId;

/// One projector's standing, as its checkpoint row and the log tell it.
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize)]
pub struct ProjectorLag {
    pub projector: String,
    #[serde(serialize_with = "as_u64")]
    pub transaction_id: TransactionId,
    pub global_position: i64,
    pub head_position: i64,
    /// How many positions the head is ahead of the last applied event; 0 when
    /// nothing committed is left to apply.
    pub positions_behind: i64,
    /// Age of the oldest committed event not yet applied; 0 when caught up.
    pub seconds_behind: f64,
    pub events_applied: i64,
    pub failed_at: Option<DateTime<Utc>>,
    pub failure: Option<String>,
    pub updated_at: DateTime<Utc>,
}

fn as_u64<S: serde::Serializer>(id: &TransactionId, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(id.0)
}

/// Every projector's lag, in name order.
pub async fn projector_lags<'e>(executor: impl PgExecutor<'e>) -> Result<Vec<ProjectorLag>, Error> {
    let lags = sqlx::query_as::<_, ProjectorLag>(
        "SELECT c.projector, c.transaction_id, c.global_position, head.position AS head_position,
                CASE WHEN next.recorded_at IS NULL THEN 0
                     ELSE greatest(head.position - c.global_position, 1) END AS positions_behind,
                coalesce(extract(epoch FROM now() - next.recorded_at)::float8, 0) AS seconds_behind,
                c.events_applied, c.failed_at, c.failure, c.updated_at
           FROM projector_checkpoints c
          CROSS JOIN (SELECT coalesce(max(global_position), 0) AS position FROM events) head
           LEFT JOIN LATERAL (
                SELECT e.recorded_at FROM events e
                 WHERE (e.transaction_id, e.global_position) > (c.transaction_id, c.global_position)
                 ORDER BY e.transaction_id, e.global_position
                 LIMIT 1) next ON true
          ORDER BY c.projector",
    )
    .fetch_all(executor)
    .await?;
    Ok(lags)
}
