//! The hot views against a real Redis and PostgreSQL: values equal the read
//! models', never move backwards, rebuilds switch readers at once, and a Redis
//! that is down fails fast and transiently. Each test writes under a prefix of
//! its own, so tests share one Redis without meeting.

use std::time::{Duration, Instant};

use eventlog::RecordedEvent;
use projections::read_models::carts::{self, CartView};
use projections::read_models::inventory::{self, InventoryView};
use projections::redis_views::{HotViews, KeySpace, RedisTarget, RedisViewsSink};
use projections::runtime::SideEffectSink;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use uuid::Uuid;

use crate::read_models::carts::{added, opened};
use crate::read_models::fixtures::{append, committed_log, id, project, small_pool};
use crate::read_models::inventory::{received, registered};

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// The shared Redis, under a prefix no other test uses.
fn own_target() -> RedisTarget {
    RedisTarget {
        client: redis::Client::open(redis_url()).unwrap(),
        keys: KeySpace::new(format!("test:{}", Uuid::new_v4())),
    }
}

fn reader(target: &RedisTarget) -> HotViews {
    HotViews::new(target, Duration::from_secs(2)).unwrap()
}

/// A cart opened and given four lines, each event in its own transaction.
async fn cart_log(pool: &PgPool, cart: Uuid) -> Vec<RecordedEvent> {
    let stream = cart.to_string();
    append(pool, "Cart", &stream, 1, &opened(cart, None)).await;
    append(pool, "Cart", &stream, 2, &added("A", 100, 1, 100, 1)).await;
    append(pool, "Cart", &stream, 3, &added("B", 250, 2, 600, 3)).await;
    append(pool, "Cart", &stream, 4, &added("C", 50, 1, 650, 4)).await;
    committed_log(pool).await
}

async fn hot_cart(reader: &HotViews, cart: Uuid) -> (CartView, String) {
    let found = reader
        .get::<CartView>(&cart.to_string())
        .await
        .unwrap()
        .expect("the cart in Redis");
    (found.view, found.position.to_string())
}

async fn keys_matching(target: &RedisTarget, pattern: &str) -> Vec<String> {
    let mut redis = target
        .client
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    redis::cmd("KEYS")
        .arg(pattern)
        .query_async(&mut redis)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_value_never_moves_backwards_when_batches_come_again_or_late(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let pool = small_pool(pool_options, connect_options).await;
    let cart = id(7);
    let log = cart_log(&pool, cart).await;
    let target = own_target();
    let reader = reader(&target);

    // A remembers the cart at version 2; B, another process, takes it to 4.
    let a = RedisViewsSink::new(&target, pool.clone()).unwrap();
    a.deliver(&log[..2]).await.unwrap();
    let b = RedisViewsSink::new(&target, pool.clone()).unwrap();
    b.deliver(&log).await.unwrap();
    let (latest, position) = hot_cart(&reader, cart).await;
    assert_eq!((latest.version, latest.lines.len()), (4, 3));
    assert_eq!(position, log[3].checkpoint().to_string());

    // A, late, folds event 3 onto what it remembers: a version-3 value at an older
    // position, which Redis refuses.
    a.deliver(&log[2..3]).await.unwrap();
    assert_eq!(
        hot_cart(&reader, cart).await,
        (latest.clone(), position.clone())
    );

    // Every batch again, in any order, by a process that remembers nothing.
    let c = RedisViewsSink::new(&target, pool.clone()).unwrap();
    for batch in [&log[..1], &log[1..3], &log[..], &log[3..]] {
        c.deliver(batch).await.unwrap();
        assert_eq!(
            hot_cart(&reader, cart).await,
            (latest.clone(), position.clone())
        );
    }

    // The same view as the PostgreSQL read model's.
    project::<CartView>(&pool).await;
    assert_eq!(carts::get(&pool, cart).await.unwrap(), Some(latest));
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_stream_met_out_of_order_is_completed_from_the_log(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let pool = small_pool(pool_options, connect_options).await;
    let cart = id(8);
    let log = cart_log(&pool, cart).await;
    let target = own_target();
    let reader = reader(&target);
    let sink = RedisViewsSink::new(&target, pool.clone()).unwrap();

    // Event 3 first: events 1 and 2 are read from the log and folded before it.
    sink.deliver(&log[2..3]).await.unwrap();
    let (view, _) = hot_cart(&reader, cart).await;
    assert_eq!((view.version, view.item_count), (3, 3));

    // The earlier events, late: nothing changes.
    sink.deliver(&log[..2]).await.unwrap();
    assert_eq!(hot_cart(&reader, cart).await.0, view);

    sink.deliver(&log[3..]).await.unwrap();
    project::<CartView>(&pool).await;
    assert_eq!(
        Some(hot_cart(&reader, cart).await.0),
        carts::get(&pool, cart).await.unwrap()
    );
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn stock_views_equal_the_stock_read_model(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let pool = small_pool(pool_options, connect_options).await;
    append(&pool, "Inventory", "SKU-R", 1, &registered("SKU-R", 3)).await;
    append(
        &pool,
        "Inventory",
        "SKU-R",
        2,
        &received("SKU-R", 10, 10, 0),
    )
    .await;
    let log = committed_log(&pool).await;
    let target = own_target();
    RedisViewsSink::new(&target, pool.clone())
        .unwrap()
        .deliver(&log)
        .await
        .unwrap();

    let hot = reader(&target)
        .get::<InventoryView>("SKU-R")
        .await
        .unwrap()
        .expect("the SKU in Redis");
    assert_eq!((hot.view.available, hot.view.low_stock), (10, false));
    assert_eq!(hot.checkpoint, Some(log[1].checkpoint()));
    project::<InventoryView>(&pool).await;
    assert_eq!(
        inventory::get(&pool, "SKU-R").await.unwrap(),
        Some(hot.view)
    );
    assert_eq!(
        reader(&target)
            .get::<InventoryView>("SKU-NONE")
            .await
            .unwrap(),
        None
    );
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_rebuild_fills_a_new_generation_and_switches_readers_at_once(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let pool = small_pool(pool_options, connect_options).await;
    let cart = id(9);
    let log = cart_log(&pool, cart).await;
    let target = own_target();
    let reader = reader(&target);
    let sink = RedisViewsSink::new(&target, pool.clone()).unwrap();
    sink.deliver(&log).await.unwrap();
    let before = hot_cart(&reader, cart).await;
    let prefix = target.keys.prefix().to_owned();
    assert_eq!(
        keys_matching(&target, &format!("{prefix}:g1:cart:*"))
            .await
            .len(),
        1
    );

    sink.reset().await.unwrap();
    // Readers keep the old generation until the new one has caught up with it.
    assert_eq!(hot_cart(&reader, cart).await, before);
    sink.deliver(&log[..2]).await.unwrap();
    assert_eq!(hot_cart(&reader, cart).await, before);
    assert_eq!(
        keys_matching(&target, &format!("{prefix}:g2:cart:*"))
            .await
            .len(),
        1
    );

    sink.deliver(&log[2..]).await.unwrap();
    assert_eq!(hot_cart(&reader, cart).await, before);
    let mut redis = target
        .client
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let generation: String = redis::cmd("GET")
        .arg(format!("{prefix}:generation"))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(generation, "2");
    assert!(keys_matching(&target, &format!("{prefix}:g1:*"))
        .await
        .is_empty());
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_redis_that_is_down_fails_fast_and_transiently(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let pool = small_pool(pool_options, connect_options).await;
    let log = cart_log(&pool, id(10)).await;
    let target = RedisTarget {
        client: redis::Client::open("redis://127.0.0.1:1").unwrap(),
        keys: KeySpace::new("nowhere"),
    };
    let error = RedisViewsSink::new(&target, pool.clone())
        .unwrap()
        .deliver(&log)
        .await
        .unwrap_err();
    assert!(error.is_transient(), "{error}");

    let reader = HotViews::new(&target, Duration::from_millis(50)).unwrap();
    for _ in 0..3 {
        let started = Instant::now();
        let error = reader
            .get::<CartView>(&id(10).to_string())
            .await
            .unwrap_err();
        assert!(error.is_transient(), "{error}");
        assert!(
            started.elapsed() < Duration::from_millis(300),
            "{:?}",
            started.elapsed()
        );
    }
}
