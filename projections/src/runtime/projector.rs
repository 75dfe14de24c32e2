//! What a projector is: a named consumer of the log that either writes PostgreSQL
//! read models (exactly once) or causes side effects elsewhere (at least once).

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::PgConnection;

use crate::Error;
use eventlog::{Checkpoint, PayloadsOf, RecordedEvent};

/// A read model in PostgreSQL. The runtime calls [`apply`](Self::apply) inside the
/// transaction that also moves the projector's checkpoint, so each event takes
/// effect exactly once, even across crashes.
#[async_trait]
pub trait PostgresProjection: Send + Sync {
    /// The projector's name: its checkpoint row and advisory lock. Never rename a
    /// projector that has run: it would start again from zero under the new name.
    fn name(&self) -> &str;

    /// Applies `events`, in log order. Prefer one statement for the whole batch to a
    /// statement per event: the transaction holds back every reader while it runs.
    async fn apply(&self, tx: &mut PgConnection, events: &[RecordedEvent]) -> Result<(), Error>;

    /// The events whose payloads this projection reads; the others reach it
    /// with an empty payload. `None`: every payload.
    fn payloads(&self) -> Option<PayloadsOf> {
        None
    }

    /// Empties the read model, in the transaction that moves the checkpoint back
    /// to the start of the log.
    async fn reset(&self, tx: &mut PgConnection) -> Result<(), Error>;

    /// The tables this projection writes: what a rebuild beside the live read
    /// model copies, fills and swaps in. Empty for a projection that cannot say.
    fn tables(&self) -> Vec<String> {
        Vec::new()
    }

    /// This projection writing to `shadow(table)` instead of each of its
    /// [`tables`](Self::tables), under the same name: a rebuild fills those
    /// tables while the live projector keeps serving the live ones (see
    /// [`rebuild_beside`](super::rebuild_beside)). `None`: it cannot be rebuilt
    /// beside, only from zero in place.
    fn writing_to(&self, shadow: &dyn Fn(&str) -> String) -> Option<Arc<dyn PostgresProjection>> {
        let _ = shadow;
        None
    }
}

/// A sink outside PostgreSQL (Redis, a search index, Kafka). Delivery is at least
/// once: after a crash a batch may be delivered again, so delivering an event twice
/// must do no harm (store positions beside values, key messages by event id).
#[async_trait]
pub trait SideEffectSink: Send + Sync {
    fn name(&self) -> &str;

    async fn deliver(&self, events: &[RecordedEvent]) -> Result<(), Error>;

    /// The events whose payloads this sink reads; the others reach it with an
    /// empty payload. `None`: every payload.
    fn payloads(&self) -> Option<PayloadsOf> {
        None
    }

    /// Forgets everything delivered, before the log is delivered again from zero.
    async fn reset(&self) -> Result<(), Error>;

    /// Where the sink itself says it stands, for a sink that records its position
    /// atomically with its effects (the search index keeps it in its commit). When
    /// `Some`, the runtime starts from it rather than from its checkpoint row, and
    /// sets the row to it: after a crash between the sink's commit and the row's
    /// update, the two agree again and nothing is applied twice or skipped.
    async fn position(&self) -> Result<Option<Checkpoint>, Error> {
        Ok(None)
    }
}

/// Either kind, as the runtime drives it.
#[derive(Clone)]
pub enum Projector {
    Postgres(Arc<dyn PostgresProjection>),
    SideEffect(Arc<dyn SideEffectSink>),
}

impl Projector {
    pub fn name(&self) -> &str {
        match self {
            Projector::Postgres(projection) => projection.name(),
            Projector::SideEffect(sink) => sink.name(),
        }
    }

    pub fn payloads(&self) -> Option<PayloadsOf> {
        match self {
            Projector::Postgres(projection) => projection.payloads(),
            Projector::SideEffect(sink) => sink.payloads(),
        }
    }
}

/// What happens when the projector fails on an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// Stop the projector with an error naming the event. The default: a read model
    /// that silently missed an event would be wrong without anyone knowing.
    Stop,
    /// Set the event aside in `parked_events` with the error and go on; for
    /// side-effect sinks where one poisoned message must not stop the others.
    Park,
}
