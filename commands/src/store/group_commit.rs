//! Group commit: the appends of concurrent commands (other aggregates, other
//! requests) gathered into one call of `append_commands`, one round trip and one
//! commit for up to [`MAX_GROUP`] commands, each still all or nothing. While a
//! group is in flight the next one gathers, so under load groups grow by
//! themselves and an idle system pays no added wait.

use std::sync::Arc;

use eventlog::{Checkpoint, TransactionId};
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::error::StoreError;

/// Commands per group: each is a subtransaction, and a backend keeps 64 of those
/// in its cache before every snapshot in the cluster slows down.
pub const MAX_GROUP: usize = 32;
/// Groups in flight at once (connections the appender holds).
const IN_FLIGHT: usize = 4;

/// One command's events, ready to insert.
pub struct Append {
    pub aggregate_type: &'static str,
    pub aggregate_id: String,
    pub metadata: String,
    pub sequences: Vec<i64>,
    pub types: Vec<String>,
    pub versions: Vec<String>,
    pub payloads: Vec<String>,
}

/// `Ok(None)`: the command lost its race; nothing of it was stored.
type Reply = oneshot::Sender<Result<Option<Checkpoint>, StoreError>>;

struct PendingAppend {
    append: Append,
    reply: Reply,
}

/// The handle the stores send their appends to; one per pool.
#[derive(Clone)]
pub struct GroupCommit {
    queue: mpsc::UnboundedSender<PendingAppend>,
}

impl GroupCommit {
    /// Starts the appender task on the current runtime.
    pub fn start(pool: PgPool) -> Self {
        let (queue, pending) = mpsc::unbounded_channel();
        tokio::spawn(run(pool, pending));
        GroupCommit { queue }
    }

    /// Appends one command's events; `None` when the command lost its race.
    pub async fn append(&self, append: Append) -> Result<Option<Checkpoint>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(PendingAppend { append, reply })
            .map_err(|_| StoreError::Database(sqlx::Error::PoolClosed))?;
        answer
            .await
            .map_err(|_| StoreError::Database(sqlx::Error::PoolClosed))?
    }
}

async fn run(pool: PgPool, mut pending: mpsc::UnboundedReceiver<PendingAppend>) {
    let permits = Arc::new(Semaphore::new(IN_FLIGHT));
    while let Some(first) = pending.recv().await {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        // Whatever arrived while waiting for a permit joins this group.
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match pending.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        let pool = pool.clone();
        tokio::spawn(async move {
            flush(&pool, group).await;
            drop(permit);
        });
    }
}

async fn flush(pool: &PgPool, group: Vec<PendingAppend>) {
    let mut types = Vec::with_capacity(group.len());
    let mut ids = Vec::with_capacity(group.len());
    let mut metadata = Vec::with_capacity(group.len());
    let mut counts = Vec::with_capacity(group.len());
    let (mut sequences, mut event_types, mut versions, mut payloads) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut replies = Vec::with_capacity(group.len());
    for PendingAppend { append, reply } in group {
        types.push(append.aggregate_type);
        ids.push(append.aggregate_id);
        metadata.push(append.metadata);
        counts.push(append.sequences.len() as i32);
        sequences.extend(append.sequences);
        event_types.extend(append.types);
        versions.extend(append.versions);
        payloads.extend(append.payloads);
        replies.push(Some(reply));
    }
    let stored = sqlx::query_as::<_, (i32, TransactionId, i64)>(
        "SELECT command, transaction_id, global_position
           FROM append_commands($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&types)
    .bind(&ids)
    .bind(&metadata)
    .bind(&counts)
    .bind(&sequences)
    .bind(&event_types)
    .bind(&versions)
    .bind(&payloads)
    .fetch_all(pool)
    .await;
    match stored {
        Ok(rows) => {
            for (command, transaction_id, global_position) in rows {
                let index = usize::try_from(command - 1).unwrap_or(usize::MAX);
                if let Some(reply) = replies.get_mut(index).and_then(Option::take) {
                    let _ = reply.send(Ok(Some(Checkpoint {
                        transaction_id,
                        global_position,
                    })));
                }
            }
            // Every command not in the result lost its race.
            for reply in replies.into_iter().flatten() {
                let _ = reply.send(Ok(None));
            }
        }
        Err(error) => {
            let error = Arc::new(error);
            for reply in replies.into_iter().flatten() {
                let _ = reply.send(Err(StoreError::Group(error.clone())));
            }
        }
    }
}
