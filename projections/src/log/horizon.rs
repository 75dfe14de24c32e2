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
