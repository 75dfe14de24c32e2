//! Running one command: load, decide, append, and on a lost race decide again.

use std::sync::Arc;
use std::time::Duration;

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use eventlog::Checkpoint;

use crate::error::{CommandError, StoreError};
use crate::metadata::CommandMetadata;
use crate::store::{AggregateStore, AppendHook, Loaded};

/// How a command is run.
#[derive(Debug, Clone, Copy)]
pub struct CommandOptions {
    /// Refuse unless the aggregate is at this version (`If-Match`); no retry then.
    pub expected_version: Option<u64>,
    /// How many times a command that lost an optimistic-concurrency race is
    /// decided again on the fresh aggregate before [`CommandError::Contended`].
    pub retries: u32,
    /// The id was just made by the caller: nothing can be stored under it, so
    /// loading is skipped. (A collision would still fail on the primary key.)
    pub new_aggregate: bool,
}

impl Default for CommandOptions {
    fn default() -> Self {
        CommandOptions {
            expected_version: None,
            retries: 10,
            new_aggregate: false,
        }
    }
}

/// What a command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Executed {
    pub aggregate_id: String,
    /// The aggregate's version after the command.
    pub version: u64,
    /// The log position of the aggregate's last event: the consistency token.
    pub head: Option<Checkpoint>,
    /// How many events the command appended (0: it changed nothing).
    pub appended: usize,
}

impl Executed {
    /// The command created the aggregate.
    pub fn created(&self) -> bool {
        self.appended > 0 && self.version == self.appended as u64
    }
}

/// Runs `command` against aggregate `aggregate_id`.
///
/// A decision taken on a cached copy is only trusted when it appends (the primary
/// key then proves the copy was current). A refusal, a no-op or a version
/// mismatch found on a cached copy is confirmed against the stored version first,
/// and decided again on the stored aggregate when the copy was stale.
pub async fn execute<A>(
    store: &AggregateStore<A>,
    aggregate_id: &str,
    command: A::Command,
    metadata: &CommandMetadata,
    options: CommandOptions,
    hook: Option<&dyn AppendHook>,
) -> Result<Executed, CommandError<A::Error>>
where
    A: Aggregate<Services = ()> + Clone + 'static,
    A::Command: Clone,
{
    let _turn = store.turn(aggregate_id).await;
    let mut races_lost = 0;
    let (mut loaded, mut cached) = if options.new_aggregate {
        (Loaded::empty(), false)
    } else {
        let (loaded, cached) = store.load(aggregate_id).await?;
        (Arc::unwrap_or_clone(loaded), cached)
    };
    loop {
        let outcome = decide(&loaded, command.clone(), options.expected_version).await;
        let (after, events) = match outcome {
            Decision::Append(after, events) => (after, events),
            other if cached => {
                // Only trust it if nothing was stored since the copy was made.
                if store.stored_version(aggregate_id).await? != loaded.version {
                    store.forget(aggregate_id);
                    loaded = store.load_stored(aggregate_id).await?;
                    cached = false;
                    continue;
                }
                return other.into_result(aggregate_id, &loaded);
            }
            other => return other.into_result(aggregate_id, &loaded),
        };
        match store
            .append(aggregate_id, &loaded, after, &events, metadata, hook)
            .await
        {
            Ok(stored) => {
                return Ok(Executed {
                    aggregate_id: aggregate_id.to_owned(),
                    version: stored.version,
                    head: stored.head,
                    appended: events.len(),
                })
            }
            Err(StoreError::Conflict) => {
                loaded = store.load_stored(aggregate_id).await?;
                cached = false;
                if let Some(expected) = options.expected_version {
                    return Err(CommandError::VersionMismatch {
                        expected,
                        actual: loaded.version,
                    });
                }
                races_lost += 1;
                if races_lost > options.retries {
                    return Err(CommandError::Contended);
                }
                // Let the winner's queue drain before deciding again.
                tokio::time::sleep(backoff(races_lost)).await;
                if let Some(reloaded) = reload_if_moved(store, aggregate_id, &loaded).await? {
                    loaded = reloaded;
                }
            }
            Err(other) => return Err(other.into()),
        }
    }
}

/// Exponential, capped at 64 ms, with jitter so that two losers do not collide
/// again in step.
fn backoff(races_lost: u32) -> Duration {
    let ceiling_us = 1_000u64 << races_lost.min(6);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::from(d.subsec_nanos()))
        .unwrap_or(0);
    Duration::from_micros(ceiling_us / 2 + nanos % (ceiling_us / 2))
}

/// After a pause the stream may have moved again: reload only if it did.
async fn reload_if_moved<A>(
    store: &AggregateStore<A>,
    aggregate_id: &str,
    loaded: &Loaded<A>,
) -> Result<Option<Loaded<A>>, StoreError>
where
    A: Aggregate + Clone + 'static,
{
    if store.stored_version(aggregate_id).await? == loaded.version {
        return Ok(None);
    }
    Ok(Some(store.load_stored(aggregate_id).await?))
}

enum Decision<A: Aggregate> {
    Append(A, Vec<A::Event>),
    Unchanged,
    Refused(A::Error),
    VersionMismatch { expected: u64 },
}

impl<A: Aggregate> Decision<A> {
    fn into_result(
        self,
        aggregate_id: &str,
        loaded: &Loaded<A>,
    ) -> Result<Executed, CommandError<A::Error>> {
        match self {
            Decision::Unchanged | Decision::Append(..) => Ok(Executed {
                aggregate_id: aggregate_id.to_owned(),
                version: loaded.version,
                head: loaded.head,
                appended: 0,
            }),
            Decision::Refused(error) => Err(CommandError::Refused(error)),
            Decision::VersionMismatch { expected } => Err(CommandError::VersionMismatch {
                expected,
                actual: loaded.version,
            }),
        }
    }
}

/// The aggregate's decision on a copy: `handle` applies what it records to the
/// aggregate it is given, so the copy after it is the aggregate to remember.
async fn decide<A>(
    loaded: &Loaded<A>,
    command: A::Command,
    expected_version: Option<u64>,
) -> Decision<A>
where
    A: Aggregate<Services = ()> + Clone,
{
    if let Some(expected) = expected_version {
        if expected != loaded.version {
            return Decision::VersionMismatch { expected };
        }
    }
    let mut aggregate = loaded.aggregate.clone();
    let sink = EventSink::default();
    match aggregate.handle(command, &(), &sink).await {
        Err(error) => Decision::Refused(error),
        Ok(()) => {
            let events = sink.collect().await;
            if events.is_empty() {
                Decision::Unchanged
            } else {
                Decision::Append(aggregate, events)
            }
        }
    }
}
