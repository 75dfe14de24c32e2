//! Snapshots of long streams in postgres-es's `snapshots` table: the aggregate's
//! state as of `last_sequence`, so loading reads it and the events after it.

use cqrs_es::Aggregate;
use sqlx::PgPool;

use super::Loaded;
use crate::error::StoreError;

/// The newest snapshot whose shape still matches the code. An older shape is
/// ignored (the stream is replayed) and replaced by the next snapshot.
pub async fn latest<A: Aggregate>(
    pool: &PgPool,
    aggregate_id: &str,
) -> Result<Option<Loaded<A>>, StoreError> {
    let row: Option<(i64, String)> = sqlx::query_as(
        "SELECT last_sequence, payload::text FROM snapshots
          WHERE aggregate_type = $1 AND aggregate_id = $2
          ORDER BY last_sequence DESC LIMIT 1",
    )
    .bind(A::TYPE)
    .bind(aggregate_id)
    .fetch_optional(pool)
    .await?;
    Ok(row.and_then(|(last_sequence, payload)| {
        let aggregate = serde_json::from_str::<A>(&payload).ok()?;
        Some(Loaded {
            aggregate,
            version: u64::try_from(last_sequence).ok()?,
            head: None,
        })
    }))
}

/// Writes a snapshot and drops the older ones of the stream. Best effort: a
/// failure costs only a longer load later, never the command that triggered it.
pub async fn write<A: Aggregate>(pool: &PgPool, aggregate_id: &str, loaded: &Loaded<A>) {
    let outcome = async {
        let payload = serde_json::to_string(&loaded.aggregate)?;
        let version = i64::try_from(loaded.version).map_err(|_| StoreError::SequenceOverflow)?;
        sqlx::query(
            "WITH dropped AS (
                 DELETE FROM snapshots
                  WHERE aggregate_type = $1 AND aggregate_id = $2 AND last_sequence < $3)
             INSERT INTO snapshots (aggregate_type, aggregate_id, last_sequence, current_snapshot, payload)
             VALUES ($1, $2, $3, $3, $4::json)
             ON CONFLICT DO NOTHING",
        )
        .bind(A::TYPE)
        .bind(aggregate_id)
        .bind(version)
        .bind(payload)
        .execute(pool)
        .await?;
        Ok::<(), StoreError>(())
    }
    .await;
    if let Err(error) = outcome {
        tracing::warn!(aggregate_type = A::TYPE, aggregate_id, %error, "failed to write a snapshot");
    }
}
