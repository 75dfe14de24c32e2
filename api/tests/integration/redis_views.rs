//! The hot views over HTTP: `GET /queries/carts/{id}` and `/queries/inventory/{sku}`
//! answer from Redis once it holds the view and has reached the caller's token,
//! from PostgreSQL otherwise, and say which in `X-Read-Source`; a Redis that is
//! down or comes back empty never fails a query or a command.
//!
//! Tests that stop or pause Redis start a Redis of their own on a free port.

use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use sqlx::PgPool;

use crate::fixtures::{
    add_item, customer, customer_cart, guest_cart, published_product, stocked, GuestCart,
};
use crate::support::{spawn_app, spawn_app_with_redis, Caller, Reply, TestApp};

/// A `redis-server` of the test's own, stopped when dropped.
struct ScratchRedis {
    port: u16,
}

impl ScratchRedis {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let redis = ScratchRedis { port };
        redis.restart();
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts it (again, empty: nothing is saved) and waits until it answers.
    fn restart(&self) {
        let started = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "yes"])
            .status()
            .expect("run redis-server");
        assert!(started.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.cli(&["ping"]) != "PONG" {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(&self) {
        self.cli(&["shutdown", "nosave"]);
    }

    fn cli(&self, args: &[&str]) -> String {
        let output = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("run redis-cli");
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }
}

impl Drop for ScratchRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

fn source(reply: &Reply) -> &str {
    reply.header("x-read-source").unwrap_or_default()
}

/// Queries `path` until the answer comes from `wanted` and satisfies `check`.
async fn until_read_from(
    app: &TestApp,
    path: &str,
    caller: Caller<'_>,
    consistency: Option<&str>,
    wanted: &str,
    check: impl Fn(&Reply) -> bool,
) -> Reply {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = app.query(path, caller, consistency).await;
        assert_eq!(answer.status, 200, "GET {path}: {}", answer.body);
        if source(&answer) == wanted && check(&answer) {
            return answer;
        }
        assert!(
            Instant::now() < deadline,
            "GET {path} never came from {wanted}: last from {} with {}",
            source(&answer),
            answer.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn carts_and_stock_come_from_redis_equal_to_postgres_and_keep_their_access_rules(
    pool: PgPool,
) {
    let app = spawn_app(pool.clone(), true).await;
    // The same database, read by an API whose Redis is unreachable.
    let postgres_only = spawn_app_with_redis(pool, false, "redis://127.0.0.1:1").await;
    published_product(&app, "MUG-1", 1250, "kitchen").await;
    stocked(&app, "MUG-1", 2, 10).await;
    let guest = guest_cart(&app).await;
    let added = add_item(&app, &guest.id, Caller::Guest(&guest.token), "MUG-1", 2).await;
    let token = added.consistency();
    let path = format!("/queries/carts/{}", guest.id);

    let hot = until_read_from(
        &app,
        &path,
        Caller::Guest(&guest.token),
        Some(&token),
        "redis",
        |_| true,
    )
    .await;
    assert_eq!(
        (
            hot.body["item_count"].as_u64(),
            &hot.body["subtotal"]["amount"]
        ),
        (Some(2), &serde_json::json!(2500))
    );
    let cold = postgres_only
        .query(&path, Caller::Guest(&guest.token), Some(&token))
        .await;
    assert_eq!(source(&cold), "postgres");
    assert_eq!(hot.body, cold.body);

    // A guest cart opens only with its token, from Redis too.
    for caller in [Caller::Anonymous, Caller::Guest("forged")] {
        let refused = app.query(&path, caller, None).await;
        assert_eq!(refused.status, 404, "{}", refused.body);
    }
    // A customer's cart opens only for them.
    let ada = customer(&app);
    let cart = customer_cart(&app, &ada).await;
    let added = add_item(&app, &cart, Caller::Bearer(&ada.token), "MUG-1", 1).await;
    let path = format!("/queries/carts/{cart}");
    until_read_from(
        &app,
        &path,
        Caller::Bearer(&ada.token),
        Some(&added.consistency()),
        "redis",
        |_| true,
    )
    .await;
    let other = customer(&app);
    let refused = app.query(&path, Caller::Bearer(&other.token), None).await;
    assert_eq!(refused.status, 404, "{}", refused.body);

    let stock = until_read_from(
        &app,
        "/queries/inventory/MUG-1",
        Caller::Anonymous,
        Some(&added.consistency()),
        "redis",
        |_| true,
    )
    .await;
    let cold = postgres_only
        .query("/queries/inventory/MUG-1", Caller::Anonymous, None)
        .await;
    assert_eq!((source(&cold), &stock.body), ("postgres", &cold.body));
    let unknown = app
        .query("/queries/inventory/NO-SUCH-SKU", Caller::Anonymous, None)
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn with_redis_unreachable_queries_answer_from_postgres_and_commands_succeed(pool: PgPool) {
    let app = spawn_app_with_redis(pool, true, "redis://127.0.0.1:1").await;
    published_product(&app, "MUG-1", 1250, "kitchen").await;
    stocked(&app, "MUG-1", 2, 10).await;
    let guest = guest_cart(&app).await;
    let added = add_item(&app, &guest.id, Caller::Guest(&guest.token), "MUG-1", 3).await;

    for _ in 0..3 {
        let started = Instant::now();
        let cart = app
            .query(
                &format!("/queries/carts/{}", guest.id),
                Caller::Guest(&guest.token),
                Some(&added.consistency()),
            )
            .await;
        assert_eq!(cart.status, 200, "{}", cart.body);
        assert_eq!(source(&cart), "postgres");
        assert_eq!(cart.body["item_count"], 3);
        assert!(started.elapsed() < Duration::from_secs(2));
        let stock = app
            .query("/queries/inventory/MUG-1", Caller::Anonymous, None)
            .await;
        assert_eq!((stock.status, source(&stock)), (200, "postgres"));
    }
}

/// The app on `redis`, with MUG-1 on sale and in stock (10), and a guest's cart
/// holding one, served from Redis; the cart's query path.
async fn guest_cart_in_redis(pool: PgPool, redis: &ScratchRedis) -> (TestApp, GuestCart, String) {
    let app = spawn_app_with_redis(pool, true, &redis.url()).await;
    published_product(&app, "MUG-1", 1250, "kitchen").await;
    stocked(&app, "MUG-1", 2, 10).await;
    let guest = guest_cart(&app).await;
    let added = add_item(&app, &guest.id, Caller::Guest(&guest.token), "MUG-1", 1).await;
    let path = format!("/queries/carts/{}", guest.id);
    until_read_from(
        &app,
        &path,
        Caller::Guest(&guest.token),
        Some(&added.consistency()),
        "redis",
        |_| true,
    )
    .await;
    (app, guest, path)
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn when_redis_comes_back_empty_the_views_catch_up(pool: PgPool) {
    let redis = ScratchRedis::start();
    let (app, guest, path) = guest_cart_in_redis(pool, &redis).await;
    published_product(&app, "CUP-1", 800, "kitchen").await;

    redis.stop();
    // Commands go on; queries answer from PostgreSQL.
    let added = add_item(&app, &guest.id, Caller::Guest(&guest.token), "CUP-1", 2).await;
    let token = added.consistency();
    let cart = app
        .query(&path, Caller::Guest(&guest.token), Some(&token))
        .await;
    assert_eq!((cart.status, source(&cart)), (200, "postgres"));
    assert_eq!(cart.body["item_count"], 3);

    // Back, empty: the projector catches up and rebuilds what Redis lost, the SKU
    // untouched since included.
    redis.restart();
    let cart = until_read_from(
        &app,
        &path,
        Caller::Guest(&guest.token),
        Some(&token),
        "redis",
        |_| true,
    )
    .await;
    assert_eq!(cart.body["item_count"], 3);
    until_read_from(
        &app,
        "/queries/inventory/MUG-1",
        Caller::Anonymous,
        Some(&token),
        "redis",
        |stock| stock.body["available"] == 10,
    )
    .await;
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_token_redis_has_not_reached_is_answered_from_postgres(pool: PgPool) {
    let redis = ScratchRedis::start();
    let (app, guest, path) = guest_cart_in_redis(pool, &redis).await;

    // Writes paused: Redis still answers reads, but falls behind the log.
    assert_eq!(redis.cli(&["client", "pause", "10000", "write"]), "OK");
    let added = add_item(&app, &guest.id, Caller::Guest(&guest.token), "MUG-1", 4).await;
    let token = added.consistency();
    let fresh = app
        .query(&path, Caller::Guest(&guest.token), Some(&token))
        .await;
    assert_eq!((fresh.status, source(&fresh)), (200, "postgres"));
    assert_eq!(fresh.body["item_count"], 5);
    let stale = app.query(&path, Caller::Guest(&guest.token), None).await;
    assert_eq!((stale.status, source(&stale)), (200, "redis"));
    assert_eq!(stale.body["item_count"], 1);

    assert_eq!(redis.cli(&["client", "unpause"]), "OK");
    until_read_from(
        &app,
        &path,
        Caller::Guest(&guest.token),
        Some(&token),
        "redis",
        |cart| cart.body["item_count"] == 5,
    )
    .await;
}
