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

use crate::Error;
use crate::{Checkpoint, RecordedEvent, TransactionId};

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

/// How often [`verify_chains_reporting`] reports progress, in events.
pub const PROGRESS_EVERY: u64 = 10_000;

/// Which streams to check; `None` means all (an id without a type is ignored).
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
    verify_chains_reporting(pool, scope, |_| {}).await
}

/// [`verify_chains`], telling `progress` how many events it has checked every
/// [`PROGRESS_EVERY`] events: a long check shows it is moving.
pub async fn verify_chains_reporting(
    pool: &PgPool,
    scope: &ChainScope,
    mut progress: impl FnMut(u64),
) -> Result<ChainReport, Error> {
    // Only the conditions in scope are named: a generic `($1 IS NULL OR …)` plan,
    // which a pooled connection settles on after a few calls, would sort the
    // whole log to check one stream.
    macro_rules! chains {
        ($($condition:literal)?) => {
            concat!(
                "SELECT ",
                crate::event_columns!(),
                ", hash FROM events ",
                $($condition,)?
                " ORDER BY aggregate_type, aggregate_id, sequence"
            )
        };
    }
    let query = match (
        scope.aggregate_type.as_deref(),
        scope.aggregate_id.as_deref(),
    ) {
        (None, _) => sqlx::query_as::<_, HashedEvent>(chains!()),
        (Some(kind), None) => sqlx::query_as(chains!("WHERE aggregate_type = $1")).bind(kind),
        (Some(kind), Some(id)) => {
            sqlx::query_as(chains!("WHERE aggregate_type = $1 AND aggregate_id = $2"))
                .bind(kind)
                .bind(id)
        }
    };
    let mut rows = query.fetch(pool);

    let mut report = ChainReport::default();
    // (type, id, sequence, stored hash) of the previous event read.
    let mut previous: Option<(String, String, i64, Vec<u8>)> = None;
    while let Some(hashed) = rows.try_next().await? {
        let computed_with = |previous: &[u8]| hashed.expected_hash(previous);
        let HashedEvent { event, hash } = &hashed;
        report.events += 1;
        if report.events % PROGRESS_EVERY == 0 {
            progress(report.events);
        }
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

/// The whole log at a checkpoint, in one hash: what a signed digest commits to.
///
/// The set of events at or before a checkpoint of the gap-free reader never
/// changes (every transaction in it has ended, and new ones are numbered above
/// it), so the same root can be computed again at any later time. Each stream's
/// head hash chains over every event before it; the root covers every head, the
/// number of events and the checkpoint. An event altered, removed or slipped in at
/// or before the checkpoint changes a head, the count or a chain link.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LogRoot {
    pub transaction_id: u64,
    pub global_position: i64,
    pub events: u64,
    pub streams: u64,
    /// sha256, hex.
    pub root_hash: String,
}

impl LogRoot {
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint::new(self.transaction_id, self.global_position)
    }
}

/// The checkpoint the gap-free reader reaches now: the last event of the log's
/// ended transactions, or the start of an empty log.
pub async fn log_head(pool: &PgPool) -> Result<Checkpoint, Error> {
    let head: Option<(TransactionId, i64)> = sqlx::query_as(
        "SELECT transaction_id, global_position FROM events
          WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())
          ORDER BY transaction_id DESC, global_position DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await?;
    Ok(
        head.map_or(Checkpoint::START, |(transaction_id, global_position)| {
            Checkpoint {
                transaction_id,
                global_position,
            }
        }),
    )
}

/// The root over every stream's head at `at`, reading the heads in constant memory.
pub async fn log_root(pool: &PgPool, at: Checkpoint) -> Result<LogRoot, Error> {
    let mut heads = sqlx::query_as::<_, (String, String, i64, i64, Vec<u8>)>(
        "SELECT aggregate_type, aggregate_id, sequence, events, hash
           FROM (SELECT aggregate_type, aggregate_id, sequence, hash,
                        count(*) OVER stream AS events,
                        row_number() OVER (stream ORDER BY sequence DESC) AS from_head
                   FROM events
                  WHERE (transaction_id, global_position) <= ($1, $2)
                 WINDOW stream AS (PARTITION BY aggregate_type, aggregate_id)) AS streams
          WHERE from_head = 1
          ORDER BY aggregate_type COLLATE \"C\", aggregate_id COLLATE \"C\"",
    )
    .bind(at.transaction_id)
    .bind(at.global_position)
    .fetch(pool);
    let mut hasher = Sha256::new();
    hasher.update(b"commerce-log-root/v1");
    let (mut streams, mut events) = (0u64, 0u64);
    while let Some((aggregate_type, aggregate_id, sequence, count, hash)) = heads.try_next().await?
    {
        for text in [&aggregate_type, &aggregate_id] {
            hasher.update((text.len() as u32).to_be_bytes());
            hasher.update(text.as_bytes());
        }
        hasher.update(sequence.to_be_bytes());
        hasher.update(count.to_be_bytes());
        hasher.update(&hash);
        streams += 1;
        events += count as u64;
    }
    hasher.update(at.transaction_id.0.to_be_bytes());
    hasher.update(at.global_position.to_be_bytes());
    hasher.update(events.to_be_bytes());
    Ok(LogRoot {
        transaction_id: at.transaction_id.0,
        global_position: at.global_position,
        events,
        streams,
        root_hash: hex::encode(hasher.finalize()),
    })
}
