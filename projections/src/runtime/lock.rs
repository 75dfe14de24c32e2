//! One active instance per projector name, across processes and machines.
//!
//! The active instance holds a session-level advisory lock on a connection of its
//! own; if its process dies the connection closes and PostgreSQL releases the lock,
//! and a standby that keeps trying takes over.

use std::time::Duration;

use sqlx::{Connection, PgConnection, PgPool};
use tokio_util::sync::CancellationToken;

use crate::Error;

pub(crate) struct ProjectorLock {
    connection: PgConnection,
    projector: String,
}

/// The longest a call on the lock's connection may take before it counts as lost.
const LOCK_CALL_TIMEOUT: Duration = Duration::from_secs(5);

fn lock_key(projector: &str) -> String {
    format!("commerce.projector:{projector}")
}

/// Waits until this process holds the projector's lock (`Some`) or `cancel` fires
/// (`None`), trying again every `retry`.
pub(crate) async fn acquire(
    pool: &PgPool,
    projector: &str,
    retry: Duration,
    cancel: &CancellationToken,
) -> Result<Option<ProjectorLock>, Error> {
    // Server-side keepalives: if this machine vanishes, PostgreSQL notices within
    // about a minute and releases the lock to a standby (the kernel's default
    // would take two hours).
    let options = (*pool.connect_options()).clone().options([
        ("tcp_keepalives_idle", "30"),
        ("tcp_keepalives_interval", "10"),
        ("tcp_keepalives_count", "3"),
    ]);
    let mut connection = PgConnection::connect_with(&options).await?;
    loop {
        let acquired: bool =
            sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtextextended($1, 0))")
                .bind(lock_key(projector))
                .fetch_one(&mut connection)
                .await?;
        if acquired {
            return Ok(Some(ProjectorLock {
                connection,
                projector: projector.to_owned(),
            }));
        }
        tokio::select! {
            _ = cancel.cancelled() => {
                let _ = connection.close().await;
                return Ok(None);
            }
            _ = tokio::time::sleep(retry) => {}
        }
    }
}

impl ProjectorLock {
    /// Fails when the lock's connection is gone, and with it the lock.
    pub(crate) async fn check(&mut self) -> Result<(), Error> {
        match tokio::time::timeout(LOCK_CALL_TIMEOUT, self.connection.ping()).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(Error::LockLost(self.projector.clone())),
        }
    }

    pub(crate) async fn release(mut self) {
        let released = tokio::time::timeout(
            LOCK_CALL_TIMEOUT,
            sqlx::query("SELECT pg_advisory_unlock(hashtextextended($1, 0))")
                .bind(lock_key(&self.projector))
                .execute(&mut self.connection),
        )
        .await;
        match released {
            Ok(Ok(_)) => {
                let _ = tokio::time::timeout(LOCK_CALL_TIMEOUT, self.connection.close()).await;
            }
            // Dropping the connection closes it, and the server releases the lock.
            _ => {
                tracing::warn!(projector = %self.projector, "could not release the advisory lock; dropping its connection")
            }
        }
    }
}
