//! What every document read model shares: batches of any size give the same views,
//! a stream delivered out of order by the gap-free reader is folded in order,
//! others' events are ignored, a bad event stops the projection naming it, and a
//! rebuild through the real runtime gives identical views.

use std::sync::Arc;
use std::time::Duration;

use eventlog::{LogWakeups, RecordedEvent};
use projections::read_models::carts::{self, CartView, CartsProjection};
use projections::read_models::document::DocumentProjection;
use projections::read_models::inventory::InventoryProjection;
use projections::read_models::orders::{OrderView, OrdersProjection};
use projections::read_models::payments::PaymentsProjection;
use projections::read_models::products::{ProductView, ProductsProjection};
use projections::runtime::{
    projector_lags, request_rebuild, OnFailure, PostgresProjection, Projector, ProjectorOptions,
    ProjectorRuntime,
};
use projections::Error;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgPool};
use tokio_util::sync::CancellationToken;

use super::carts::{added, checked_out, opened};
use super::fixtures::{
    append, append_all, apply, at, committed_log, eur, id, small_pool, table_snapshot,
};
use super::orders::placed;
use super::payments::initiated;
use super::products::created;
use crate::support::wait_until;

const TABLES: [(&str, &str); 5] = [
    ("read_products", "product_id"),
    ("read_inventory", "sku"),
    ("read_carts", "cart_id"),
    ("read_orders", "order_id"),
    ("read_payments", "payment_id"),
];

type Snapshot = Vec<Vec<(String, String, i64, chrono::DateTime<chrono::Utc>)>>;

async fn snapshot(pool: &PgPool) -> Snapshot {
    let mut tables = Vec::new();
    for (table, key) in TABLES {
        tables.push(table_snapshot(pool, table, key).await);
    }
    tables
}

fn all_projections() -> Vec<Arc<dyn PostgresProjection>> {
    vec![
        Arc::new(ProductsProjection::new()),
        Arc::new(InventoryProjection::new()),
        Arc::new(CartsProjection::new()),
        Arc::new(OrdersProjection::new()),
        Arc::new(PaymentsProjection::new()),
    ]
}

/// A log with streams of all five aggregates, interleaved across transactions.
async fn write_a_mixed_log(pool: &PgPool) {
    for n in 0..6u128 {
        let (cart, order, payment, product) = (id(100 + n), id(200 + n), id(300 + n), id(400 + n));
        let code = format!("SKU-{n}");
        append(
            pool,
            "Product",
            &product.to_string(),
            1,
            &created(product, &code, "Kitchen"),
        )
        .await;
        append_all(
            pool,
            "Cart",
            &cart.to_string(),
            1,
            &[opened(cart, Some(id(7))), added("A", 100, 1, 100, 1)],
        )
        .await;
        let inventory = domain::inventory::InventoryEvent::InventoryRegistered {
            sku: super::fixtures::sku(&code),
            low_stock_threshold: 2,
            on_hand_after: 0,
            reserved_after: 0,
            available_after: 0,
        };
        append(pool, "Inventory", &code, 1, &inventory).await;
        append(
            pool,
            "Cart",
            &cart.to_string(),
            3,
            &added("B", 200, 2, 500, 3),
        )
        .await;
        if n % 2 == 0 {
            append(
                pool,
                "Cart",
                &cart.to_string(),
                4,
                &checked_out(cart, order, &[("A", 100, 1), ("B", 200, 2)]),
            )
            .await;
            append(
                pool,
                "Order",
                &order.to_string(),
                1,
                &placed(order, Some(id(7)), at()),
            )
            .await;
            append(
                pool,
                "Payment",
                &payment.to_string(),
                1,
                &initiated(payment, order, eur(1295)),
            )
            .await;
        }
    }
    // Something none of the read models folds.
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         VALUES ('Audit', 'a1', 1, 'Noted', '1', '{\"anything\": true}', '{}')",
    )
    .execute(pool)
    .await
    .unwrap();
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn batches_of_any_size_give_the_same_views(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let pool = small_pool(pool_options, connect_options).await;
    write_a_mixed_log(&pool).await;
    let log = committed_log(&pool).await;
    let projections = all_projections();

    let mut builds = Vec::new();
    for batch in [log.len(), 7, 1] {
        for projection in &projections {
            let mut tx = pool.begin().await.unwrap();
            projection.reset(&mut tx).await.unwrap();
            tx.commit().await.unwrap();
            for events in log.chunks(batch) {
                apply(&pool, projection.as_ref(), events).await.unwrap();
            }
        }
        builds.push(snapshot(&pool).await);
    }
    let rows: Vec<usize> = builds[0].iter().map(Vec::len).collect();
    assert_eq!(rows, vec![6, 6, 6, 3, 3], "rows per table");
    assert_eq!(builds[0], builds[1], "batches of 7");
    assert_eq!(builds[0], builds[2], "one event per batch");

    // Applying a batch again changes nothing: its events are recognised as folded.
    for projection in &projections {
        apply(&pool, projection.as_ref(), &log).await.unwrap();
    }
    assert_eq!(snapshot(&pool).await, builds[0], "a batch applied twice");
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_stream_the_reader_delivers_out_of_order_is_still_folded_in_order(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let pool = small_pool(pool_options, connect_options.clone()).await;
    let cart = id(1);
    let stream = cart.to_string();
    // A transaction takes its id first, then appends sequence 2 only after another,
    // younger transaction appended and committed sequence 1: the reader, ordering
    // by transaction id, delivers sequence 2 before sequence 1.
    let mut early = sqlx::PgConnection::connect_with(&connect_options)
        .await
        .unwrap();
    let mut early_tx = early.begin().await.unwrap();
    sqlx::query("SELECT pg_current_xact_id()")
        .execute(&mut *early_tx)
        .await
        .unwrap();
    append(&pool, "Cart", &stream, 1, &opened(cart, None)).await;
    append(
        &mut *early_tx,
        "Cart",
        &stream,
        2,
        &added("A", 100, 1, 100, 1),
    )
    .await;
    early_tx.commit().await.unwrap();
    append(&pool, "Cart", &stream, 3, &added("B", 200, 1, 300, 2)).await;

    let log = committed_log(&pool).await;
    let sequences: Vec<i64> = log.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, vec![2, 1, 3], "the reader's order");

    let projection = CartsProjection::new();
    let expected = {
        let view = super::fixtures::fold_all::<CartView>(vec![
            opened(cart, None),
            added("A", 100, 1, 100, 1),
            added("B", 200, 1, 300, 2),
        ])
        .unwrap();
        (view.lines.len(), view.subtotal.amount, view.version)
    };
    let summary = |view: CartView| (view.lines.len(), view.subtotal.amount, view.version);

    // All in one batch: sorted by sequence before folding.
    apply(&pool, &projection, &log).await.unwrap();
    let whole = carts::get(&pool, cart).await.unwrap().unwrap();
    assert_eq!(summary(whole.clone()), expected);

    // One event per batch: sequence 2 comes first, so sequence 1 is read from the
    // log to fill the gap, and passed over when it arrives.
    let mut tx = pool.begin().await.unwrap();
    projection.reset(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    for event in &log {
        apply(&pool, &projection, std::slice::from_ref(event))
            .await
            .unwrap();
        let view = carts::get(&pool, cart).await.unwrap().unwrap();
        assert!(view.version >= 2, "sequence 2 needed sequence 1 first");
    }
    let one_by_one = carts::get(&pool, cart).await.unwrap().unwrap();
    assert_eq!(one_by_one, whole);
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_bad_event_stops_the_projection_naming_it(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let pool = small_pool(pool_options, connect_options).await;
    let insert = |aggregate_id: String, event_type: &'static str, payload: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
                 VALUES ('Cart', $1, 1, $2, '1', $3::json, '{}') RETURNING global_position",
            )
            .bind(aggregate_id)
            .bind(event_type)
            .bind(payload)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let projection = CartsProjection::new();
    let only = |position: i64, log: Vec<RecordedEvent>| -> Vec<RecordedEvent> {
        log.into_iter()
            .filter(|e| e.global_position == position)
            .collect()
    };

    let garbled = insert(
        id(1).to_string(),
        "ItemAdded",
        r#"{"ItemAdded": {"nope": 1}}"#,
    )
    .await;
    let log = only(garbled, committed_log(&pool).await);
    match apply(&pool, &projection, &log).await {
        Err(Error::Log(eventlog::Error::Decode {
            global_position,
            event_type,
            ..
        })) => {
            assert_eq!(
                (global_position, event_type.as_str()),
                (garbled, "ItemAdded")
            );
        }
        other => panic!("expected a decode error, got {other:?}"),
    }

    let orphan = insert(id(2).to_string(), "CartAbandoned", ABANDONED).await;
    let log = only(orphan, committed_log(&pool).await);
    let error = apply(&pool, &projection, &log).await.unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, Error::Rejected(_))
            && message.contains(&orphan.to_string())
            && message.contains("CartAbandoned"),
        "{message}"
    );

    let not_a_uuid = insert("cart-3".into(), "CartAbandoned", ABANDONED).await;
    let log = only(not_a_uuid, committed_log(&pool).await);
    let message = apply(&pool, &projection, &log)
        .await
        .unwrap_err()
        .to_string();
    assert!(message.contains("not a UUID"), "{message}");

    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM read_carts")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 0, "a failed batch writes nothing");
}

const ABANDONED: &str = r#"{"CartAbandoned": {"customer_id": null, "subtotal": {"amount": 0, "currency": "EUR"}, "item_count": 0, "abandoned_at": "2026-11-23T09:00:00Z"}}"#;

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_projection_ignores_other_aggregates_events(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let pool = small_pool(pool_options, connect_options).await;
    let cart = id(1);
    append(&pool, "Cart", &cart.to_string(), 1, &opened(cart, None)).await;
    let log = committed_log(&pool).await;
    apply(&pool, &DocumentProjection::<ProductView>::new(), &log)
        .await
        .unwrap();
    apply(&pool, &DocumentProjection::<OrderView>::new(), &log)
        .await
        .unwrap();
    let rows: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM read_products) + (SELECT count(*) FROM read_orders)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(rows, 0);
}

async fn caught_up(pool: &PgPool, events: i64) -> bool {
    let lags = projector_lags(pool).await.unwrap();
    let ours: Vec<_> = lags
        .iter()
        .filter(|lag| {
            ["products", "inventory", "carts", "orders", "payments"]
                .contains(&lag.projector.as_str())
        })
        .collect();
    let requested: i64 =
        sqlx::query_scalar("SELECT count(*) FROM projector_checkpoints WHERE rebuild_requested")
            .fetch_one(pool)
            .await
            .unwrap();
    requested == 0
        && ours.len() == 5
        && ours.iter().all(|lag| {
            lag.positions_behind == 0 && lag.events_applied == events && lag.failure.is_none()
        })
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn the_runtime_builds_every_read_model_and_a_rebuild_gives_identical_views(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let pool = small_pool(pool_options, connect_options).await;
    write_a_mixed_log(&pool).await;
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&pool)
        .await
        .unwrap();

    let cancel = CancellationToken::new();
    let options = ProjectorOptions {
        max_batch: 5,
        poll_interval: Duration::from_millis(50),
        standby_retry: Duration::from_millis(50),
        ..ProjectorOptions::default()
    };
    let mut runtime = ProjectorRuntime::new(
        pool.clone(),
        LogWakeups::start(pool.clone(), cancel.clone()),
        options,
    );
    for projection in all_projections() {
        runtime = runtime.with(Projector::Postgres(projection), OnFailure::Stop);
    }
    assert_eq!(
        runtime.projector_names(),
        ["products", "inventory", "carts", "orders", "payments"]
    );
    let running = runtime.start(cancel.clone()).await.unwrap();

    wait_until(
        Duration::from_secs(30),
        "every read model caught up",
        || caught_up(&pool, events),
    )
    .await;
    let built = snapshot(&pool).await;
    assert_eq!(
        built.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![6, 6, 6, 3, 3]
    );

    for name in ["products", "inventory", "carts", "orders", "payments"] {
        request_rebuild(&pool, name).await.unwrap();
    }
    wait_until(Duration::from_secs(30), "every read model rebuilt", || {
        caught_up(&pool, events)
    })
    .await;
    assert_eq!(
        snapshot(&pool).await,
        built,
        "reset and replay give identical views"
    );

    cancel.cancel();
    for (name, outcome) in running.join().await {
        assert!(outcome.is_ok(), "{name}: {outcome:?}");
    }
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn views_remembered_from_a_table_are_not_trusted_in_the_one_swapped_in_for_it(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let pool = small_pool(pool_options, connect_options).await;
    let cart = id(7);
    append(&pool, "Cart", &cart.to_string(), 1, &opened(cart, None)).await;
    let live = DocumentProjection::<CartView>::new();
    apply(&pool, &live, &committed_log(&pool).await)
        .await
        .unwrap();

    // A rebuild beside the live table swaps in one whose row holds the same
    // position but another document (the repair the rebuild was run for).
    sqlx::raw_sql(
        "CREATE TABLE read_carts_rebuilt (LIKE read_carts INCLUDING ALL);
         INSERT INTO read_carts_rebuilt SELECT * FROM read_carts;
         UPDATE read_carts_rebuilt SET doc = jsonb_set(doc, '{created_at}', '\"2020-01-01T00:00:00Z\"');
         ALTER TABLE read_carts RENAME TO read_carts_retired;
         ALTER TABLE read_carts_rebuilt RENAME TO read_carts;",
    )
    .execute(&pool)
    .await
    .unwrap();

    // The live instance, which remembers the old document, folds the next event.
    append(
        &pool,
        "Cart",
        &cart.to_string(),
        2,
        &added("MUG-1", 500, 1, 500, 1),
    )
    .await;
    apply(&pool, &live, &committed_log(&pool).await)
        .await
        .unwrap();
    let view = carts::get(&pool, cart).await.unwrap().unwrap();
    assert_eq!(view.version, 2);
    assert_eq!(
        view.created_at.to_rfc3339(),
        "2020-01-01T00:00:00+00:00",
        "the next event was folded onto the swapped-in document, not a remembered one"
    );
}
