//! `state`, `history` and `diff`: an aggregate as it was, equal to what a fresh
//! aggregate reaches from only the events up to that point.

use cqrs_es::Aggregate;
use domain::product::Product;
use domain::shared::ProductId;
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::{append, product_events, replay, replay_ok, Written};

async fn one_product(
    pool: &PgPool,
) -> (ProductId, Vec<domain::product::ProductEvent>, Vec<Written>) {
    let product_id = ProductId::new(Uuid::new_v4());
    let events = product_events(product_id, "MUG-1", &[1100, 1200, 1300]);
    let mut written = Vec::new();
    for (index, event) in events.iter().enumerate() {
        written.push(
            append(
                pool,
                "Product",
                &product_id.to_string(),
                index as i64 + 1,
                event,
                "u1",
                Uuid::new_v4(),
            )
            .await,
        );
    }
    (product_id, events, written)
}

fn folded(events: &[domain::product::ProductEvent]) -> serde_json::Value {
    let mut product = Product::default();
    for event in events {
        product.apply(event.clone());
    }
    serde_json::to_value(product).unwrap()
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn state_at_a_time_equals_a_fresh_aggregate_given_the_events_up_to_it(pool: PgPool) {
    let (product_id, events, written) = one_product(&pool).await;
    let id = product_id.to_string();
    for upto in 1..=events.len() {
        let at = written[upto - 1].recorded_at.to_rfc3339();
        let shown: serde_json::Value =
            serde_json::from_str(&replay_ok(&pool, &["state", "product", &id, "--at", &at]))
                .unwrap();
        assert_eq!(shown["state"], folded(&events[..upto]), "at {at}");
        assert_eq!(shown["version"], upto as i64);
        let by_version: serde_json::Value = serde_json::from_str(&replay_ok(
            &pool,
            &["state", "Product", &id, "--version", &upto.to_string()],
        ))
        .unwrap();
        assert_eq!(by_version["state"], shown["state"]);
    }
    // Before the first event the product did not exist.
    let before = (written[0].recorded_at - chrono::Duration::seconds(1)).to_rfc3339();
    let shown: serde_json::Value = serde_json::from_str(&replay_ok(
        &pool,
        &["state", "Product", &id, "--at", &before],
    ))
    .unwrap();
    assert_eq!(
        (shown["version"].as_i64(), &shown["state"]),
        (Some(0), &folded(&[]))
    );
    assert_ne!(
        folded(&events[..2]),
        folded(&events),
        "the test must see a change"
    );
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn unknown_streams_and_types_are_clear_errors(pool: PgPool) {
    let output = replay(&pool, &["state", "Basket", "x"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown aggregate type \"Basket\""));
    let output = replay(&pool, &["history", "Product", "nobody"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no Product stream \"nobody\""));
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn history_lists_the_stream_with_its_metadata_in_order(pool: PgPool) {
    let (product_id, _, written) = one_product(&pool).await;
    let lines = replay_ok(
        &pool,
        &["history", "Product", &product_id.to_string(), "--json"],
    );
    let events: Vec<serde_json::Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 4);
    for (event, written) in events.iter().zip(&written) {
        assert_eq!(event["event_id"], written.event_id.to_string());
        assert_eq!(event["metadata"]["actor"], "u1");
    }
    let text = replay_ok(&pool, &["history", "Product", &product_id.to_string()]);
    assert!(
        text.contains("#1") && text.contains("ProductCreated") && text.contains("by u1 (admin)"),
        "{text}"
    );
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn diff_shows_the_events_between_two_points_and_the_change_they_made(pool: PgPool) {
    let (product_id, _, written) = one_product(&pool).await;
    let id = product_id.to_string();
    let json: serde_json::Value = serde_json::from_str(&replay_ok(
        &pool,
        &[
            "diff",
            "Product",
            &id,
            "--from",
            "1",
            "--to",
            &written[3].recorded_at.to_rfc3339(),
            "--json",
        ],
    ))
    .unwrap();
    assert_eq!(
        (json["from_version"].as_i64(), json["to_version"].as_i64()),
        (Some(1), Some(4))
    );
    assert_eq!(json["events"].as_array().unwrap().len(), 3);
    let changes = json["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["op"], "changed");
    assert!(
        changes[0]["path"]
            .as_str()
            .unwrap()
            .ends_with("/price/amount"),
        "{changes:?}"
    );
    assert_eq!(
        (changes[0]["before"].as_i64(), changes[0]["after"].as_i64()),
        (Some(1000), Some(1300))
    );

    let backwards = replay(&pool, &["diff", "Product", &id, "--from", "3", "--to", "1"]);
    assert_eq!(backwards.status.code(), Some(1));
}
