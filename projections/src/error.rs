//! The one error type of the query side.

use crate::log::Checkpoint;

/// What can go wrong while reading the log or running a projector.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),

    /// An event a projection cannot make sense of (a payload of the wrong shape).
    #[error("cannot decode {event_type} at position {global_position}: {reason}")]
    Decode {
        global_position: i64,
        event_type: String,
        reason: String,
    },

    /// A projection or sink refused an event for a reason of its own.
    #[error("{0}")]
    Rejected(String),

    /// A side-effect sink's downstream system failed; worth retrying later.
    #[error("sink unavailable: {0}")]
    SinkUnavailable(String),

    /// A projector stopped on an event it could not handle: never skipped silently.
    #[error("projector {projector} stopped at position {global_position} ({event_type}, event {event_id}): {reason}")]
    ProjectorStopped {
        projector: String,
        global_position: i64,
        event_type: String,
        event_id: uuid::Uuid,
        reason: String,
    },

    /// Another process moved this projector's checkpoint: it is no longer ours.
    #[error("projector {projector}: checkpoint moved by another process (expected {expected})")]
    CheckpointMoved {
        projector: String,
        expected: Checkpoint,
    },

    /// The connection holding the projector's advisory lock is gone.
    #[error("projector {0}: lost its advisory lock connection")]
    LockLost(String),

    /// The cluster hands out transaction ids below ones already in the log: it was
    /// restored from a dump into a new cluster. Reading on would skip events.
    #[error(
        "this PostgreSQL cluster's next transaction id ({next_transaction_id}) is not above the \
         largest transaction_id in the event log ({log_transaction_id}); the database was \
         probably restored into a new cluster. Reading on would skip events, so nothing starts. \
         Advance the cluster's transaction id epoch past the log's (see docs/operations.md, \
         \"Restoring the event store\") and start again."
    )]
    ClusterBehindLog {
        next_transaction_id: u64,
        log_transaction_id: u64,
    },

    /// The search index could not be read or written (a full disk, a corrupt
    /// segment, a directory it may not use).
    #[error("search index: {0}")]
    SearchIndex(String),

    /// A search the caller wrote that cannot be run (unbalanced quotes, a lone
    /// `-`): the caller's mistake, a 400 for the API.
    #[error("invalid search: {0}")]
    InvalidSearch(String),

    #[error("unknown projector {0}")]
    UnknownProjector(String),

    /// A list's `cursor` that no page of this list handed out (garbled, truncated,
    /// or from another list): the caller's mistake, a 400 for the API.
    #[error("invalid cursor: {0}")]
    InvalidCursor(String),
}

impl From<tantivy::TantivyError> for Error {
    fn from(error: tantivy::TantivyError) -> Self {
        Error::SearchIndex(error.to_string())
    }
}

impl Error {
    /// Whether the same work may succeed when simply tried again later: lost
    /// connections, timeouts of the pool, a server shutting down, serialization
    /// failures. Everything else is about the event itself.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Database(e) => is_transient_sqlx(e),
            Error::SinkUnavailable(_) | Error::CheckpointMoved { .. } | Error::LockLost(_) => true,
            _ => false,
        }
    }

    /// Whether a statement ran past its timeout: the batch was too large.
    pub fn is_statement_timeout(&self) -> bool {
        matches!(self, Error::Database(sqlx::Error::Database(db))
            if db.code().as_deref() == Some("57014"))
    }
}

fn is_transient_sqlx(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // 08: connection exception; 53: insufficient resources; 57P0x: server
            // shutting down or unreachable; 40001/40P01: serialization/deadlock;
            // 55P03: lock not available; 57014: statement timeout, which a batch
            // of one event meets when it waits on a lock (a read model's swap, a
            // long migration), not because of the event: a batch of several is
            // shrunk first (see the runner).
            code.starts_with("08")
                || code.starts_with("53")
                || code.starts_with("57P0")
                || code == "40001"
                || code == "40P01"
                || code == "55P03"
                || code == "57014"
        }),
        _ => false,
    }
}
