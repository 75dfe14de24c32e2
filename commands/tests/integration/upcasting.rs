//! An event stored in an older shape loads as today's event, through postgres-es's
//! upcaster hook and through the API's store alike; without the upcaster it does not.

use commands::{AggregateStore, StoreOptions};
use cqrs_es::persist::PersistedEventStore;
use cqrs_es::EventStore;
use domain::product::Product;
use eventlog::LogWakeups;
use postgres_es::PostgresEventRepository;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use crate::support::write_pool;

const PRODUCT_ID: &str = "7d0c2a46-3f7e-4c38-9d2b-3a3a6d8f0b11";

/// A ProductCreated as version 1 wrote it: no `attributes`.
async fn store_a_version_1_product(pool: &PgPool) {
    let payload = serde_json::json!({ "ProductCreated": {
        "product_id": PRODUCT_ID, "sku": "MUG-1", "name": "Mug", "description": "A mug",
        "category": "kitchen", "brand": "Acme", "price": { "amount": 1250, "currency": "EUR" }
    }});
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         VALUES ('Product', $1, 1, 'ProductCreated', '1', $2, '{}')",
    )
    .bind(PRODUCT_ID)
    .bind(payload)
    .execute(pool)
    .await
    .unwrap();
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_version_1_event_loads_through_postgres_es_upcaster_hook(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = write_pool(options).await;
    store_a_version_1_product(&pool).await;

    let upcasting = PersistedEventStore::<_, Product>::new_event_store(
        PostgresEventRepository::new(pool.clone()),
    )
    .with_upcasters(domain::upcasting::upcasters());
    let events = upcasting.load_events(PRODUCT_ID).await.unwrap();
    assert_eq!(events.len(), 1);
    let json = serde_json::to_value(&events[0].payload).unwrap();
    assert_eq!(json["ProductCreated"]["attributes"], serde_json::json!({}));
    assert_eq!(json["ProductCreated"]["name"], "Mug");

    let plain =
        PersistedEventStore::<_, Product>::new_event_store(PostgresEventRepository::new(pool));
    assert!(
        plain.load_events(PRODUCT_ID).await.is_err(),
        "without the upcaster the old shape must not load"
    );
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_version_1_event_loads_through_the_api_store(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = write_pool(options).await;
    store_a_version_1_product(&pool).await;
    let store = AggregateStore::<Product>::new(pool, LogWakeups::local(), StoreOptions::default());
    let loaded = store.load_stored(PRODUCT_ID).await.unwrap();
    assert_eq!(loaded.version, 1);
    let details = loaded.aggregate.details().unwrap();
    assert_eq!(details.name, "Mug");
    assert!(details.attributes.is_empty());
}
