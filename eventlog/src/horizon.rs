//! Refusing to read a log whose transaction ids are ahead of the cluster's.
//!
//! The reader trusts that every new transaction gets an id above every id already
//! in the log. That holds in the cluster that wrote the log, but not after a dump is
//! restored into a new cluster, whose counter starts low: new events would sort
//! before old checkpoints and be skipped. So the runtime checks before it starts.

use sqlx::PgExecutor;

use super::TransactionId;
use crate::Error;

/// Fails with [`Error::ClusterBehindLog`] when the next transaction id of this
/// cluster is not above the largest `transaction_id` in the log.
pub async fn ensure_cluster_ahead_of_log<'e>(executor: impl PgExecutor<'e>) -> Result<(), Error> {
    let (next, log_max): (TransactionId, Option<TransactionId>) = sqlx::query_as(
        "SELECT pg_snapshot_xmax(pg_current_snapshot()),
                (SELECT transaction_id FROM events ORDER BY transaction_id DESC LIMIT 1)",
    )
    .fetch_one(executor)
    .await?;
    match log_max {
        Some(log_max) if log_max >= next => Err(Error::ClusterBehindLog {
            next_transaction_id: next.0,
            log_transaction_id: log_max.0,
        }),
        _ => Ok(()),
    }
}

/// How often [`wait_for_horizon`] looks again.
const HORIZON_POLL: std::time::Duration = std::time::Duration::from_millis(10);

/// Waits (up to `timeout`) until every transaction that was running when it was
/// called has ended, so that the gap-free reader sees everything committed before
/// the call. One-shot readers (an export, a digest "as of now") call it first:
/// any transaction anywhere in the cluster, even in another database, holds the
/// reader's horizon back while it runs. `false` when the timeout passed first;
/// the reader then sees the log as of the oldest transaction still open.
pub async fn wait_for_horizon(
    pool: &sqlx::PgPool,
    timeout: std::time::Duration,
) -> Result<bool, Error> {
    let started: TransactionId =
        sqlx::query_scalar("SELECT pg_snapshot_xmax(pg_current_snapshot())")
            .fetch_one(pool)
            .await?;
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let passed: bool =
            sqlx::query_scalar("SELECT pg_snapshot_xmin(pg_current_snapshot()) >= $1")
                .bind(started)
                .fetch_one(pool)
                .await?;
        if passed {
            return Ok(true);
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(HORIZON_POLL).await;
    }
}
