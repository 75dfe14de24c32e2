//! Product search over HTTP: what is published and in stock is found, typos are
//! forgiven, bad syntax is a 400, and a consistency token is honoured.

use serde_json::json;
use sqlx::PgPool;

use crate::fixtures::{admin, draft_product, published_product, stocked};
use crate::support::{spawn_app, Caller};

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn search_finds_published_products_forgives_typos_and_refuses_bad_syntax(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    published_product(&app, "MUG-1", 1250, "kitchen").await;
    draft_product(&app, "MUG-2", 999, "kitchen").await;
    let token = stocked(&app, "MUG-1", 1, 3).await;

    let found = app
        .query(
            "/queries/products/search?q=product%20mug-1",
            Caller::Anonymous,
            Some(&token),
        )
        .await;
    assert_eq!(found.status, 200, "{}", found.body);
    let hits = found.body["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 1, "drafts are not listed: {}", found.body);
    assert_eq!(hits[0]["sku"], "MUG-1");
    assert_eq!(hits[0]["in_stock"], true);

    let typo = app
        .query(
            "/queries/products/search?q=prodcut",
            Caller::Anonymous,
            Some(&token),
        )
        .await;
    assert_eq!(typo.status, 200, "{}", typo.body);
    assert!(
        !typo.body["hits"].as_array().unwrap().is_empty(),
        "{}",
        typo.body
    );

    let filtered = app
        .query(
            "/queries/products/search?q=product&category=garden",
            Caller::Anonymous,
            Some(&token),
        )
        .await;
    assert_eq!(filtered.body["hits"].as_array().unwrap().len(), 0);

    let bad = app
        .query(
            "/queries/products/search?q=%22unclosed",
            Caller::Anonymous,
            None,
        )
        .await;
    assert_eq!(
        (bad.status, bad.code()),
        (400, "invalid_search"),
        "{}",
        bad.body
    );
    let bad_sort = app
        .query(
            "/queries/products/search?q=mug&sort=sideways",
            Caller::Anonymous,
            None,
        )
        .await;
    assert_eq!(bad_sort.status, 400);

    let suggested = app
        .query(
            "/queries/products/suggest?q=prod",
            Caller::Anonymous,
            Some(&token),
        )
        .await;
    assert_eq!(suggested.status, 200, "{}", suggested.body);
    assert!(
        suggested.body.to_string().contains("Product MUG-1"),
        "{}",
        suggested.body
    );

    // Unpublished products leave the index.
    let product_id = found.body["hits"][0]["product_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let unpublished = app
        .command(
            &format!("/commands/products/{product_id}/unpublish"),
            Caller::Bearer(&admin(&app)),
            json!({}),
        )
        .await;
    let gone = app
        .query(
            "/queries/products/search?q=product",
            Caller::Anonymous,
            Some(&unpublished.consistency()),
        )
        .await;
    assert_eq!(
        gone.body["hits"].as_array().unwrap().len(),
        0,
        "{}",
        gone.body
    );
}
