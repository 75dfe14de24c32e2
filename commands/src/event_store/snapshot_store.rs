//! A snapshotting event store for long streams (a SKU's inventory), on postgres-es's
//! repository and `snapshots` table.
//!
//! Why not cqrs-es 0.5.0's own snapshot store: when it snapshots, it applies the
//! command's events to the aggregate again, but `EventSink::write` has already
//! applied them during `handle`, so every snapshot it writes counts those events
//! twice. This store snapshots the aggregate exactly as `handle` left it.
//!
//! What must stay true: command handlers record events with
//! `sink.write(event, self)`, so that after `handle` the aggregate in the context
//! includes every new event.

use std::collections::HashMap;
use std::marker::PhantomData;

use cqrs_es::persist::EventStoreAggregateContext;
use cqrs_es::persist::{
    EventUpcaster, PersistedEventRepository, PersistenceError, SerializedEvent,
};
use cqrs_es::{Aggregate, AggregateError, EventEnvelope, EventStore};
use postgres_es::PostgresEventRepository;

pub struct SnapshotStore<A: Aggregate> {
    repository: PostgresEventRepository,
    snapshot_every: usize,
    upcasters: Vec<Box<dyn EventUpcaster>>,
    aggregate: PhantomData<A>,
}

impl<A: Aggregate> SnapshotStore<A> {
    /// Snapshots whenever a commit crosses a multiple of `snapshot_every` events.
    pub fn new(repository: PostgresEventRepository, snapshot_every: usize) -> Self {
        SnapshotStore {
            repository,
            snapshot_every: snapshot_every.max(1),
            upcasters: Vec::new(),
            aggregate: PhantomData,
        }
    }

    /// Upcasters applied, in order, to every stored event as it is loaded.
    pub fn with_upcasters(mut self, upcasters: Vec<Box<dyn EventUpcaster>>) -> Self {
        self.upcasters = upcasters;
        self
    }

    fn deserialize(
        &self,
        events: Vec<SerializedEvent>,
    ) -> Result<Vec<EventEnvelope<A>>, PersistenceError> {
        events
            .into_iter()
            .map(|mut event| {
                for upcaster in &self.upcasters {
                    if upcaster.can_upcast(&event.event_type, &event.event_version) {
                        event = upcaster.upcast(event);
                    }
                }
                EventEnvelope::try_from(event)
            })
            .collect()
    }
}

impl<A> EventStore<A> for SnapshotStore<A>
where
    A: Aggregate + Send + Sync,
{
    type AC = EventStoreAggregateContext<A>;

    async fn load_events(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<EventEnvelope<A>>, AggregateError<A::Error>> {
        let events = self.repository.get_events::<A>(aggregate_id).await?;
        Ok(self.deserialize(events)?)
    }

    async fn load_aggregate(
        &self,
        aggregate_id: &str,
    ) -> Result<Self::AC, AggregateError<A::Error>> {
        let snapshot = self.repository.get_snapshot::<A>(aggregate_id).await?;
        let mut context = match snapshot {
            Some(stored) => {
                let snapshot_number = stored.current_snapshot;
                match EventStoreAggregateContext::<A>::try_from(stored) {
                    Ok(context) => context,
                    // A snapshot of an older shape of the aggregate: replay the whole
                    // stream, and let the next snapshot replace this one in place.
                    Err(_) => EventStoreAggregateContext {
                        aggregate_id: aggregate_id.to_owned(),
                        aggregate: A::default(),
                        current_sequence: 0,
                        current_snapshot: Some(snapshot_number),
                    },
                }
            }
            None => EventStoreAggregateContext {
                aggregate_id: aggregate_id.to_owned(),
                aggregate: A::default(),
                current_sequence: 0,
                current_snapshot: None,
            },
        };
        let events = self
            .repository
            .get_last_events::<A>(aggregate_id, context.current_sequence)
            .await?;
        for envelope in self.deserialize(events)? {
            context.current_sequence = envelope.sequence;
            context.aggregate.apply(envelope.payload);
        }
        Ok(context)
    }

    async fn commit(
        &self,
        events: Vec<A::Event>,
        context: Self::AC,
        metadata: HashMap<String, String>,
    ) -> Result<Vec<EventEnvelope<A>>, AggregateError<A::Error>> {
        let first = context.current_sequence;
        let envelopes: Vec<EventEnvelope<A>> = events
            .into_iter()
            .enumerate()
            .map(|(i, payload)| EventEnvelope {
                aggregate_id: context.aggregate_id.clone(),
                sequence: first + i + 1,
                payload,
                metadata: metadata.clone(),
            })
            .collect();
        let serialized = envelopes
            .iter()
            .map(SerializedEvent::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        let last = first + envelopes.len();
        let crosses_boundary = last / self.snapshot_every > first / self.snapshot_every;
        let snapshot = if crosses_boundary {
            let state = serde_json::to_value(&context.aggregate)
                .map_err(|e| AggregateError::UnexpectedError(Box::new(e)))?;
            Some((
                context.aggregate_id.clone(),
                state,
                context.current_snapshot.map_or(1, |n| n + 1),
            ))
        } else {
            None
        };
        self.repository.persist::<A>(&serialized, snapshot).await?;
        Ok(envelopes)
    }
}
