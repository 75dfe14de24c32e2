//! cqrs-es over postgres-es on the extended `events` table, plus a wakeup for the
//! log's tailing readers after every commit.

use async_trait::async_trait;
use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{Aggregate, CqrsFramework, EventEnvelope, Query};
use eventlog::LogWakeups;
use postgres_es::{PostgresCqrs, PostgresEventRepository};
use sqlx::postgres::PgConnectOptions;
use sqlx::PgPool;

mod snapshot_store;

pub use snapshot_store::SnapshotStore;

/// Connection options for the pools that write events. They turn off the insert
/// trigger's per-transaction NOTIFY, which serializes commits cluster-wide; after
/// each commit [`WakeTailingReaders`] wakes this process's readers at once and sends
/// one NOTIFY for many commits to the others.
pub fn writer_options(options: PgConnectOptions) -> PgConnectOptions {
    options.options([("commerce.notify_on_insert", "off")])
}

/// The framework for aggregate `A`, storing every event in the shared log and
/// upcasting older event shapes as it loads them.
pub fn cqrs<A>(pool: PgPool, wakeups: LogWakeups, services: A::Services) -> PostgresCqrs<A>
where
    A: Aggregate + 'static,
{
    let store = PersistedEventStore::new_event_store(PostgresEventRepository::new(pool))
        .with_upcasters(domain::upcasting::upcasters());
    CqrsFramework::new(store, vec![Box::new(WakeTailingReaders(wakeups))], services)
}

/// Like [`cqrs`], for long streams: the aggregate is also snapshotted every
/// `snapshot_every` events, so loading it reads the snapshot and the events after
/// it. (Not postgres-es's `postgres_snapshot_cqrs`: see [`SnapshotStore`].)
pub fn snapshot_cqrs<A>(
    pool: PgPool,
    wakeups: LogWakeups,
    snapshot_every: usize,
    services: A::Services,
) -> CqrsFramework<A, SnapshotStore<A>>
where
    A: Aggregate + 'static,
{
    let store = SnapshotStore::new(PostgresEventRepository::new(pool), snapshot_every)
        .with_upcasters(domain::upcasting::upcasters());
    CqrsFramework::new(store, vec![Box::new(WakeTailingReaders(wakeups))], services)
}

/// Runs after cqrs-es committed a command's events.
pub struct WakeTailingReaders(pub LogWakeups);

#[async_trait]
impl<A: Aggregate> Query<A> for WakeTailingReaders {
    async fn dispatch(&self, _aggregate_id: &str, _events: &[EventEnvelope<A>]) {
        self.0.appended();
    }
}
