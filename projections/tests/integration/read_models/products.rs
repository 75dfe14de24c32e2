//! The catalog read model: every product event, lookups by SKU, the newest-first
//! list with its filters and pages.

use std::collections::{BTreeMap, HashSet};

use domain::product::ProductEvent;
use domain::shared::ProductId;
use projections::read_models::products::{self, ProductStatus, ProductView};
use projections::read_models::view_types::MoneyView;
use projections::Error;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use uuid::Uuid;

use super::fixtures::{
    append, append_all, eur, every_page, fold_all, id, project, sku, small_pool,
};

pub fn created(product: Uuid, code: &str, category: &str) -> ProductEvent {
    ProductEvent::ProductCreated {
        product_id: ProductId::new(product),
        sku: sku(code),
        name: format!("Product {code}"),
        description: "Sturdy.".into(),
        category: category.into(),
        brand: "Acme".into(),
        price: eur(1200),
        attributes: BTreeMap::from([("colour".to_owned(), "blue".to_owned())]),
    }
}

fn published(product: Uuid, code: &str) -> ProductEvent {
    ProductEvent::ProductPublished {
        product_id: ProductId::new(product),
        sku: sku(code),
    }
}

async fn product(pool: &PgPool, product: Uuid) -> ProductView {
    project::<ProductView>(pool).await;
    products::get(pool, product)
        .await
        .unwrap()
        .expect("the product")
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn every_product_event_changes_the_view_as_it_should(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let pool = small_pool(pool_options, connect_options).await;
    let (p, code) = (id(1), "MUG-1");
    let product_id = ProductId::new(p);
    let stream = p.to_string();

    append(&pool, "Product", &stream, 1, &created(p, code, "Kitchen")).await;
    let view = product(&pool, p).await;
    assert_eq!(
        (
            view.product_id,
            view.sku.as_str(),
            view.name.as_str(),
            view.category.as_str()
        ),
        (p, code, "Product MUG-1", "Kitchen")
    );
    assert_eq!(
        view.price,
        MoneyView {
            amount: 1200,
            currency: "EUR".into()
        }
    );
    assert_eq!(view.attributes["colour"], "blue");
    assert_eq!((view.status, view.version), (ProductStatus::Draft, 1));
    assert_eq!(view.created_at, view.updated_at);
    let created_at = view.created_at;

    let details = ProductEvent::ProductDetailsUpdated {
        product_id,
        sku: sku(code),
        name: "Big mug".into(),
        description: "Bigger.".into(),
        category: "Tableware".into(),
        brand: "Acme Home".into(),
        attributes: BTreeMap::new(),
    };
    append(&pool, "Product", &stream, 2, &details).await;
    let view = product(&pool, p).await;
    assert_eq!(
        (
            view.name.as_str(),
            view.description.as_str(),
            view.category.as_str(),
            view.brand.as_str()
        ),
        ("Big mug", "Bigger.", "Tableware", "Acme Home")
    );
    assert!(view.attributes.is_empty());
    assert_eq!((view.version, view.created_at), (2, created_at));
    assert!(view.updated_at > created_at);

    let price = ProductEvent::ProductPriceChanged {
        product_id,
        sku: sku(code),
        old_price: eur(1200),
        new_price: eur(1500),
    };
    append(&pool, "Product", &stream, 3, &price).await;
    assert_eq!(product(&pool, p).await.price.amount, 1500);

    append(&pool, "Product", &stream, 4, &published(p, code)).await;
    assert_eq!(product(&pool, p).await.status, ProductStatus::Published);

    let unpublished = ProductEvent::ProductUnpublished {
        product_id,
        sku: sku(code),
    };
    append(&pool, "Product", &stream, 5, &unpublished).await;
    assert_eq!(product(&pool, p).await.status, ProductStatus::Unpublished);

    let discontinued = ProductEvent::ProductDiscontinued {
        product_id,
        sku: sku(code),
    };
    append(&pool, "Product", &stream, 6, &discontinued).await;
    let view = product(&pool, p).await;
    assert_eq!(
        (view.status, view.version),
        (ProductStatus::Discontinued, 6)
    );

    let position: i64 = sqlx::query_scalar("SELECT max(global_position) FROM events")
        .fetch_one(&pool)
        .await
        .unwrap();
    let (row_position, row_status): (i64, String) =
        sqlx::query_as("SELECT position, status FROM read_products WHERE product_id = $1")
            .bind(p)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (row_position, row_status.as_str()),
        (position, "discontinued")
    );
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_version_1_product_created_is_upcast_before_it_is_folded(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let pool = small_pool(pool_options, connect_options).await;
    let p = id(9);
    sqlx::query(
        r#"INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
           VALUES ('Product', $1, 1, 'ProductCreated', '1', $2::json, '{}')"#,
    )
    .bind(p.to_string())
    .bind(format!(
        r#"{{"ProductCreated": {{"product_id": "{p}", "sku": "OLD-1", "name": "Old", "description": "",
             "category": "Attic", "brand": "Acme", "price": {{"amount": 500, "currency": "EUR"}}}}}}"#
    ))
    .execute(&pool)
    .await
    .unwrap();
    let view = product(&pool, p).await;
    assert_eq!((view.sku.as_str(), view.price.amount), ("OLD-1", 500));
    assert!(view.attributes.is_empty());
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn products_are_found_by_sku_one_or_many_at_a_time(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let pool = small_pool(pool_options, connect_options).await;
    for (n, code) in [(1, "A-1"), (2, "B-2"), (3, "C-3")] {
        append(
            &pool,
            "Product",
            &id(n).to_string(),
            1,
            &created(id(n), code, "Kitchen"),
        )
        .await;
    }
    project::<ProductView>(&pool).await;

    let found = products::find_by_sku(&pool, "B-2").await.unwrap().unwrap();
    assert_eq!(found.product_id, id(2));
    assert!(products::find_by_sku(&pool, "Z-9").await.unwrap().is_none());

    let wanted = ["C-3".to_owned(), "A-1".to_owned(), "Z-9".to_owned()];
    let found = products::find_by_skus(&pool, &wanted).await.unwrap();
    let ids: Vec<(&str, Uuid)> = found
        .iter()
        .map(|(s, v)| (s.as_str(), v.product_id))
        .collect();
    assert_eq!(ids, vec![("A-1", id(1)), ("C-3", id(3))]);
    assert!(products::find_by_skus(&pool, &[]).await.unwrap().is_empty());
}

/// Creates `count` products in one transaction: they share one `created_at`.
async fn create_many(pool: &PgPool, first: u128, count: u128, category: &str, publish: bool) {
    let mut tx = pool.begin().await.unwrap();
    for n in first..first + count {
        let code = format!("SKU-{n}");
        append(
            &mut *tx,
            "Product",
            &id(n).to_string(),
            1,
            &created(id(n), &code, category),
        )
        .await;
        if publish {
            append(
                &mut *tx,
                "Product",
                &id(n).to_string(),
                2,
                &published(id(n), &code),
            )
            .await;
        }
    }
    tx.commit().await.unwrap();
}

async fn all_pages(
    pool: &PgPool,
    category: Option<&str>,
    status: Option<ProductStatus>,
    limit: i64,
) -> Vec<Uuid> {
    let pages = every_page(limit, |cursor| async move {
        products::list(pool, category, status, limit, cursor.as_deref()).await
    });
    pages.await.into_iter().map(|p| p.product_id).collect()
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn the_list_visits_every_product_once_newest_first_even_with_equal_creation_times(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let pool = small_pool(pool_options, connect_options).await;
    create_many(&pool, 100, 7, "Kitchen", true).await;
    create_many(&pool, 200, 5, "Garden", false).await;
    create_many(&pool, 300, 4, "Kitchen", false).await;
    project::<ProductView>(&pool).await;

    for limit in [1, 2, 3, 16, 100] {
        let seen = all_pages(&pool, None, None, limit).await;
        assert_eq!(seen.len(), 16, "limit {limit}");
        assert_eq!(
            seen.iter().collect::<HashSet<_>>().len(),
            16,
            "limit {limit}"
        );
        // Newest batch first; within one creation time, by product id.
        let expected: Vec<Uuid> = (300..304).chain(200..205).chain(100..107).map(id).collect();
        assert_eq!(seen, expected, "limit {limit}");
    }

    let kitchen = all_pages(&pool, Some("Kitchen"), None, 3).await;
    assert_eq!(
        kitchen,
        (300..304).chain(100..107).map(id).collect::<Vec<_>>()
    );
    let published = all_pages(&pool, None, Some(ProductStatus::Published), 2).await;
    assert_eq!(published, (100..107).map(id).collect::<Vec<_>>());
    let kitchen_drafts = all_pages(&pool, Some("Kitchen"), Some(ProductStatus::Draft), 2).await;
    assert_eq!(kitchen_drafts, (300..304).map(id).collect::<Vec<_>>());
    assert!(all_pages(&pool, Some("Toys"), None, 5).await.is_empty());

    // Limits are clamped, never refused.
    let page = products::list(&pool, None, None, 0, None).await.unwrap();
    assert_eq!(page.items.len(), 1);
    let page = products::list(&pool, None, None, 1000, None).await.unwrap();
    assert_eq!((page.items.len(), page.next_cursor), (16, None));
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_malformed_cursor_is_an_error(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let pool = small_pool(pool_options, connect_options).await;
    for bad in ["not a cursor", "e30", "WyJub3QtYS10aW1lIiwxXQ"] {
        let error = products::list(&pool, None, None, 10, Some(bad))
            .await
            .unwrap_err();
        assert!(matches!(error, Error::InvalidCursor(_)), "{bad}: {error}");
    }
}

#[test]
fn the_product_fold_follows_its_events_without_a_database() {
    let p = id(1);
    let view: ProductView = fold_all(vec![
        created(p, "MUG-1", "Kitchen"),
        published(p, "MUG-1"),
        ProductEvent::ProductPriceChanged {
            product_id: ProductId::new(p),
            sku: sku("MUG-1"),
            old_price: eur(1200),
            new_price: eur(999),
        },
    ])
    .unwrap();
    assert_eq!(
        (view.status, view.price.amount, view.version),
        (ProductStatus::Published, 999, 3)
    );
    assert!(view.updated_at > view.created_at);

    let orphan = fold_all::<ProductView>(vec![published(p, "MUG-1")]).unwrap_err();
    assert!(orphan.contains("ProductPublished"), "{orphan}");
    let twice = fold_all::<ProductView>(vec![created(p, "MUG-1", "K"), created(p, "MUG-1", "K")])
        .unwrap_err();
    assert!(twice.contains("already exists"), "{twice}");
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn several_events_of_one_product_in_one_batch_fold_in_order(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let pool = small_pool(pool_options, connect_options).await;
    let p = id(5);
    let prices = [1300, 1400, 1100];
    let mut events = vec![created(p, "MUG-5", "Kitchen")];
    events.extend(
        prices
            .windows(2)
            .map(|pair| ProductEvent::ProductPriceChanged {
                product_id: ProductId::new(p),
                sku: sku("MUG-5"),
                old_price: eur(pair[0]),
                new_price: eur(pair[1]),
            }),
    );
    append_all(&pool, "Product", &p.to_string(), 1, &events).await;
    let view = product(&pool, p).await;
    assert_eq!((view.price.amount, view.version), (1100, 3));
}
