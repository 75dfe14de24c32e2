//! The one error type of the event log: reading it, decoding it, checking it.

/// What can go wrong while reading or checking the log.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),

    /// A stored payload that is not the shape its event type and version say (an
    /// event written by code that no longer exists, or altered).
    #[error("cannot decode {event_type} at position {global_position}: {source}")]
    Decode {
        global_position: i64,
        event_type: String,
        #[source]
        source: serde_json::Error,
    },

    /// A sealed personal field that cannot be opened, or keys that are not there.
    #[error(transparent)]
    Personal(#[from] crate::personal::PersonalDataError),

    /// A state folded from a stream that cannot be shown as JSON.
    #[error("cannot show the state of {aggregate_type}: {source}")]
    State {
        aggregate_type: &'static str,
        #[source]
        source: serde_json::Error,
    },

    /// A filter value the database cannot take as a parameter.
    #[error("cannot encode a log filter: {0}")]
    Filter(#[source] sqlx::error::BoxDynError),

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
}

impl Error {
    /// Whether the same reading may succeed when simply tried again later.
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Database(e) if is_transient_database_error(e))
    }
}

/// Whether a database error is about the connection or the server's state rather
/// than the statement: lost connections, timeouts of the pool, a server shutting
/// down, serialization failures. Readers retry these; the API answers them 503.
pub fn is_transient_database_error(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // 08: connection exception; 53: insufficient resources; 57P0x: server
            // shutting down or unreachable (57P01: the backend was terminated);
            // 40001/40P01: serialization/deadlock; 55P03: lock not available;
            // 57014: statement timeout, which a batch of one event meets when it
            // waits on a lock (a read model's swap, a long migration), not
            // because of the event: a batch of several is shrunk first (see the
            // projector runner).
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
