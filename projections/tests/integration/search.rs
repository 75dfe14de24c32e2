//! The product search over a generated catalog of 10,000 products: what a shopper
//! would expect of it, and how its position survives a crash and a rebuild.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use domain::inventory::{AdjustmentReason, InventoryEvent};
use domain::product::ProductEvent;
use domain::shared::ProductId;
use eventlog::{Checkpoint, LogWakeups, TransactionId};
use projections::runtime::{
    request_rebuild, OnFailure, Projector, ProjectorOptions, ProjectorRuntime, RunningProjectors,
    SideEffectSink,
};
use projections::search::{search, suggest, SearchIndex, SearchIndexer, SearchRequest, SearchSort};
use projections::Error;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::read_models::fixtures::{append, append_all, committed_log, eur, sku, small_pool};
use crate::support::wait_until;

/// The generator `make bench` uses too.
pub const CATALOG_SQL: &str = include_str!("search/catalog.sql");

/// A fresh index directory, removed when dropped.
struct IndexDir(PathBuf);

impl IndexDir {
    fn new() -> Self {
        IndexDir(std::env::temp_dir().join(format!("commerce-search-{}", Uuid::new_v4())))
    }
}

impl Drop for IndexDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn generate_catalog(pool: &PgPool, products: i32) {
    sqlx::query(CATALOG_SQL)
        .bind(products)
        .execute(pool)
        .await
        .unwrap();
}

/// The log's last position.
async fn head(pool: &PgPool) -> Checkpoint {
    let (transaction_id, global_position): (TransactionId, i64) = sqlx::query_as(
        "SELECT transaction_id, global_position FROM events
          ORDER BY transaction_id DESC, global_position DESC LIMIT 1",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    Checkpoint {
        transaction_id,
        global_position,
    }
}

async fn row_position(pool: &PgPool) -> Checkpoint {
    let (transaction_id, global_position): (TransactionId, i64) = sqlx::query_as(
        "SELECT transaction_id, global_position FROM projector_checkpoints WHERE projector = 'search'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    Checkpoint {
        transaction_id,
        global_position,
    }
}

/// Runs the indexer under the runtime until cancelled.
async fn run_indexer(
    pool: &PgPool,
    index: &Arc<SearchIndex>,
) -> (CancellationToken, RunningProjectors) {
    let cancel = CancellationToken::new();
    let wakeups = LogWakeups::start(pool.clone(), cancel.clone());
    let options = ProjectorOptions {
        poll_interval: Duration::from_millis(50),
        ..ProjectorOptions::default()
    };
    let sink = Arc::new(SearchIndexer::new(pool.clone(), index.clone()));
    let running = ProjectorRuntime::new(pool.clone(), wakeups, options)
        .with(Projector::SideEffect(sink), OnFailure::Stop)
        .start(cancel.clone())
        .await
        .unwrap();
    (cancel, running)
}

/// Stops the indexer, releasing the index's writer.
async fn stop(indexer: (CancellationToken, RunningProjectors)) {
    indexer.0.cancel();
    for (name, outcome) in indexer.1.join().await {
        outcome.unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

async fn caught_up(pool: &PgPool, index: &SearchIndex) {
    let head = head(pool).await;
    wait_until(
        Duration::from_secs(120),
        "the index reaches the head",
        || async { index.position() >= head },
    )
    .await;
}

fn request(q: &str) -> SearchRequest {
    SearchRequest {
        q: q.to_owned(),
        limit: 10,
        ..SearchRequest::default()
    }
}

fn names(index: &SearchIndex, request: &SearchRequest) -> Vec<String> {
    search(index, request)
        .unwrap()
        .hits
        .into_iter()
        .map(|hit| hit.name)
        .collect()
}

/// A hand-made product, published, with `available` units in stock.
async fn shop_product(pool: &PgPool, name: &str, description: &str, available: u64) -> Uuid {
    let id = Uuid::new_v4();
    let product_id = ProductId::new(id);
    let code = sku(&format!("HAND-{}", &id.simple().to_string()[..8]));
    append_all(
        pool,
        "Product",
        &id.to_string(),
        1,
        &[
            ProductEvent::ProductCreated {
                product_id,
                sku: code.clone(),
                name: name.into(),
                description: description.into(),
                category: "Coffee".into(),
                brand: "Barista".into(),
                price: eur(24_900),
                attributes: BTreeMap::from([("colour".into(), "silver".into())]),
            },
            ProductEvent::ProductPublished {
                product_id,
                sku: code.clone(),
            },
        ],
    )
    .await;
    append_all(
        pool,
        "Inventory",
        code.as_str(),
        1,
        &[
            InventoryEvent::InventoryRegistered {
                sku: code.clone(),
                low_stock_threshold: 0,
                on_hand_after: 0,
                reserved_after: 0,
                available_after: 0,
            },
            InventoryEvent::StockReceived {
                sku: code.clone(),
                quantity: available,
                reference: "initial".into(),
                on_hand_after: available,
                reserved_after: 0,
                available_after: available,
            },
        ],
    )
    .await;
    id
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn searches_of_a_ten_thousand_product_catalog_find_what_a_shopper_expects(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let pool = small_pool(pool_options, connect_options).await;
    generate_catalog(&pool, 10_000).await;
    let machine = shop_product(
        &pool,
        "Espresso Machine",
        "Pulls a rich espresso shot with crema in thirty seconds.",
        5,
    )
    .await;
    shop_product(
        &pool,
        "Espresso Machine Cleaning Tablets",
        "Keeps any espresso machine free of coffee oils.",
        40,
    )
    .await;
    shop_product(
        &pool,
        "Burr Grinder",
        "Grinds beans evenly for espresso machine or filter coffee.",
        3,
    )
    .await;
    let dir = IndexDir::new();
    let index = SearchIndex::open(&dir.0).unwrap();
    let _indexer = run_indexer(&pool, &index).await;
    caught_up(&pool, &index).await;

    // Every published product is listed, the unpublished tenth is not.
    let all = search(&index, &request("")).unwrap();
    assert_eq!(all.total, 9_000 + 3);

    // The exact name comes first, the products that merely mention it after.
    let found = names(&index, &request("espresso machine"));
    assert_eq!(found[0], "Espresso Machine", "{found:?}");
    assert_eq!(found.len(), 3, "{found:?}");

    // Typos: one in a word of 4 to 7 letters, two from 8 letters on.
    assert_eq!(names(&index, &request("grindr"))[0], "Burr Grinder");
    assert_eq!(
        names(&index, &request("esspreso machine"))[0],
        "Espresso Machine"
    );
    // A short word must be exact: "oaj" is not "oak".
    assert_eq!(search(&index, &request("oaj")).unwrap().total, 0);

    // Facet counts add up to the total.
    let kettles = search(&index, &request("kettle")).unwrap();
    assert!(kettles.total > 0);
    let by_category: u64 = kettles.facets.category.iter().map(|f| f.count).sum();
    let by_brand: u64 = kettles.facets.brand.iter().map(|f| f.count).sum();
    assert_eq!((by_category, by_brand), (kettles.total, kettles.total));

    // Filters exclude.
    let kitchen_kettles = search(
        &index,
        &SearchRequest {
            category: Some("Kitchen".into()),
            min_price: Some(2_000),
            max_price: Some(5_000),
            in_stock: Some(true),
            limit: 100,
            ..request("kettle")
        },
    )
    .unwrap();
    assert!(kitchen_kettles.total > 0 && kitchen_kettles.total < kettles.total);
    for hit in &kitchen_kettles.hits {
        assert_eq!(hit.category, "Kitchen");
        assert!((2_000..=5_000).contains(&hit.price.amount), "{hit:?}");
        assert!(hit.in_stock);
    }
    let kitchen = kettles
        .facets
        .category
        .iter()
        .find(|f| f.value == "Kitchen")
        .unwrap()
        .count;
    let only_kitchen = search(
        &index,
        &SearchRequest {
            category: Some("Kitchen".into()),
            ..request("kettle")
        },
    )
    .unwrap();
    assert_eq!(only_kitchen.total, kitchen);

    // Phrases keep their words together and in order.
    let phrase = search(&index, &request("\"oak chair\"")).unwrap();
    let words = search(&index, &request("oak chair")).unwrap();
    assert!(phrase.total > 0 && phrase.total <= words.total);
    assert!(phrase.hits.iter().all(|hit| hit.name.contains("Oak Chair")));
    let reversed = search(&index, &request("\"chair oak\"")).unwrap();
    assert_eq!(reversed.total, 0);

    // Snippets mark what matched; sorting by price orders by price.
    let hit = &search(&index, &request("crema")).unwrap().hits[0];
    assert!(hit.snippet.contains("<b>crema</b>"), "{}", hit.snippet);
    let cheapest = search(
        &index,
        &SearchRequest {
            sort: SearchSort::PriceAsc,
            ..request("lamp")
        },
    )
    .unwrap();
    let prices: Vec<i64> = cheapest.hits.iter().map(|h| h.price.amount).collect();
    assert!(prices.windows(2).all(|w| w[0] <= w[1]), "{prices:?}");

    // Pages follow one another without overlap.
    let first = search(&index, &request("teapot")).unwrap();
    let second = search(
        &index,
        &SearchRequest {
            cursor: first.next_cursor.clone(),
            ..request("teapot")
        },
    )
    .unwrap();
    assert!(second.hits.iter().all(|h| !first.hits.contains(h)));

    // Autocomplete on name prefixes.
    let suggestions = suggest(&index, "espresso mach", 5).unwrap().suggestions;
    assert!(
        suggestions.contains(&"Espresso Machine".to_owned()),
        "{suggestions:?}"
    );

    // Bad syntax is the caller's mistake, with the reason.
    for bad in ["\"espresso", "-", "\"\""] {
        assert!(matches!(
            search(&index, &request(bad)),
            Err(Error::InvalidSearch(_))
        ));
    }

    // In stock follows inventory events; unpublishing takes a product out.
    let in_stock = |index: &SearchIndex| {
        search(index, &request("\"espresso machine\""))
            .unwrap()
            .hits
            .into_iter()
            .find(|h| h.product_id == machine)
            .map(|h| h.in_stock)
    };
    assert_eq!(in_stock(&index), Some(true));
    let machine_sku = search(&index, &request("\"espresso machine\""))
        .unwrap()
        .hits
        .into_iter()
        .find(|h| h.product_id == machine)
        .unwrap()
        .sku;
    append(
        &pool,
        "Inventory",
        &machine_sku,
        3,
        &InventoryEvent::StockAdjusted {
            sku: sku(&machine_sku),
            delta: -5,
            reason: AdjustmentReason::Damaged,
            note: "dropped".into(),
            on_hand_after: 0,
            reserved_after: 0,
            available_after: 0,
        },
    )
    .await;
    caught_up(&pool, &index).await;
    assert_eq!(in_stock(&index), Some(false));
    append(
        &pool,
        "Product",
        &machine.to_string(),
        3,
        &ProductEvent::ProductUnpublished {
            product_id: ProductId::new(machine),
            sku: sku(&machine_sku),
        },
    )
    .await;
    caught_up(&pool, &index).await;
    assert_eq!(in_stock(&index), None);
    assert_eq!(search(&index, &request("")).unwrap().total, 9_002);
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_crash_between_the_index_commit_and_the_checkpoint_leaves_them_in_agreement(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let pool = small_pool(pool_options, connect_options).await;
    generate_catalog(&pool, 200).await;
    let dir = IndexDir::new();
    let log = committed_log(&pool).await;

    // The first run commits half the log to the index, then "crashes" before the
    // runtime moves its checkpoint row.
    {
        let index = SearchIndex::open(&dir.0).unwrap();
        let sink = SearchIndexer::new(pool.clone(), index.clone());
        sink.deliver(&log[..log.len() / 2]).await.unwrap();
        assert_eq!(index.position(), log[log.len() / 2 - 1].checkpoint());
    }

    // The restart: the row follows the index, the rest of the log is applied, and
    // the redelivered half does no harm.
    let index = SearchIndex::open(&dir.0).unwrap();
    let indexer = run_indexer(&pool, &index).await;
    caught_up(&pool, &index).await;
    let head = head(&pool).await;
    wait_until(
        Duration::from_secs(10),
        "the row reaches the head",
        || async { row_position(&pool).await == head },
    )
    .await;
    assert_eq!(index.position(), head);
    assert_eq!(search(&index, &request("")).unwrap().total, 180);
    let one = search(&index, &request("\"Modern Steel Teapot\"")).unwrap();
    let unique: std::collections::BTreeSet<Uuid> = one.hits.iter().map(|h| h.product_id).collect();
    assert_eq!(unique.len(), one.hits.len(), "a product listed twice");

    // Redelivering everything again changes nothing.
    stop(indexer).await;
    let sink = SearchIndexer::new(pool.clone(), index.clone());
    sink.deliver(&log).await.unwrap();
    assert_eq!(index.position(), head);
    assert_eq!(search(&index, &request("")).unwrap().total, 180);
    drop(sink);

    // A rebuild fills a new generation, then searches move to it.
    let before = index.generation();
    let indexer = run_indexer(&pool, &index).await;
    request_rebuild(&pool, "search").await.unwrap();
    wait_until(
        Duration::from_secs(60),
        "the rebuilt generation is swapped in",
        || async { index.generation() > before && index.position() >= head },
    )
    .await;
    assert_eq!(search(&index, &request("")).unwrap().total, 180);
    assert!(!dir.0.join(format!("gen-{before:06}")).exists());
    stop(indexer).await;
}
