//! The `projector_checkpoints` rows: where each projector stands, and the requests
//! (rebuild, retry parked events) other processes leave for the active instance.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor, PgPool};

use crate::Error;
use eventlog::{Checkpoint, TransactionId, EVENTS_CHANNEL};

/// A checkpoint row as the runner needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CheckpointState {
    pub checkpoint: Checkpoint,
    pub requests: Requests,
}

/// What other processes asked the active instance to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Requests {
    pub rebuild: bool,
    pub retry_parked: bool,
}

pub(crate) async fn ensure_row(pool: &PgPool, projector: &str) -> Result<(), Error> {
    sqlx::query("INSERT INTO projector_checkpoints (projector) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(projector)
        .execute(pool)
        .await?;
    Ok(())
}

pub(crate) async fn load(pool: &PgPool, projector: &str) -> Result<CheckpointState, Error> {
    let (transaction_id, global_position, rebuild, retry_parked): (TransactionId, i64, bool, bool) =
        sqlx::query_as(
            "SELECT transaction_id, global_position, rebuild_requested, retry_parked_requested
               FROM projector_checkpoints WHERE projector = $1",
        )
        .bind(projector)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::UnknownProjector(projector.to_owned()))?;
    Ok(CheckpointState {
        checkpoint: Checkpoint {
            transaction_id,
            global_position,
        },
        requests: Requests {
            rebuild,
            retry_parked,
        },
    })
}

/// Where `projector` stands, its row locked until `tx` ends: its runner cannot
/// move it meanwhile, since every batch it applies ends by updating the row.
pub(crate) async fn lock_position(
    tx: &mut PgConnection,
    projector: &str,
) -> Result<Checkpoint, Error> {
    let (transaction_id, global_position): (TransactionId, i64) = sqlx::query_as(
        "SELECT transaction_id, global_position FROM projector_checkpoints
          WHERE projector = $1 FOR UPDATE",
    )
    .bind(projector)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| Error::UnknownProjector(projector.to_owned()))?;
    Ok(Checkpoint {
        transaction_id,
        global_position,
    })
}

/// Moves the checkpoint from `expected` to `to`, only if it still stands at
/// `expected`: a second instance that somehow runs cannot apply a batch twice.
pub(crate) async fn advance<'e>(
    executor: impl PgExecutor<'e>,
    projector: &str,
    expected: Checkpoint,
    to: Checkpoint,
    events: usize,
    last_recorded_at: DateTime<Utc>,
) -> Result<Requests, Error> {
    let requests: Option<(bool, bool)> = sqlx::query_as(
        "UPDATE projector_checkpoints
            SET transaction_id = $4, global_position = $5,
                events_applied = events_applied + $6, last_recorded_at = $7,
                failed_at = NULL, failure = NULL, updated_at = now()
          WHERE projector = $1 AND transaction_id = $2 AND global_position = $3
      RETURNING rebuild_requested, retry_parked_requested",
    )
    .bind(projector)
    .bind(expected.transaction_id)
    .bind(expected.global_position)
    .bind(to.transaction_id)
    .bind(to.global_position)
    .bind(events as i64)
    .bind(last_recorded_at)
    .fetch_optional(executor)
    .await?;
    match requests {
        Some((rebuild, retry_parked)) => Ok(Requests {
            rebuild,
            retry_parked,
        }),
        None => Err(Error::CheckpointMoved {
            projector: projector.to_owned(),
            expected,
        }),
    }
}

/// Sets the checkpoint to where a sink that keeps its own position stands: its
/// position is the truth, and the row follows it (see
/// [`SideEffectSink::position`](super::SideEffectSink::position)).
pub(crate) async fn follow_sink(
    pool: &PgPool,
    projector: &str,
    to: Checkpoint,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE projector_checkpoints
            SET transaction_id = $2, global_position = $3, updated_at = now()
          WHERE projector = $1",
    )
    .bind(projector)
    .bind(to.transaction_id)
    .bind(to.global_position)
    .execute(pool)
    .await?;
    Ok(())
}

/// Back to the start of the log, answering a rebuild request. Parked events are
/// set aside as resolved: the replay meets them again, and parks them again if
/// they still fail; retrying the old rows would apply them twice.
pub(crate) async fn restart(tx: &mut PgConnection, projector: &str) -> Result<(), Error> {
    sqlx::query(
        "UPDATE projector_checkpoints
            SET transaction_id = '0', global_position = 0, events_applied = 0,
                last_recorded_at = NULL, rebuild_requested = false,
                failed_at = NULL, failure = NULL, updated_at = now()
          WHERE projector = $1",
    )
    .bind(projector)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE parked_events SET resolved_at = now()
          WHERE projector = $1 AND resolved_at IS NULL",
    )
    .bind(projector)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

pub(crate) async fn clear_retry_request(pool: &PgPool, projector: &str) -> Result<(), Error> {
    sqlx::query(
        "UPDATE projector_checkpoints SET retry_parked_requested = false WHERE projector = $1",
    )
    .bind(projector)
    .execute(pool)
    .await?;
    Ok(())
}

/// Leaves the reason a projector stopped where health checks and operators see it.
pub(crate) async fn record_failure(
    pool: &PgPool,
    projector: &str,
    failure: &str,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE projector_checkpoints SET failed_at = now(), failure = $2, updated_at = now()
          WHERE projector = $1",
    )
    .bind(projector)
    .bind(failure)
    .execute(pool)
    .await?;
    Ok(())
}

/// Asks the active instance of `projector`, wherever it runs, to empty its read
/// model and apply the log again from the first event.
pub async fn request_rebuild(pool: &PgPool, projector: &str) -> Result<(), Error> {
    request(pool, projector, "rebuild_requested").await
}

/// Asks the active instance of `projector` to retry its unresolved parked events.
pub async fn request_parked_retry(pool: &PgPool, projector: &str) -> Result<(), Error> {
    request(pool, projector, "retry_parked_requested").await
}

async fn request(pool: &PgPool, projector: &str, flag: &'static str) -> Result<(), Error> {
    let updated = sqlx::query(&format!(
        "UPDATE projector_checkpoints SET {flag} = true, updated_at = now() WHERE projector = $1"
    ))
    .bind(projector)
    .execute(pool)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(Error::UnknownProjector(projector.to_owned()));
    }
    // Wakes an idle instance now rather than at its next poll.
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(EVENTS_CHANNEL)
        .execute(pool)
        .await?;
    Ok(())
}

/// Waits until `projector`'s checkpoint has reached `token`, polling it, at most
/// `bound`: how a reader sees its own writes. `false` when the bound passed first.
pub async fn wait_for_checkpoint(
    pool: &PgPool,
    projector: &str,
    token: Checkpoint,
    bound: std::time::Duration,
) -> Result<bool, Error> {
    let deadline = tokio::time::Instant::now() + bound;
    let mut pause = std::time::Duration::from_millis(2);
    loop {
        let reached: Option<(TransactionId, i64)> = sqlx::query_as(
            "SELECT transaction_id, global_position FROM projector_checkpoints WHERE projector = $1",
        )
        .bind(projector)
        .fetch_optional(pool)
        .await?;
        let reached = reached.map(|(transaction_id, global_position)| Checkpoint {
            transaction_id,
            global_position,
        });
        if reached.is_some_and(|checkpoint| checkpoint >= token) {
            return Ok(true);
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(pause.min(deadline - now)).await;
        pause = (pause * 2).min(std::time::Duration::from_millis(25));
    }
}
