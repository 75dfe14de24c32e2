//! `commerce-replay rebuild` against a real PostgreSQL: a read model rebuilt
//! beside the live one while events are written and its live projector runs,
//! then swapped in without stopping that projector.

use std::collections::BTreeMap;
use std::future::Future;
use std::process::Output;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::Utc;
use cqrs_es::DomainEvent;
use domain::cart::{CartEvent, CartLine};
use domain::product::ProductEvent;
use domain::shared::{CartId, Currency, CustomerId, Money, ProductId, Quantity, Sku};
use eventlog::{read_batch, Checkpoint, LogWakeups, RecordedEvent};
use projections::read_models::carts::CartsProjection;
use projections::read_models::event_counts::EventCountsProjection;
use projections::runtime::{
    rebuild_beside, request_and_follow_rebuild, FollowOptions, OnFailure, PostgresProjection,
    Projector, ProjectorOptions, ProjectorRuntime, ProjectorState, RebuildOptions,
    RunningProjectors, SideEffectSink,
};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

// ---------------------------------------------------------------------------
// Writing cart events

/// Carts being filled, each with what its next event must say.
struct Carts {
    eur: Currency,
    carts: Vec<Cart>,
    next_add: usize,
}

struct Cart {
    id: Uuid,
    next_sequence: i64,
    lines: u32,
    subtotal: i64,
}

/// An event ready to append to a cart stream.
type CartAppend = (String, i64, CartEvent);

impl Carts {
    fn new() -> Self {
        Carts {
            eur: Currency::new("EUR").unwrap(),
            carts: Vec::new(),
            next_add: 0,
        }
    }

    /// Opens `open` new carts (every other one a customer's) and adds a line to
    /// `add` carts already open, round robin.
    fn next_events(&mut self, open: usize, add: usize) -> Vec<CartAppend> {
        let mut events = Vec::with_capacity(open + add);
        for _ in 0..open {
            let id = Uuid::new_v4();
            let customer = self
                .carts
                .len()
                .is_multiple_of(2)
                .then(|| CustomerId::new(Uuid::new_v4()));
            events.push((
                id.to_string(),
                1,
                CartEvent::CartOpened {
                    cart_id: CartId::new(id),
                    currency: self.eur,
                    customer_id: customer,
                    opened_at: Utc::now(),
                },
            ));
            self.carts.push(Cart {
                id,
                next_sequence: 2,
                lines: 0,
                subtotal: 0,
            });
        }
        for _ in 0..add.min(self.carts.len()) {
            let index = self.next_add % self.carts.len();
            let cart = &mut self.carts[index];
            self.next_add += 1;
            let price = 100 + i64::from(cart.lines);
            cart.lines += 1;
            cart.subtotal += price;
            events.push((
                cart.id.to_string(),
                cart.next_sequence,
                CartEvent::ItemAdded {
                    line: CartLine {
                        sku: Sku::new(format!("SKU-{}", cart.lines)).unwrap(),
                        name: format!("Product {}", cart.lines),
                        unit_price: Money::new(price, self.eur),
                        quantity: Quantity::new(1).unwrap(),
                        line_total: Money::new(price, self.eur),
                        price_changed: false,
                    },
                    quantity_added: Quantity::new(1).unwrap(),
                    subtotal: Money::new(cart.subtotal, self.eur),
                    item_count: cart.lines,
                    discounts: None,
                },
            ));
            cart.next_sequence += 1;
        }
        events
    }
}

/// Appends `events` in one statement (one transaction), as postgres-es writes
/// them: its seven columns, the rest filled by defaults and the hash trigger.
async fn append_carts(pool: &PgPool, events: &[CartAppend]) {
    let ids: Vec<&str> = events.iter().map(|(id, _, _)| id.as_str()).collect();
    let sequences: Vec<i64> = events.iter().map(|(_, sequence, _)| *sequence).collect();
    let types: Vec<String> = events.iter().map(|(_, _, e)| e.event_type()).collect();
    let versions: Vec<String> = events.iter().map(|(_, _, e)| e.event_version()).collect();
    let payloads: Vec<String> = events
        .iter()
        .map(|(_, _, e)| serde_json::to_string(e).unwrap())
        .collect();
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         SELECT 'Cart', e.id, e.sequence, e.event_type, e.event_version, e.payload::json,
                '{\"actor\": \"tester\", \"actor_role\": \"customer\", \"command\": \"add-item\"}'::json
           FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[])
                AS e(id, sequence, event_type, event_version, payload)",
    )
    .bind(ids)
    .bind(sequences)
    .bind(types)
    .bind(versions)
    .bind(payloads)
    .execute(pool)
    .await
    .unwrap();
}

/// `carts` carts of `lines` lines each, written in transactions of a few
/// hundred events.
async fn seed_carts(pool: &PgPool, carts: &mut Carts, count: usize, lines: usize) {
    for _ in 0..count.div_ceil(100) {
        let mut events = carts.next_events(100, 0);
        for _ in 0..lines {
            events.extend(carts.next_events(0, 100));
        }
        append_carts(pool, &events).await;
    }
}

/// A product event, which the carts read model passes over. Its checkpoint.
async fn append_product(pool: &PgPool) -> Checkpoint {
    let eur = Currency::new("EUR").unwrap();
    let product_id = ProductId::new(Uuid::new_v4());
    let event = ProductEvent::ProductCreated {
        product_id,
        sku: Sku::new("MUG-1").unwrap(),
        name: "Mug".into(),
        description: "A mug".into(),
        category: "Kitchen".into(),
        brand: "Acme".into(),
        price: Money::new(1000, eur),
        attributes: BTreeMap::new(),
    };
    let (transaction_id, global_position): (i64, i64) = sqlx::query_as(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         VALUES ('Product', $1, 1, $2, $3, $4::json, '{}')
         RETURNING transaction_id::text::bigint, global_position",
    )
    .bind(product_id.to_string())
    .bind(event.event_type())
    .bind(event.event_version())
    .bind(serde_json::to_string(&event).unwrap())
    .fetch_one(pool)
    .await
    .unwrap();
    Checkpoint::new(transaction_id as u64, global_position)
}

// ---------------------------------------------------------------------------
// Pools, the live projectors, the binary

async fn connect(options: &PgConnectOptions, application: &str, size: u32) -> PgPool {
    PgPoolOptions::new()
        .max_connections(size)
        .connect_with(options.clone().application_name(application))
        .await
        .unwrap()
}

/// The live projectors, run as the API runs them, with small batches so that
/// many of their transactions meet the rebuild's.
async fn start_live(
    pool: &PgPool,
    cancel: &CancellationToken,
    projections: Vec<Arc<dyn PostgresProjection>>,
) -> RunningProjectors {
    let options = ProjectorOptions {
        max_batch: 50,
        poll_interval: Duration::from_millis(50),
        gather: Duration::ZERO,
        ..ProjectorOptions::default()
    };
    let mut runtime = ProjectorRuntime::new(
        pool.clone(),
        LogWakeups::start(pool.clone(), cancel.clone()),
        options,
    );
    for projection in projections {
        runtime = runtime.with(Projector::Postgres(projection), OnFailure::Stop);
    }
    runtime.start(cancel.clone()).await.unwrap()
}

/// Stops the live projectors, which must have run without an error.
async fn stop_live(cancel: &CancellationToken, running: RunningProjectors) {
    cancel.cancel();
    for (name, outcome) in running.join().await {
        assert!(outcome.is_ok(), "{name}: {outcome:?}");
    }
}

async fn wait_until<F, Fut>(timeout: Duration, what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !condition().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The projector's checkpoint row.
async fn checkpoint_of(pool: &PgPool, projector: &str) -> Checkpoint {
    let (transaction_id, global_position): (i64, i64) = sqlx::query_as(
        "SELECT transaction_id::text::bigint, global_position FROM projector_checkpoints
          WHERE projector = $1",
    )
    .bind(projector)
    .fetch_optional(pool)
    .await
    .unwrap()
    .unwrap_or_default();
    Checkpoint::new(transaction_id as u64, global_position)
}

/// Waits until `projector` has applied every event written so far.
async fn wait_for_head(pool: &PgPool, projector: &str) {
    let head: (i64, i64) = sqlx::query_as(
        "SELECT transaction_id::text::bigint, global_position FROM events
          ORDER BY transaction_id DESC, global_position DESC LIMIT 1",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    let head = Checkpoint::new(head.0 as u64, head.1);
    wait_until(
        Duration::from_secs(60),
        "the live projector reached the head",
        || async { checkpoint_of(pool, projector).await >= head },
    )
    .await;
}

/// Runs `commerce-replay` on the test's database, off the runtime's threads so
/// the live projectors and writers of the test go on meanwhile.
async fn replay(pool: &PgPool, args: &[&str]) -> Output {
    let pool = pool.clone();
    let args: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        crate::support::replay(&pool, &args)
    })
    .await
    .unwrap()
}

/// The JSON report of a rebuild that must succeed.
async fn rebuild_json(pool: &PgPool, projector: &str) -> serde_json::Value {
    let output = replay(pool, &["rebuild", projector, "--json"]).await;
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

// ---------------------------------------------------------------------------
// Comparing with a fold from scratch

/// Folds the whole log into a fresh copy of `read_carts` with the same
/// projection, and asserts it holds exactly the rows of the live table.
async fn assert_carts_equal_a_fold_from_scratch(pool: &PgPool) {
    sqlx::raw_sql(
        "DROP TABLE IF EXISTS read_carts_from_scratch;
         CREATE TABLE read_carts_from_scratch (LIKE read_carts INCLUDING ALL)",
    )
    .execute(pool)
    .await
    .unwrap();
    let projection = CartsProjection::on_table("read_carts_from_scratch");
    let mut after = Checkpoint::START;
    loop {
        let mut tx = pool.begin().await.unwrap();
        let events: Vec<RecordedEvent> = read_batch(&mut *tx, after, 5000).await.unwrap();
        let Some(last) = events.last() else { break };
        after = last.checkpoint();
        projection.apply(&mut tx, &events).await.unwrap();
        tx.commit().await.unwrap();
    }
    let (live, from_scratch, only_live, only_from_scratch): (i64, i64, i64, i64) =
        sqlx::query_as(
            "SELECT (SELECT count(*) FROM read_carts),
                    (SELECT count(*) FROM read_carts_from_scratch),
                    (SELECT count(*) FROM (TABLE read_carts EXCEPT TABLE read_carts_from_scratch) d),
                    (SELECT count(*) FROM (TABLE read_carts_from_scratch EXCEPT TABLE read_carts) d)",
        )
        .fetch_one(pool)
        .await
        .unwrap();
    assert!(live > 0);
    assert_eq!(
        (live, only_live, only_from_scratch),
        (from_scratch, 0, 0),
        "the live read model and a fold from scratch differ"
    );
}

/// Tables whose names say they are a rebuild's leftovers.
async fn leftovers(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT relname::text FROM pg_class
          WHERE relname LIKE '%\\_\\_rebuild' OR relname LIKE '%\\_\\_retired'
          ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

/// Records every state the projector passes through once active.
fn watch_states(running: &RunningProjectors, projector: &'static str) -> Arc<AtomicBool> {
    let left_active = Arc::new(AtomicBool::new(false));
    let states = running.states();
    let flag = left_active.clone();
    tokio::spawn(async move {
        let mut was_active = false;
        loop {
            match states.get(projector) {
                Some(ProjectorState::Active) => was_active = true,
                Some(_) if was_active => flag.store(true, Ordering::SeqCst),
                _ => {}
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    });
    left_active
}

async fn failure_of(pool: &PgPool, projector: &str) -> Option<String> {
    sqlx::query_scalar("SELECT failure FROM projector_checkpoints WHERE projector = $1")
        .bind(projector)
        .fetch_one(pool)
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------
// The tests

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn rebuilds_while_events_are_written_end_equal_to_the_log(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = connect(&options, "test", 4).await;
    let live_pool = connect(&options, "live", 3).await;
    let mut carts = Carts::new();
    seed_carts(&pool, &mut carts, 2000, 4).await;

    let cancel = CancellationToken::new();
    let running = start_live(
        &live_pool,
        &cancel,
        vec![
            Arc::new(CartsProjection::new()),
            Arc::new(EventCountsProjection),
        ],
    )
    .await;
    let left_active = watch_states(&running, "carts");
    wait_for_head(&pool, "carts").await;

    // A writer adding lines and opening carts in small transactions throughout.
    let writing = CancellationToken::new();
    let written = Arc::new(AtomicU64::new(0));
    let writer = {
        let (pool, writing, written) = (pool.clone(), writing.clone(), written.clone());
        tokio::spawn(async move {
            while !writing.is_cancelled() {
                let events = carts.next_events(2, 20);
                append_carts(&pool, &events).await;
                written.fetch_add(events.len() as u64, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };
    wait_until(Duration::from_secs(30), "the writer wrote", || async {
        written.load(Ordering::SeqCst) > 200
    })
    .await;

    let written_before = written.load(Ordering::SeqCst);
    let report = rebuild_json(&pool, "carts").await;
    let written_during = written.load(Ordering::SeqCst) - written_before;
    // Counts expose an event applied twice or lost, which the carts' fold (it
    // passes over what it has folded, and reads back what it missed) would hide.
    let counted_before = written.load(Ordering::SeqCst);
    let counts_report = rebuild_json(&pool, "event_counts").await;
    assert!(
        written.load(Ordering::SeqCst) > counted_before,
        "nothing was written during the counts' rebuild"
    );
    assert_eq!(counts_report["how"], "beside");
    // Writes go on after the swap, onto the new table.
    let after_swap = written.load(Ordering::SeqCst);
    wait_until(
        Duration::from_secs(30),
        "the writer wrote after the swap",
        || async { written.load(Ordering::SeqCst) > after_swap + 200 },
    )
    .await;
    writing.cancel();
    writer.await.unwrap();
    wait_for_head(&pool, "carts").await;
    wait_for_head(&pool, "event_counts").await;
    let differing: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (
            (SELECT day, aggregate_type, event_type, events FROM read_event_counts
             EXCEPT SELECT (recorded_at AT TIME ZONE 'UTC')::date, aggregate_type, event_type, count(*)
                      FROM events GROUP BY 1, 2, 3)
            UNION ALL
            (SELECT (recorded_at AT TIME ZONE 'UTC')::date, aggregate_type, event_type, count(*)
               FROM events GROUP BY 1, 2, 3
             EXCEPT SELECT day, aggregate_type, event_type, events FROM read_event_counts)) AS d",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(differing, 0, "the rebuilt counts differ from the log's");
    assert_eq!(failure_of(&pool, "event_counts").await, None);

    assert!(written_during > 0, "nothing was written during the rebuild");
    assert_eq!(report["projector"], "carts");
    assert_eq!(report["how"], "beside");
    assert!(report["events"].as_u64().unwrap() >= 10_000, "{report}");
    let swapped_at: Checkpoint = report["at"].as_str().unwrap().parse().unwrap();
    assert!(checkpoint_of(&pool, "carts").await > swapped_at);
    assert_carts_equal_a_fold_from_scratch(&pool).await;
    assert_eq!(leftovers(&pool).await, Vec::<String>::new());
    assert!(
        !left_active.load(Ordering::SeqCst),
        "the live projector stopped"
    );
    assert_eq!(running.states().get("carts"), Some(ProjectorState::Active));
    assert_eq!(failure_of(&pool, "carts").await, None);
    stop_live(&cancel, running).await;
}

/// The race the swap is built for, made certain. The swap takes a transaction id
/// when it asks for its lock, so events written after that are hidden from every
/// reader of the log until it commits; a live batch that meets the swap holds
/// events written before. Open transactions (`holds`) hide the test's events
/// from the live projector until the right moment:
/// 1. a reader holds the live table, so the swap queues for its lock;
/// 2. a product event is let through: the live projector applies it without
///    touching `read_carts` and moves its checkpoint while the swap waits;
/// 3. a cart event is let through: its live batch queues behind the swap;
/// 4. the reader lets go: the swap folds the product event under its locks,
///    swaps, and the blocked batch resolves `read_carts` again: it lands in the
///    new table.
#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_live_batch_blocked_by_the_swap_lands_in_the_new_table(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = connect(&options, "test", 6).await;
    let live_pool = connect(&options, "live", 2).await;
    let rebuild_pool = connect(&options, "rebuild", 3).await;
    let mut carts = Carts::new();
    seed_carts(&pool, &mut carts, 300, 3).await;
    let cancel = CancellationToken::new();
    let running = start_live(
        &live_pool,
        &cancel,
        vec![
            Arc::new(CartsProjection::new()),
            Arc::new(EventCountsProjection),
        ],
    )
    .await;
    let left_active = watch_states(&running, "carts");
    wait_for_head(&pool, "carts").await;

    let hold = || async {
        let mut tx = pool.begin().await.unwrap();
        sqlx::query("SELECT pg_current_xact_id()")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx
    };
    let hold_product = hold().await;
    let product = append_product(&pool).await;
    let hold_cart = hold().await;
    let cart = carts.next_events(0, 1);
    append_carts(&pool, &cart).await;

    let mut reader = pool.begin().await.unwrap();
    sqlx::query("SELECT count(*) FROM read_carts")
        .execute(&mut *reader)
        .await
        .unwrap();
    let rebuild = tokio::spawn(async move {
        let options = RebuildOptions {
            lock_timeout: Duration::from_secs(60),
            ..RebuildOptions::default()
        };
        rebuild_beside(&rebuild_pool, &CartsProjection::new(), &options, &|_| {}).await
    });
    let waits_for_read_carts = |application: &'static str| {
        let pool = pool.clone();
        move || {
            let pool = pool.clone();
            async move {
                sqlx::query_scalar(
                    "SELECT EXISTS (
                        SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                         WHERE NOT l.granted AND l.relation = 'read_carts'::regclass
                           AND a.application_name = $1)",
                )
                .bind(application)
                .fetch_one(&pool)
                .await
                .unwrap()
            }
        }
    };
    wait_until(
        Duration::from_secs(30),
        "the swap waits for the live table",
        waits_for_read_carts("rebuild"),
    )
    .await;
    assert!(checkpoint_of(&pool, "carts").await < product);

    hold_product.commit().await.unwrap();
    wait_until(
        Duration::from_secs(30),
        "the live projector passed the product",
        || async { checkpoint_of(&pool, "carts").await >= product },
    )
    .await;
    hold_cart.commit().await.unwrap();
    wait_until(
        Duration::from_secs(30),
        "the live batch waits behind the swap",
        waits_for_read_carts("live"),
    )
    .await;
    reader.commit().await.unwrap();

    let report = rebuild.await.unwrap().unwrap();
    assert_eq!(
        report.swapped_at, product,
        "the swap caught up with the checkpoint under its locks"
    );
    assert_eq!(
        report.events,
        300 * 4 + 1,
        "every cart event before the blocked one, and the product event folded in the swap"
    );
    assert!(report.retired_dropped);
    wait_for_head(&pool, "carts").await;
    let (cart_id, sequence, _) = &cart[0];
    let version: i64 = sqlx::query_scalar(
        "SELECT (doc->>'version')::bigint FROM read_carts WHERE cart_id = $1::uuid",
    )
    .bind(cart_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        version, *sequence,
        "the blocked batch wrote to the new table"
    );
    assert_carts_equal_a_fold_from_scratch(&pool).await;
    assert_eq!(leftovers(&pool).await, Vec::<String>::new());
    assert!(
        !left_active.load(Ordering::SeqCst),
        "the live projector stopped"
    );
    assert_eq!(failure_of(&pool, "carts").await, None);
    stop_live(&cancel, running).await;
}

/// What the catalog says of a table: its indexes with their definitions, its
/// constraints, storage parameters and grants.
async fn catalog_of(pool: &PgPool, table: &str) -> (String, Vec<String>, Vec<String>, String) {
    sqlx::query_as(
        "SELECT c.oid::text,
                ARRAY(SELECT pg_get_indexdef(x.indexrelid) FROM pg_index x
                       WHERE x.indrelid = c.oid ORDER BY 1),
                ARRAY(SELECT k.conname || ' ' || k.contype::text || ' ' || pg_get_constraintdef(k.oid)
                        FROM pg_constraint k WHERE k.conrelid = c.oid ORDER BY 1),
                coalesce(c.reloptions::text, '') || ' ' || coalesce(c.relacl::text, '')
           FROM pg_class c WHERE c.oid = to_regclass($1)",
    )
    .bind(table)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn indexes_constraints_and_grants_keep_their_names_after_the_swap(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = connect(&options, "test", 4).await;
    let live_pool = connect(&options, "live", 3).await;
    let mut carts = Carts::new();
    seed_carts(&pool, &mut carts, 300, 2).await;
    sqlx::raw_sql("GRANT SELECT ON read_carts, read_event_counts TO PUBLIC")
        .execute(&pool)
        .await
        .unwrap();
    let cancel = CancellationToken::new();
    let running = start_live(
        &live_pool,
        &cancel,
        vec![
            Arc::new(CartsProjection::new()),
            Arc::new(EventCountsProjection),
        ],
    )
    .await;
    wait_for_head(&pool, "carts").await;
    wait_for_head(&pool, "event_counts").await;
    let counts_before: Vec<(String, i64)> =
        sqlx::query_as("SELECT event_type, events FROM read_event_counts ORDER BY event_type")
            .fetch_all(&pool)
            .await
            .unwrap();

    for table in ["read_carts", "read_event_counts"] {
        let before = catalog_of(&pool, table).await;
        let projector = table.strip_prefix("read_").unwrap();
        rebuild_json(&pool, projector).await;
        let after = catalog_of(&pool, table).await;
        assert_ne!(before.0, after.0, "{table}: a new table was swapped in");
        assert_eq!(before.1, after.1, "{table}: the same indexes, same names");
        assert_eq!(
            before.2, after.2,
            "{table}: the same constraints, same names"
        );
        assert_eq!(
            before.3, after.3,
            "{table}: the same storage parameters and grants"
        );
    }
    let (_, indexes, constraints, storage_and_grants) = catalog_of(&pool, "read_carts").await;
    assert!(
        indexes.contains(
            &"CREATE UNIQUE INDEX read_carts_pkey ON public.read_carts USING btree (cart_id)"
                .into()
        ),
        "{indexes:?}"
    );
    assert!(
        constraints
            .iter()
            .any(|c| c.starts_with("read_carts_pkey p PRIMARY KEY")),
        "{constraints:?}"
    );
    assert!(
        storage_and_grants.contains("fillfactor=80") && storage_and_grants.contains("=r/"),
        "{storage_and_grants}"
    );

    let counts_after: Vec<(String, i64)> =
        sqlx::query_as("SELECT event_type, events FROM read_event_counts ORDER BY event_type")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(counts_before, counts_after);
    assert_carts_equal_a_fold_from_scratch(&pool).await;
    assert_eq!(leftovers(&pool).await, Vec::<String>::new());
    stop_live(&cancel, running).await;
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn the_leftovers_of_a_crashed_rebuild_are_replaced(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = connect(&options, "test", 4).await;
    let live_pool = connect(&options, "live", 3).await;
    let mut carts = Carts::new();
    seed_carts(&pool, &mut carts, 200, 2).await;
    let cancel = CancellationToken::new();
    let running = start_live(&live_pool, &cancel, vec![Arc::new(CartsProjection::new())]).await;
    wait_for_head(&pool, "carts").await;
    // A crash mid-build leaves a half-filled shadow with its unique index; one
    // after the swap, the retired table. Neither has the shape of today's.
    sqlx::raw_sql(
        "CREATE TABLE read_carts__rebuild (cart_id uuid, junk text);
         CREATE UNIQUE INDEX read_carts_pkey__rebuild ON read_carts__rebuild (cart_id);
         INSERT INTO read_carts__rebuild VALUES (gen_random_uuid(), 'half-built');
         CREATE TABLE read_carts__retired (junk text);
         CREATE INDEX read_carts_customer_status_idx__retired ON read_carts__retired (junk);",
    )
    .execute(&pool)
    .await
    .unwrap();

    let report = rebuild_json(&pool, "carts").await;
    assert_eq!(report["events"], 200 * 3, "{report}");
    assert_carts_equal_a_fold_from_scratch(&pool).await;
    assert_eq!(leftovers(&pool).await, Vec::<String>::new());
    stop_live(&cancel, running).await;
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn the_checkout_process_and_the_kafka_feed_are_refused(pool: PgPool) {
    sqlx::query(
        "INSERT INTO projector_checkpoints (projector) VALUES ('checkout_process'), ('kafka')",
    )
    .execute(&pool)
    .await
    .unwrap();
    for (projector, reason) in [
        ("checkout_process", "process manager"),
        ("kafka", "publishes every event"),
    ] {
        let output = replay(&pool, &["rebuild", projector]).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("cannot be rebuilt") && stderr.contains(reason),
            "{stderr}"
        );
        assert!(output.stdout.is_empty());
    }
    let requested: i64 =
        sqlx::query_scalar("SELECT count(*) FROM projector_checkpoints WHERE rebuild_requested")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(requested, 0, "nothing was asked of the refused projectors");
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn an_unknown_projector_is_an_error_listing_the_known_ones(pool: PgPool) {
    let output = replay(&pool, &["rebuild", "cart"]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("unknown projector \"cart\""), "{stderr}");
    for known in ["carts", "products", "event_counts", "search", "redis_views"] {
        assert!(stderr.contains(known), "{known} missing from: {stderr}");
    }
}

/// A sink that counts what it is given and how often it is reset.
#[derive(Default)]
struct CountingSink {
    delivered: AtomicU64,
    resets: AtomicU64,
}

#[async_trait]
impl SideEffectSink for CountingSink {
    fn name(&self) -> &str {
        "counting"
    }

    async fn deliver(&self, events: &[RecordedEvent]) -> Result<(), projections::Error> {
        self.delivered
            .fetch_add(events.len() as u64, Ordering::SeqCst);
        Ok(())
    }

    async fn reset(&self) -> Result<(), projections::Error> {
        self.resets.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_sink_rebuilt_by_its_active_instance_is_followed_to_the_head(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = connect(&options, "test", 4).await;
    let mut carts = Carts::new();
    seed_carts(&pool, &mut carts, 200, 2).await;
    let sink = Arc::new(CountingSink::default());
    let cancel = CancellationToken::new();
    let running = ProjectorRuntime::new(
        pool.clone(),
        LogWakeups::start(pool.clone(), cancel.clone()),
        ProjectorOptions::default(),
    )
    .with(Projector::SideEffect(sink.clone()), OnFailure::Stop)
    .start(cancel.clone())
    .await
    .unwrap();
    wait_for_head(&pool, "counting").await;

    let followed =
        request_and_follow_rebuild(&pool, "counting", &FollowOptions::default(), &|_| {})
            .await
            .unwrap();
    assert_eq!(sink.resets.load(Ordering::SeqCst), 1);
    assert_eq!(followed.events, 600);
    assert_eq!(
        sink.delivered.load(Ordering::SeqCst),
        1200,
        "the log delivered twice"
    );
    assert_eq!(followed.head, checkpoint_of(&pool, "counting").await);
    cancel.cancel();
    running.join().await;
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn following_gives_up_on_a_rebuild_that_stopped_moving(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = connect(&options, "test", 4).await;
    let mut carts = Carts::new();
    seed_carts(&pool, &mut carts, 10, 2).await;
    sqlx::query("INSERT INTO projector_checkpoints (projector) VALUES ('ghost')")
        .execute(&pool)
        .await
        .unwrap();
    // An instance takes the request up, starts over, and dies without a word.
    let ghost = {
        let pool = pool.clone();
        tokio::spawn(async move {
            wait_until(
                Duration::from_secs(10),
                "the rebuild was asked for",
                || async {
                    sqlx::query_scalar::<_, bool>(
                    "SELECT rebuild_requested FROM projector_checkpoints WHERE projector = 'ghost'",
                )
                .fetch_one(&pool)
                .await
                .unwrap()
                },
            )
            .await;
            sqlx::query(
                "UPDATE projector_checkpoints SET rebuild_requested = false, transaction_id = '0',
                        global_position = 0 WHERE projector = 'ghost'",
            )
            .execute(&pool)
            .await
            .unwrap();
        })
    };
    let options = FollowOptions {
        poll: Duration::from_millis(20),
        stall_timeout: Duration::from_millis(500),
        ..FollowOptions::default()
    };
    let error = request_and_follow_rebuild(&pool, "ghost", &options, &|_| {})
        .await
        .unwrap_err()
        .to_string();
    ghost.await.unwrap();
    assert!(error.contains("has not moved past"), "{error}");
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_read_model_whose_projector_never_ran_is_not_rebuilt(pool: PgPool) {
    let output = replay(&pool, &["rebuild", "orders"]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("orders has never run"), "{stderr}");
    assert_eq!(leftovers(&pool).await, Vec::<String>::new());
}
