//! Writing domain events to the log, projecting them, and the values tests build
//! events from.

use std::future::Future;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use cqrs_es::DomainEvent;
use domain::shared::{Currency, Money, Quantity, Sku};
use eventlog::{read_batch, Checkpoint, RecordedEvent};
use projections::read_models::document::{DocumentProjection, EventContext, View};
use projections::read_models::Page;
use projections::runtime::PostgresProjection;
use projections::Error;
use serde::Serialize;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

/// The test's own pool, kept small: the server allows 100 connections in all.
pub async fn small_pool(pool_options: PgPoolOptions, connect_options: PgConnectOptions) -> PgPool {
    pool_options
        .max_connections(3)
        .connect_with(connect_options)
        .await
        .expect("connect to the test database")
}

/// Appends `event` as postgres-es does (its seven columns; the rest are filled by
/// defaults and the trigger) and returns its global position.
pub async fn append<'e, E: DomainEvent + Serialize>(
    executor: impl PgExecutor<'e>,
    aggregate_type: &str,
    aggregate_id: &str,
    sequence: i64,
    event: &E,
) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         VALUES ($1, $2, $3, $4, $5, $6::json, $7::json)
         RETURNING global_position",
    )
    .bind(aggregate_type)
    .bind(aggregate_id)
    .bind(sequence)
    .bind(event.event_type())
    .bind(event.event_version())
    .bind(serde_json::to_string(event).unwrap())
    .bind(r#"{"actor": "tester", "actor_role": "admin", "correlation_id": "test"}"#)
    .fetch_one(executor)
    .await
    .expect("append an event")
}

/// Appends `events` to one stream from `first_sequence` on, in one transaction
/// (so they share one `recorded_at`).
pub async fn append_all<E: DomainEvent + Serialize>(
    pool: &PgPool,
    aggregate_type: &str,
    aggregate_id: &str,
    first_sequence: i64,
    events: &[E],
) {
    let mut tx = pool.begin().await.unwrap();
    for (sequence, event) in (first_sequence..).zip(events) {
        append(&mut *tx, aggregate_type, aggregate_id, sequence, event).await;
    }
    tx.commit().await.unwrap();
}

/// The whole log in reader order, once the reader sees all of it (transactions of
/// other tests' databases hold the cluster's horizon back for a moment).
pub async fn committed_log(pool: &PgPool) -> Vec<RecordedEvent> {
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let events = read_batch(pool, Checkpoint::START, i64::MAX).await.unwrap();
        if events.len() as i64 == total {
            return events;
        }
        assert!(
            Instant::now() < deadline,
            "the reader never saw all {total} events"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Applies `events` with `projection` in one transaction, as the runtime does.
pub async fn apply(
    pool: &PgPool,
    projection: &dyn PostgresProjection,
    events: &[RecordedEvent],
) -> Result<(), Error> {
    let mut tx = pool.begin().await?;
    projection.apply(&mut tx, events).await?;
    tx.commit().await?;
    Ok(())
}

/// Folds the whole log into `V`'s table in one batch. Events folded before are
/// recognised by their sequence and passed over, so tests call this after every
/// append.
pub async fn project<V: View>(pool: &PgPool) {
    let log = committed_log(pool).await;
    apply(pool, &DocumentProjection::<V>::new(), &log)
        .await
        .unwrap();
}

/// Folds `events` into a view without a database, as if recorded one second apart
/// from [`at`].
pub fn fold_all<V: View>(events: Vec<V::Event>) -> Result<V, String> {
    let mut view = None;
    for (sequence, event) in (1..).zip(events) {
        let context = EventContext {
            global_position: sequence,
            sequence,
            recorded_at: at() + chrono::Duration::seconds(sequence),
        };
        view = Some(V::fold(view, event, &context)?);
    }
    view.ok_or_else(|| "no events".to_owned())
}

/// Every row of a read model table as text, in key order: what "the same read
/// model" means when comparing two builds.
pub async fn table_snapshot(
    pool: &PgPool,
    table: &str,
    key: &str,
) -> Vec<(String, String, i64, DateTime<Utc>)> {
    sqlx::query_as(&format!(
        "SELECT {key}::text, doc::text, position, updated_at FROM {table} ORDER BY {key}"
    ))
    .fetch_all(pool)
    .await
    .unwrap()
}

pub fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
}

pub fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

pub fn eur(amount: i64) -> Money {
    Money::new(amount, Currency::new("EUR").unwrap())
}

pub fn sku(code: &str) -> Sku {
    Sku::new(code).unwrap()
}

pub fn qty(n: u32) -> Quantity {
    Quantity::new(n).unwrap()
}

/// Every item of a list, page after page from the first, each page checked
/// against `limit`.
pub async fn every_page<V, F, Fut>(limit: i64, mut page: F) -> Vec<V>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<V>, Error>>,
{
    let mut items = Vec::new();
    let mut cursor = None;
    loop {
        let Page {
            items: some,
            next_cursor,
        } = page(cursor.take()).await.unwrap();
        assert!(
            some.len() as i64 <= limit.clamp(1, 100),
            "a page beyond its limit"
        );
        items.extend(some);
        match next_cursor {
            Some(next) => cursor = Some(next),
            None => return items,
        }
    }
}
