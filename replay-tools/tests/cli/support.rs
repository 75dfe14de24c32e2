//! Writing a log with the domain's own events, and running the binary on it.

use std::collections::BTreeMap;
use std::process::{Command, Output};

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use domain::product::ProductEvent;
use domain::shared::{Currency, Money, ProductId, Sku};
use sqlx::PgPool;
use uuid::Uuid;

/// The URL of the test's own database.
pub fn database_url(pool: &PgPool) -> String {
    let server = std::env::var("DATABASE_URL").unwrap();
    format!(
        "{}/{}",
        &server[..server.rfind('/').unwrap()],
        pool.connect_options().get_database().unwrap()
    )
}

/// Runs `commerce-replay` with `args` on the test's database.
pub fn replay(pool: &PgPool, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_commerce-replay"))
        .args(args)
        .args(["--database-url", &database_url(pool)])
        .output()
        .unwrap()
}

/// Stdout of a run that must succeed.
pub fn replay_ok(pool: &PgPool, args: &[&str]) -> String {
    let output = replay(pool, args);
    assert!(
        output.status.success(),
        "{args:?}: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// One stored event, as the test wrote it.
#[derive(Debug, Clone)]
pub struct Written {
    pub global_position: i64,
    pub event_id: Uuid,
    pub recorded_at: DateTime<Utc>,
    pub payload: String,
}

/// Appends one event in a transaction of its own (so each has its own
/// `recorded_at`), with the metadata the command side writes.
pub async fn append(
    pool: &PgPool,
    aggregate_type: &str,
    aggregate_id: &str,
    sequence: i64,
    event: &impl DomainEvent,
    actor: &str,
    correlation_id: Uuid,
) -> Written {
    let metadata = serde_json::json!({
        "actor": actor,
        "actor_role": "admin",
        "correlation_id": correlation_id.to_string(),
        "request_id": Uuid::new_v4().to_string(),
        "command": "test",
    });
    let (global_position, event_id, recorded_at, payload): (i64, Uuid, DateTime<Utc>, String) =
        sqlx::query_as(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
             VALUES ($1, $2, $3, $4, $5, $6::json, $7::json)
             RETURNING global_position, event_id, recorded_at, payload::text",
        )
        .bind(aggregate_type)
        .bind(aggregate_id)
        .bind(sequence)
        .bind(event.event_type())
        .bind(event.event_version())
        .bind(serde_json::to_string(event).unwrap())
        .bind(metadata.to_string())
        .fetch_one(pool)
        .await
        .unwrap();
    Written {
        global_position,
        event_id,
        recorded_at,
        payload,
    }
}

/// A product's events: created, then a price change per entry of `prices`.
pub fn product_events(product_id: ProductId, sku: &str, prices: &[i64]) -> Vec<ProductEvent> {
    let eur = Currency::new("EUR").unwrap();
    let sku = Sku::new(sku).unwrap();
    let mut events = vec![ProductEvent::ProductCreated {
        product_id,
        sku: sku.clone(),
        name: format!("Mug {sku}"),
        description: "A mug, \"glazed\", with a comma".into(),
        category: "Kitchen".into(),
        brand: "Acme".into(),
        price: Money::new(1000, eur),
        attributes: BTreeMap::from([("colour".to_owned(), "blue".to_owned())]),
    }];
    let mut old = 1000;
    for &price in prices {
        events.push(ProductEvent::ProductPriceChanged {
            product_id,
            sku: sku.clone(),
            old_price: Money::new(old, eur),
            new_price: Money::new(price, eur),
        });
        old = price;
    }
    events
}

/// Writes `products` products with `changes` price changes each, by actors
/// `actor-0` and `actor-1` in turn, one correlation per product.
pub async fn product_log(pool: &PgPool, products: usize, changes: usize) -> Vec<Written> {
    let mut written = Vec::new();
    for n in 0..products {
        let product_id = ProductId::new(Uuid::new_v4());
        let prices: Vec<i64> = (1..=changes as i64).map(|c| 1000 + c * 10).collect();
        let correlation = Uuid::new_v4();
        for (index, event) in product_events(product_id, &format!("MUG-{n}"), &prices)
            .iter()
            .enumerate()
        {
            written.push(
                append(
                    pool,
                    "Product",
                    &product_id.to_string(),
                    index as i64 + 1,
                    event,
                    &format!("actor-{}", n % 2),
                    correlation,
                )
                .await,
            );
        }
    }
    written
}

/// Changes a stored payload behind the append-only triggers, as only a superuser
/// can: what an attacker with database access would do.
pub async fn tamper(pool: &PgPool, sql: &str, global_position: i64) {
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query(sql)
        .bind(global_position)
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("SET session_replication_role = origin")
        .execute(&mut *conn)
        .await
        .unwrap();
}
