//! Loads aggregates and appends their events: the write path of every command.
//!
//! Why not cqrs-es's `CqrsFramework` over postgres-es for the API: it spends four
//! round trips per command (load, BEGIN, INSERT, COMMIT) and returns no log
//! position, while the API must answer each command with a consistency token and
//! keep up with a plain INSERT. This store keeps recently used aggregates in memory
//! ([`AggregateCache`]), appends a command's events with one INSERT statement (its
//! own implicit transaction: one round trip), and returns the checkpoint of the
//! last event. The aggregates, their `handle` and `apply`, and the table are
//! cqrs-es's and postgres-es's; postgres-es still reads the same streams.
//!
//! What keeps it correct: the primary key `(aggregate_type, aggregate_id,
//! sequence)` decides every race. A cached aggregate that another process moved on
//! loses the race on insert, is reloaded and the command decided again; a refusal
//! or a no-op decided on a cached aggregate is confirmed against the stored version
//! before it is answered (see [`execute`](crate::execute)).

mod cache;
pub mod group_commit;
mod snapshots;

use std::sync::Arc;

use cqrs_es::{Aggregate, DomainEvent};
use eventlog::payload::decode_payload;
use eventlog::{Checkpoint, LogWakeups, TransactionId};
use sqlx::{PgConnection, PgPool};

pub use cache::AggregateCache;
pub use group_commit::GroupCommit;

use crate::error::StoreError;
use crate::execute::Executed;
use crate::metadata::CommandMetadata;

/// An aggregate as of its last event.
#[derive(Debug, Clone)]
pub struct Loaded<A> {
    pub aggregate: A,
    /// The sequence of its last event; 0 for an aggregate with no events yet.
    pub version: u64,
    /// Where its last event stands in the log: the consistency token a reader
    /// waits for to see this version. `None` before the first event.
    pub head: Option<Checkpoint>,
}

impl<A: Default> Loaded<A> {
    pub fn empty() -> Self {
        Loaded {
            aggregate: A::default(),
            version: 0,
            head: None,
        }
    }
}

/// How one aggregate type is stored.
#[derive(Debug, Clone, Copy)]
pub struct StoreOptions {
    /// How many aggregates of this type stay in memory.
    pub cache_capacity: usize,
    /// Write a snapshot every this many events (long streams such as a SKU's
    /// inventory); `None` never snapshots.
    pub snapshot_every: Option<u64>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            cache_capacity: 10_000,
            snapshot_every: None,
        }
    }
}

/// Runs inside the transaction that appends a command's events, so that what it
/// writes (an idempotency record's answer) commits with them or not at all.
#[async_trait::async_trait]
pub trait AppendHook: Send + Sync {
    async fn within(&self, tx: &mut PgConnection, executed: &Executed) -> Result<(), sqlx::Error>;
}

/// Several hooks in one transaction, in order.
pub struct Hooks<'a>(pub Vec<&'a dyn AppendHook>);

#[async_trait::async_trait]
impl AppendHook for Hooks<'_> {
    async fn within(&self, tx: &mut PgConnection, executed: &Executed) -> Result<(), sqlx::Error> {
        for hook in &self.0 {
            hook.within(tx, executed).await?;
        }
        Ok(())
    }
}

/// The events of aggregate type `A`: loading, caching, appending.
pub struct AggregateStore<A: Aggregate> {
    pool: PgPool,
    wakeups: LogWakeups,
    cache: AggregateCache<A>,
    options: StoreOptions,
    group: GroupCommit,
    /// Commands on one aggregate in this process take turns (by a hash of its id)
    /// instead of racing each other to the primary key and retrying: 32 clients
    /// adding to one cart then cost 32 appends, not hundreds of lost races.
    turns: Vec<tokio::sync::Mutex<()>>,
}

const TURN_STRIPES: usize = 1024;

impl<A> AggregateStore<A>
where
    A: Aggregate + Clone + 'static,
{
    /// A store with an appender of its own; see [`Self::sharing`].
    pub fn new(pool: PgPool, wakeups: LogWakeups, options: StoreOptions) -> Arc<Self> {
        let group = GroupCommit::start(pool.clone());
        Self::sharing(pool, wakeups, options, group)
    }

    /// A store whose appends join `group`'s, with every other store sharing it: one
    /// commit for the commands of every aggregate type at once.
    pub fn sharing(
        pool: PgPool,
        wakeups: LogWakeups,
        options: StoreOptions,
        group: GroupCommit,
    ) -> Arc<Self> {
        Arc::new(AggregateStore {
            group,
            pool,
            wakeups,
            cache: AggregateCache::new(options.cache_capacity),
            options,
            turns: (0..TURN_STRIPES)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
        })
    }

    /// Waits for this process's turn on `aggregate_id`; held for a whole command.
    pub async fn turn(&self, aggregate_id: &str) -> tokio::sync::MutexGuard<'_, ()> {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        std::hash::Hash::hash(aggregate_id, &mut hasher);
        let stripe = std::hash::Hasher::finish(&hasher) as usize % TURN_STRIPES;
        self.turns[stripe].lock().await
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The aggregate from memory when it is there, else from the database.
    /// Returns whether it came from memory: such a copy may be stale. Shared, for
    /// reading; a command takes its own copy to apply events to.
    pub async fn load(&self, aggregate_id: &str) -> Result<(Arc<Loaded<A>>, bool), StoreError> {
        if let Some(loaded) = self.cache.get(aggregate_id) {
            return Ok((loaded, true));
        }
        Ok((Arc::new(self.load_stored(aggregate_id).await?), false))
    }

    /// The aggregate as stored: the latest snapshot, if any, and the events after it.
    pub async fn load_stored(&self, aggregate_id: &str) -> Result<Loaded<A>, StoreError> {
        let mut loaded = match self.options.snapshot_every {
            Some(_) => snapshots::latest::<A>(&self.pool, aggregate_id)
                .await?
                .unwrap_or_else(Loaded::empty),
            None => Loaded::empty(),
        };
        // From the snapshot's own last event, so its head is known even when no
        // event follows it.
        let rows: Vec<(i64, String, String, String, TransactionId, i64)> = sqlx::query_as(
            "SELECT sequence, event_type, event_version, payload::text, transaction_id, global_position
               FROM events
              WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence >= $3
              ORDER BY sequence",
        )
        .bind(A::TYPE)
        .bind(aggregate_id)
        .bind(i64::try_from(loaded.version.max(1)).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        let mut rows = rows;
        eventlog::personal::unseal_payloads(
            &self.pool,
            rows.iter_mut()
                .map(|(_, event_type, _, payload, _, _)| (event_type.as_str(), payload)),
        )
        .await?;
        for (sequence, event_type, event_version, payload, transaction_id, position) in rows {
            let sequence = u64::try_from(sequence).unwrap_or_default();
            loaded.head = Some(Checkpoint {
                transaction_id,
                global_position: position,
            });
            if sequence <= loaded.version {
                continue;
            }
            let event = decode_payload::<A::Event>(&event_type, &event_version, &payload).map_err(
                |source| StoreError::Corrupt {
                    aggregate_type: A::TYPE,
                    aggregate_id: aggregate_id.to_owned(),
                    sequence,
                    source,
                },
            )?;
            loaded.aggregate.apply(event);
            loaded.version = sequence;
        }
        Ok(loaded)
    }

    /// The stored version of the aggregate, without loading it: how a decision
    /// taken on a cached copy is confirmed.
    pub async fn stored_version(&self, aggregate_id: &str) -> Result<u64, StoreError> {
        let version: Option<i64> = sqlx::query_scalar(
            "SELECT sequence FROM events
              WHERE aggregate_type = $1 AND aggregate_id = $2
              ORDER BY sequence DESC LIMIT 1",
        )
        .bind(A::TYPE)
        .bind(aggregate_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(version.and_then(|v| u64::try_from(v).ok()).unwrap_or(0))
    }

    /// Appends `events` after version `from.version`, all or none, and remembers
    /// `after` (the aggregate with them applied) for the next command.
    /// [`StoreError::Conflict`] when another writer got there first.
    pub async fn append(
        &self,
        aggregate_id: &str,
        from: &Loaded<A>,
        after: A,
        events: &[A::Event],
        metadata: &CommandMetadata,
        hook: Option<&dyn AppendHook>,
    ) -> Result<Loaded<A>, StoreError> {
        let mut rows = EventRows::new(from.version, events)?;
        rows.seal(&self.pool, aggregate_id).await?;
        let metadata = serde_json::to_string(&metadata.to_map())?;
        let count = rows.sequences.len();
        let head = match hook {
            None => {
                let appended = self
                    .group
                    .append(group_commit::Append {
                        aggregate_type: A::TYPE,
                        aggregate_id: aggregate_id.to_owned(),
                        metadata,
                        sequences: rows.sequences,
                        types: rows.types,
                        versions: rows.versions,
                        payloads: rows.payloads,
                    })
                    .await;
                match appended {
                    Ok(Some(head)) => Some(head),
                    Ok(None) => {
                        self.cache.remove(aggregate_id);
                        return Err(StoreError::Conflict);
                    }
                    Err(error) => {
                        self.cache.remove(aggregate_id);
                        return Err(error);
                    }
                }
            }
            Some(hook) => {
                let written = self
                    .append_with(aggregate_id, from, &rows, &metadata, hook)
                    .await;
                match written {
                    Ok(head) => head,
                    Err(error) => {
                        self.cache.remove(aggregate_id);
                        return Err(error);
                    }
                }
            }
        };
        self.wakeups.appended();
        let loaded = Loaded {
            aggregate: after,
            version: from.version + count as u64,
            head,
        };
        if let Some(every) = self.options.snapshot_every {
            if loaded.version / every > from.version / every {
                snapshots::write(&self.pool, aggregate_id, &loaded).await;
            }
        }
        self.cache.put(aggregate_id, Arc::new(loaded.clone()));
        Ok(loaded)
    }

    /// Appends in a transaction of its own, with `hook` in it.
    async fn append_with(
        &self,
        aggregate_id: &str,
        from: &Loaded<A>,
        rows: &EventRows,
        metadata: &str,
        hook: &dyn AppendHook,
    ) -> Result<Option<Checkpoint>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let written = sqlx::query_as::<_, (TransactionId, i64)>(
            "INSERT INTO events
                    (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
             SELECT $1, $2, e.sequence, e.event_type, e.event_version, e.payload::json, $7::json
               FROM UNNEST($3::bigint[], $4::text[], $5::text[], $6::text[])
                    AS e(sequence, event_type, event_version, payload)
             RETURNING transaction_id, global_position",
        )
        .bind(A::TYPE)
        .bind(aggregate_id)
        .bind(&rows.sequences)
        .bind(&rows.types)
        .bind(&rows.versions)
        .bind(&rows.payloads)
        .bind(metadata)
        .fetch_all(&mut *tx)
        .await
        .map_err(StoreError::from_insert)?;
        let head = last_checkpoint(&written);
        let executed = Executed {
            aggregate_id: aggregate_id.to_owned(),
            version: from.version + written.len() as u64,
            head,
            appended: written.len(),
        };
        hook.within(&mut tx, &executed).await?;
        tx.commit().await?;
        Ok(head)
    }

    /// Forgets the cached copy, so the next load reads the database.
    pub fn forget(&self, aggregate_id: &str) {
        self.cache.remove(aggregate_id);
    }
}

/// The last event of the log in readers' order: a token that a read model has
/// passed once it reflects every write committed before this call.
pub async fn log_head(pool: &PgPool) -> Result<Option<Checkpoint>, sqlx::Error> {
    let head: Option<(TransactionId, i64)> = sqlx::query_as(
        "SELECT transaction_id, global_position FROM events
          ORDER BY transaction_id DESC, global_position DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await?;
    Ok(head.map(|(transaction_id, global_position)| Checkpoint {
        transaction_id,
        global_position,
    }))
}

/// The new events as the column arrays of one INSERT.
struct EventRows {
    sequences: Vec<i64>,
    types: Vec<String>,
    versions: Vec<String>,
    payloads: Vec<String>,
}

impl EventRows {
    fn new<E: DomainEvent>(after_version: u64, events: &[E]) -> Result<Self, StoreError> {
        let first = i64::try_from(after_version).map_err(|_| StoreError::SequenceOverflow)?;
        let mut rows = EventRows {
            sequences: Vec::with_capacity(events.len()),
            types: Vec::with_capacity(events.len()),
            versions: Vec::with_capacity(events.len()),
            payloads: Vec::with_capacity(events.len()),
        };
        for (offset, event) in (1_i64..).zip(events) {
            rows.sequences.push(first + offset);
            rows.types.push(event.event_type());
            rows.versions.push(event.event_version());
            rows.payloads.push(serde_json::to_string(event)?);
        }
        Ok(rows)
    }
}

impl EventRows {
    /// Seals the personal fields of the events that have any
    /// ([`eventlog::personal`]); the others pass untouched, unparsed.
    async fn seal(&mut self, pool: &PgPool, aggregate_id: &str) -> Result<(), StoreError> {
        for (event_type, payload) in self.types.iter().zip(self.payloads.iter_mut()) {
            if domain::personal::personal_fields(event_type).is_some() {
                let plain = std::mem::take(payload);
                *payload =
                    eventlog::personal::seal_payload(pool, event_type, aggregate_id, plain).await?;
            }
        }
        Ok(())
    }
}

fn last_checkpoint(rows: &[(TransactionId, i64)]) -> Option<Checkpoint> {
    rows.iter()
        .max_by_key(|(_, position)| *position)
        .map(|(transaction_id, position)| Checkpoint {
            transaction_id: *transaction_id,
            global_position: *position,
        })
}
