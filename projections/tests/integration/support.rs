//! Appending events as any writer would, and waiting for conditions.

use std::future::Future;
use std::time::{Duration, Instant};

use sqlx::PgExecutor;

/// Appends one event with plain SQL (the seven columns postgres-es writes) and
/// returns its global position.
pub async fn append<'e>(
    executor: impl PgExecutor<'e>,
    aggregate_type: &str,
    aggregate_id: &str,
    sequence: i64,
    event_type: &str,
) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         VALUES ($1, $2, $3, $4, '1.0', $5, $6)
         RETURNING global_position",
    )
    .bind(aggregate_type)
    .bind(aggregate_id)
    .bind(sequence)
    .bind(event_type)
    .bind(serde_json::json!({ "n": sequence, "id": aggregate_id }))
    .bind(serde_json::json!({ "actor": "tester", "actor_role": "admin", "correlation_id": aggregate_id }))
    .fetch_one(executor)
    .await
    .expect("append an event")
}

/// Appends `count` events to one stream, each in its own transaction.
pub async fn append_stream(
    pool: &sqlx::PgPool,
    aggregate_type: &str,
    aggregate_id: &str,
    count: i64,
) {
    for sequence in 1..=count {
        append(pool, aggregate_type, aggregate_id, sequence, "Happened").await;
    }
}

/// Polls `condition` until it holds; panics with `what` after `timeout`.
pub async fn wait_until<F, Fut>(timeout: Duration, what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !condition().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
