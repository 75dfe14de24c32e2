//! The one error type of the query side.

use eventlog::Checkpoint;

/// What can go wrong while reading the log or running a projector.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),

    /// Reading or decoding the log failed (a lost connection, a payload of the
    /// wrong shape, a cluster behind the log).
    #[error(transparent)]
    Log(#[from] eventlog::Error),

    /// A projection or sink refused an event for a reason of its own.
    #[error("{0}")]
    Rejected(String),

    /// A side-effect sink's downstream system failed; worth retrying later.
    #[error("sink unavailable: {0}")]
    SinkUnavailable(String),

    /// The same, with the downstream system's own error as the cause.
    #[error("sink unavailable: {source}")]
    Downstream {
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

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

    /// The search index is not what it should be (a commit without its
    /// position, a document without its state).
    #[error("search index: {0}")]
    SearchIndex(String),

    /// The search index could not be read or written (a full disk, a corrupt
    /// segment, a directory it may not use).
    #[error("search index: {context}: {source}")]
    SearchStorage {
        context: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// tantivy failed.
    #[error("search index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),

    /// Redis failed; `transient` when trying again later may succeed (a lost
    /// connection) rather than never (a script error).
    #[error("redis: {source}")]
    Redis {
        transient: bool,
        #[source]
        source: redis::RedisError,
    },

    /// Kafka failed; `transient` as for Redis.
    #[error("{context}: {source}")]
    Kafka {
        context: String,
        transient: bool,
        #[source]
        source: rdkafka::error::KafkaError,
    },

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

impl Error {
    /// Whether the same work may succeed when simply tried again later: lost
    /// connections, timeouts of the pool, a server shutting down, serialization
    /// failures. Everything else is about the event itself.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Database(e) => eventlog::is_transient_database_error(e),
            Error::Log(e) => e.is_transient(),
            Error::SinkUnavailable(_)
            | Error::Downstream { .. }
            | Error::CheckpointMoved { .. }
            | Error::LockLost(_) => true,
            Error::Redis { transient, .. } | Error::Kafka { transient, .. } => *transient,
            _ => false,
        }
    }

    /// Whether a statement ran past its timeout: the batch was too large.
    pub fn is_statement_timeout(&self) -> bool {
        matches!(self, Error::Database(sqlx::Error::Database(db))
            if db.code().as_deref() == Some("57014"))
    }
}
