//! The product search measured: the index rebuilt from zero on a generated catalog
//! (products created, published, stocked), then search queries one after another
//! with their p50 and p99.

use std::sync::Arc;
use std::time::{Duration, Instant};

use projections::runtime::Projector;
use projections::search::{search, SearchIndex, SearchIndexer, SearchRequest, SearchSort};
use sqlx::PgPool;

const CATALOG: &str = include_str!("../../projections/tests/integration/search/catalog.sql");

/// What a shopper types: words, typos, phrases, filters, sorts.
fn requests() -> Vec<SearchRequest> {
    let words = [
        "teapot",
        "ceramic lamp",
        "kettel",
        "\"oak chair\"",
        "vintage",
        "glass vase",
        "blanket -linen",
        "portable clock",
    ];
    let mut all = Vec::new();
    for (i, q) in words.iter().enumerate() {
        all.push(SearchRequest {
            q: (*q).to_owned(),
            limit: 20,
            ..SearchRequest::default()
        });
        all.push(SearchRequest {
            q: (*q).to_owned(),
            category: Some(["Kitchen", "Lighting", "Furniture", "Decor"][i % 4].to_owned()),
            in_stock: Some(true),
            sort: if i % 2 == 0 {
                SearchSort::PriceAsc
            } else {
                SearchSort::Relevance
            },
            limit: 20,
            ..SearchRequest::default()
        });
    }
    all
}

/// Generates `products`, rebuilds the index, runs `queries` searches; prints rows.
pub async fn measure(
    pool: &PgPool,
    products: i32,
    queries: usize,
    rebuild: impl AsyncRebuild,
) -> anyhow::Result<()> {
    sqlx::query(CATALOG).bind(products).execute(pool).await?;
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await?;
    let dir = std::env::temp_dir().join(format!("commerce-bench-search-{}", uuid::Uuid::new_v4()));
    let index = SearchIndex::open(&dir)?;
    let indexer = SearchIndexer::new(pool.clone(), index.clone());
    let rate = rebuild
        .run(pool, events, Projector::SideEffect(Arc::new(indexer)))
        .await?;
    println!(
        "{:<44} {:>12.0}",
        format!("rebuild: search index, {events} events (/s)"),
        rate
    );
    index.refresh()?;
    let requests = requests();
    let mut took: Vec<Duration> = Vec::with_capacity(queries);
    let started = Instant::now();
    for i in 0..queries {
        let request = &requests[i % requests.len()];
        let one = Instant::now();
        search(&index, request)?;
        took.push(one.elapsed());
    }
    let per_second = queries as f64 / started.elapsed().as_secs_f64();
    took.sort();
    let at = |q: f64| took[((took.len() as f64 * q) as usize).min(took.len() - 1)];
    println!(
        "{:<44} {:>12.0}   p50 {:.2} ms, p99 {:.2} ms",
        format!("search: {products} products (queries/s)"),
        per_second,
        at(0.50).as_secs_f64() * 1000.0,
        at(0.99).as_secs_f64() * 1000.0
    );
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

/// The bench's rebuild-from-zero, passed in.
pub trait AsyncRebuild {
    fn run(
        &self,
        pool: &PgPool,
        total: i64,
        projector: Projector,
    ) -> impl std::future::Future<Output = anyhow::Result<f64>>;
}
