//! cqrs-es over postgres-es on the extended `events` table, plus a wakeup for the
//! log's tailing readers after every commit.

use async_trait::async_trait;
use cqrs_es::{Aggregate, EventEnvelope, Query};
use postgres_es::{postgres_cqrs, PostgresCqrs};
use projections::log::LogWakeups;
use sqlx::postgres::PgConnectOptions;
use sqlx::PgPool;

/// Connection options for the pools that write events. They turn off the insert
/// trigger's per-transaction NOTIFY, which serializes commits cluster-wide; after
/// each commit [`WakeTailingReaders`] wakes this process's readers at once and sends
/// one NOTIFY for many commits to the others.
pub fn writer_options(options: PgConnectOptions) -> PgConnectOptions {
    options.options([("commerce.notify_on_insert", "off")])
}

/// The framework for aggregate `A`, storing every event in the shared log.
///
/// Not `postgres_snapshot_cqrs`: cqrs-es 0.5.0's snapshot store applies a command's
/// events to the aggregate a second time when it snapshots (`EventSink::write`
/// already applied them), so every snapshot it writes is wrong. Long streams need a
/// snapshot store of our own before they use snapshots.
pub fn cqrs<A>(pool: PgPool, wakeups: LogWakeups, services: A::Services) -> PostgresCqrs<A>
where
    A: Aggregate + 'static,
{
    postgres_cqrs(pool, vec![Box::new(WakeTailingReaders(wakeups))], services)
}

/// Runs after cqrs-es committed a command's events.
pub struct WakeTailingReaders(pub LogWakeups);

#[async_trait]
impl<A: Aggregate> Query<A> for WakeTailingReaders {
    async fn dispatch(&self, _aggregate_id: &str, _events: &[EventEnvelope<A>]) {
        self.0.appended();
    }
}
