//! The command side's errors: the aggregate's refusal, a lost race, or storage.

use std::fmt;

/// Why the store could not load or append.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another writer appended to the stream first.
    #[error("the aggregate changed while the command ran")]
    Conflict,
    #[error("stored event {aggregate_type}/{aggregate_id}#{sequence} cannot be read: {source}")]
    Corrupt {
        aggregate_type: &'static str,
        aggregate_id: String,
        sequence: u64,
        #[source]
        source: serde_json::Error,
    },
    #[error("the stream is too long")]
    SequenceOverflow,
    #[error("failed to serialize: {0}")]
    Serialize(#[from] serde_json::Error),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Personal data that cannot be sealed (no key installed, a subject already
    /// erased) or opened.
    #[error(transparent)]
    PersonalData(#[from] eventlog::personal::PersonalDataError),
    /// The group this command's append went in failed as a whole.
    #[error("database error: {0}")]
    Group(std::sync::Arc<sqlx::Error>),
}

impl StoreError {
    /// A failed insert: a duplicate key on the stream's primary key is a lost race.
    pub(crate) fn from_insert(error: sqlx::Error) -> Self {
        let lost_race = error
            .as_database_error()
            .is_some_and(|e| e.is_unique_violation() && e.constraint() == Some("events_pkey"));
        if lost_race {
            StoreError::Conflict
        } else {
            StoreError::Database(error)
        }
    }
}

/// Why a command was not carried out.
#[derive(Debug, thiserror::Error)]
pub enum CommandError<E: fmt::Debug + fmt::Display> {
    /// The aggregate refused: a business rule.
    #[error("{0}")]
    Refused(E),
    /// `If-Match` named another version than the aggregate's.
    #[error("the aggregate is at version {actual}, not {expected}")]
    VersionMismatch { expected: u64, actual: u64 },
    /// Other writers kept winning the race, through every retry.
    #[error("the aggregate kept changing while the command ran; retry")]
    Contended,
    #[error(transparent)]
    Store(StoreError),
}

impl<E: fmt::Debug + fmt::Display> From<StoreError> for CommandError<E> {
    fn from(error: StoreError) -> Self {
        CommandError::Store(error)
    }
}

impl<E: fmt::Debug + fmt::Display> From<sqlx::Error> for CommandError<E> {
    fn from(error: sqlx::Error) -> Self {
        CommandError::Store(StoreError::Database(error))
    }
}
