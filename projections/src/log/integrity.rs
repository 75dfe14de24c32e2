//! Checking the per-stream hash chain, independently of the trigger that wrote it.
//!
//! The insert trigger sets `hash = sha256(previous hash ‖ canonical content)`. This
//! module recomputes it in Rust from the stored columns, so a verifier does not have
//! to trust the database's own functions. Each event is checked against the stored
//! hash of its predecessor: an altered event is named itself, not everything after
//! it. A removed event shows as a sequence gap.

use futures::TryStreamExt;
use sha2::{Digest, Sha256};
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use crate::log::RecordedEvent;
use crate::Error;

/// The hash the first event of every stream chains from.
pub const GENESIS_HASH: [u8; 32] = [0; 32];

/// An event with its stored hash.
#[derive(Debug, Clone, FromRow)]
pub struct HashedEvent {
    #[sqlx(flatten)]
    pub event: RecordedEvent,
    pub hash: Vec<u8>,
}

impl HashedEvent {
    /// sha256(previous ‖ canonical content), as the insert trigger computes it.
    pub fn expected_hash(&self, previous: &[u8]) -> [u8; 32] {
        let event = &self.event;
        let mut hasher = Sha256::new();
        hasher.update(previous);
        let text = |hasher: &mut Sha256, value: &str| {
            // Lengths above 4 GiB cannot occur: PostgreSQL caps a field at 1 GiB.
            hasher.update((value.len() as u32).to_be_bytes());
            hasher.update(value.as_bytes());
        };
        text(&mut hasher, &event.aggregate_type);
        text(&mut hasher, &event.aggregate_id);
        hasher.update(event.sequence.to_be_bytes());
        text(&mut hasher, &event.event_type);
        text(&mut hasher, &event.event_version);
        text(&mut hasher, &event.payload);
        text(&mut hasher, &event.metadata);
        hasher.update(event.event_id.as_bytes());
        hasher.update(event.global_position.to_be_bytes());
        hasher.update(event.recorded_at.timestamp_micros().to_be_bytes());
        hasher.finalize().into()
    }
}

/// Which streams to check; `None` means all.
#[derive(Debug, Clone, Default)]
pub struct ChainScope {
    pub aggregate_type: Option<String>,
    pub aggregate_id: Option<String>,
}

/// What is wrong with one event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum ChainProblem {
    /// The stored hash does not match the event's content and predecessor: the
    /// event (or its predecessor's hash) was altered after it was written.
    HashMismatch { stored: String, computed: String },
    /// The stream skips from one sequence to another: events were removed.
    SequenceGap { expected: i64, found: i64 },
}

/// One event that fails the check.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BrokenEvent {
    pub global_position: i64,
    pub event_id: Uuid,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    #[serde(flatten)]
    pub problem: ChainProblem,
}

/// The outcome of a check: how much was read and every broken event found.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ChainReport {
    pub streams: u64,
    pub events: u64,
    pub broken: Vec<BrokenEvent>,
}

impl ChainReport {
    pub fn is_intact(&self) -> bool {
        self.broken.is_empty()
    }
}

/// Reads every event in scope, stream by stream, in constant memory, and checks
/// each against its predecessor.
pub async fn verify_chains(pool: &PgPool, scope: &ChainScope) -> Result<ChainReport, Error> {
    let mut rows = sqlx::query_as::<_, HashedEvent>(
        "SELECT global_position, transaction_id, event_id, aggregate_type, aggregate_id,
                sequence, event_type, event_version, payload::text AS payload,
                metadata::text AS metadata, recorded_at, hash
           FROM events
          WHERE ($1::text IS NULL OR aggregate_type = $1)
            AND ($2::text IS NULL OR aggregate_id = $2)
          ORDER BY aggregate_type, aggregate_id, sequence",
    )
    .bind(scope.aggregate_type.as_deref())
    .bind(scope.aggregate_id.as_deref())
    .fetch(pool);

    let mut report = ChainReport::default();
    // (type, id, sequence, stored hash) of the previous event read.
    let mut previous: Option<(String, String, i64, Vec<u8>)> = None;
    while let Some(hashed) = rows.try_next().await? {
        let computed_with = |previous: &[u8]| hashed.expected_hash(previous);
        let HashedEvent { event, hash } = &hashed;
        report.events += 1;
        let predecessor = match &previous {
            Some((t, i, sequence, hash))
                if *t == event.aggregate_type && *i == event.aggregate_id =>
            {
                Some((*sequence, hash.as_slice()))
            }
            _ => None,
        };
        if predecessor.is_none() {
            report.streams += 1;
        }
        let (expected_sequence, previous_hash) = predecessor
            .map_or((1, GENESIS_HASH.as_slice()), |(sequence, hash)| {
                (sequence + 1, hash)
            });
        let problem = if event.sequence != expected_sequence {
            // Without its predecessor the event's hash cannot be checked; the gap is
            // the finding.
            Some(ChainProblem::SequenceGap {
                expected: expected_sequence,
                found: event.sequence,
            })
        } else {
            let computed = computed_with(previous_hash);
            (computed.as_slice() != hash.as_slice()).then(|| ChainProblem::HashMismatch {
                stored: hex::encode(hash),
                computed: hex::encode(computed),
            })
        };
        if let Some(problem) = problem {
            report.broken.push(BrokenEvent {
                global_position: event.global_position,
                event_id: event.event_id,
                aggregate_type: event.aggregate_type.clone(),
                aggregate_id: event.aggregate_id.clone(),
                sequence: event.sequence,
                event_type: event.event_type.clone(),
                problem,
            });
        }
        let HashedEvent { event, hash } = hashed;
        previous = Some((
            event.aggregate_type,
            event.aggregate_id,
            event.sequence,
            hash,
        ));
    }
    Ok(report)
}
