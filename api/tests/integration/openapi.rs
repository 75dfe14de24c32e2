//! The OpenAPI document: valid OpenAPI 3, naming every route of the router with its
//! method (a route missing from it fails here), each documented operation served,
//! and a browsable page at `/docs`.

use std::collections::BTreeSet;

use serde_json::{json, Value};
use sqlx::PgPool;

use crate::fixtures::{admin, stocked};
use crate::support::{reply, spawn_app, Caller, TestApp};

/// The commands, queries and audit routes of the router (`api/src/routes/mod.rs`), as served.
const API_ROUTES: &[(&str, &str)] = &[
    ("post", "/commands/products"),
    ("post", "/commands/products/{id}/update"),
    ("post", "/commands/products/{id}/change-price"),
    ("post", "/commands/products/{id}/publish"),
    ("post", "/commands/products/{id}/unpublish"),
    ("post", "/commands/products/{id}/discontinue"),
    ("post", "/commands/inventory/{sku}/register"),
    ("post", "/commands/inventory/{sku}/receive"),
    ("post", "/commands/inventory/{sku}/adjust"),
    ("post", "/commands/carts"),
    ("post", "/commands/carts/{id}/add-item"),
    ("post", "/commands/carts/{id}/change-quantity"),
    ("post", "/commands/carts/{id}/remove-item"),
    ("post", "/commands/carts/{id}/attach-customer"),
    ("post", "/commands/carts/{id}/checkout"),
    ("post", "/commands/carts/{id}/abandon"),
    ("post", "/commands/carts/{id}/apply-coupon"),
    ("post", "/commands/carts/{id}/remove-coupon"),
    ("post", "/commands/promotions"),
    ("post", "/commands/promotions/{id}/change"),
    ("post", "/commands/promotions/{id}/schedule"),
    ("post", "/commands/promotions/{id}/pause"),
    ("post", "/commands/promotions/{id}/resume"),
    ("post", "/commands/promotions/{id}/end"),
    ("post", "/commands/shipping-methods"),
    ("post", "/commands/shipping-methods/{id}/change"),
    ("post", "/commands/shipping-methods/{id}/retire"),
    ("post", "/commands/tax-rates/{country}/set"),
    ("post", "/commands/orders/{id}/ship"),
    ("post", "/commands/orders/{id}/deliver"),
    ("post", "/commands/orders/{id}/erase-guest-data"),
    ("post", "/commands/orders/{id}/cancel"),
    ("post", "/commands/orders/{id}/cancel-lines"),
    ("post", "/commands/orders/{id}/refunds"),
    ("post", "/commands/orders/{id}/edit"),
    ("post", "/commands/orders/{id}/returns"),
    ("post", "/commands/orders/{id}/returns/{return_id}/approve"),
    ("post", "/commands/orders/{id}/returns/{return_id}/reject"),
    ("post", "/commands/orders/{id}/returns/{return_id}/receive"),
    ("post", "/commands/payments/{id}/refund"),
    ("post", "/commands/webhook-subscriptions"),
    ("post", "/commands/webhook-subscriptions/{id}/disable"),
    ("post", "/commands/webhook-subscriptions/{id}/enable"),
    ("get", "/queries/webhook-subscriptions"),
    ("post", "/commands/customers"),
    ("post", "/commands/customers/{id}/erase"),
    ("post", "/commands/customers/{id}/verify-email"),
    ("post", "/commands/customers/{id}/change-email"),
    ("post", "/commands/customers/{id}/change-name"),
    ("post", "/commands/customers/{id}/addresses"),
    (
        "post",
        "/commands/customers/{id}/addresses/{address_id}/change",
    ),
    (
        "post",
        "/commands/customers/{id}/addresses/{address_id}/remove",
    ),
    (
        "post",
        "/commands/customers/{id}/addresses/{address_id}/make-default",
    ),
    ("post", "/commands/customers/{id}/close"),
    ("get", "/queries/customers/{id}"),
    ("get", "/queries/carts/{id}"),
    ("get", "/queries/orders"),
    ("get", "/queries/orders/{id}"),
    ("get", "/queries/returns"),
    ("get", "/queries/inventory"),
    ("get", "/queries/inventory/{sku}"),
    ("get", "/queries/payments"),
    ("get", "/queries/products"),
    ("get", "/queries/products/{id}"),
    ("get", "/queries/products/search"),
    ("get", "/queries/products/suggest"),
    ("get", "/queries/shipping-methods"),
    ("get", "/queries/tax-rates"),
    ("get", "/queries/sales"),
    ("get", "/audit/events"),
    ("get", "/audit/events/stream"),
    ("get", "/audit/streams/{type}/{id}"),
    ("get", "/audit/verify"),
];

/// The router's routes besides commands and queries: the operators', the
/// gateway's webhooks, and customers' sign-in.
const OPERATIONAL_ROUTES: &[(&str, &str)] = &[
    ("post", "/auth/sign-in"),
    ("post", "/auth/sign-in/external"),
    ("post", "/auth/refresh"),
    ("post", "/auth/sign-out"),
    ("get", "/health/live"),
    ("get", "/health/ready"),
    ("get", "/metrics"),
    ("post", "/webhooks/payments"),
];

/// Commands whose request has a JSON body (the others take none).
const WITH_BODY: &[&str] = &[
    "/commands/webhook-subscriptions",
    "/commands/customers",
    "/commands/customers/{id}/verify-email",
    "/commands/customers/{id}/change-email",
    "/commands/customers/{id}/change-name",
    "/commands/customers/{id}/addresses",
    "/commands/customers/{id}/addresses/{address_id}/change",
    "/commands/products",
    "/commands/products/{id}/update",
    "/commands/products/{id}/change-price",
    "/commands/inventory/{sku}/register",
    "/commands/inventory/{sku}/receive",
    "/commands/inventory/{sku}/adjust",
    "/commands/carts",
    "/commands/carts/{id}/add-item",
    "/commands/carts/{id}/change-quantity",
    "/commands/carts/{id}/remove-item",
    "/commands/carts/{id}/attach-customer",
    "/commands/carts/{id}/checkout",
    "/commands/carts/{id}/apply-coupon",
    "/commands/carts/{id}/remove-coupon",
    "/commands/promotions",
    "/commands/promotions/{id}/change",
    "/commands/promotions/{id}/schedule",
    "/commands/shipping-methods",
    "/commands/shipping-methods/{id}/change",
    "/commands/tax-rates/{country}/set",
    "/commands/orders/{id}/ship",
    "/commands/orders/{id}/cancel",
    "/commands/orders/{id}/cancel-lines",
    "/commands/orders/{id}/refunds",
    "/commands/orders/{id}/edit",
    "/commands/orders/{id}/returns",
    "/commands/orders/{id}/returns/{return_id}/reject",
    "/commands/orders/{id}/returns/{return_id}/receive",
    "/commands/payments/{id}/refund",
];

async fn document(app: &TestApp) -> Value {
    let answer = reply(app.client.get(app.url("/openapi.json"))).await;
    assert_eq!(answer.status, 200);
    assert!(
        answer
            .header("content-type")
            .unwrap()
            .starts_with("application/json"),
        "{:?}",
        answer.headers
    );
    assert!(answer.body.is_object(), "not JSON: {:?}", answer.body);
    answer.body
}

fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut operations = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                operations.insert((method.clone(), path.clone()));
            }
        }
    }
    operations
}

fn routes(table: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    table
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect()
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn the_document_names_every_command_and_query_with_its_method(pool: PgPool) {
    let app = spawn_app(pool, false).await;
    let doc = document(&app).await;
    let version = doc["openapi"].as_str().unwrap();
    assert!(version.starts_with("3."), "OpenAPI 3, not {version}");
    assert!(doc["info"]["title"].is_string());

    let documented = documented(&doc);
    let served = routes(API_ROUTES);
    let missing: Vec<_> = served.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routes missing from /openapi.json: {missing:?}"
    );
    let unknown: Vec<_> = documented
        .difference(&served)
        .filter(|op| !routes(OPERATIONAL_ROUTES).contains(op))
        .collect();
    assert!(unknown.is_empty(), "documented but not routed: {unknown:?}");

    let problem = json!({"$ref": "#/components/schemas/Problem"});
    for (method, path) in &served {
        let operation = &doc["paths"][path][method];
        let responses = operation["responses"].as_object().unwrap();
        let creates = [
            "/commands/products",
            "/commands/carts",
            "/commands/inventory/{sku}/register",
            "/commands/promotions",
            "/commands/shipping-methods",
            "/commands/customers",
            "/commands/webhook-subscriptions",
        ];
        let success = if creates.contains(&path.as_str()) {
            "201"
        } else {
            "200"
        };
        assert!(
            responses.contains_key(success),
            "{method} {path}: no {success}"
        );
        let errors = &responses["4XX"]["content"]["application/problem+json"]["schema"];
        assert_eq!(errors, &problem, "{method} {path}: 4XX is not a Problem");
        let has_body = !operation["requestBody"].is_null();
        assert_eq!(
            has_body,
            WITH_BODY.contains(&path.as_str()),
            "{method} {path}: request body documented = {has_body}"
        );
        let params: BTreeSet<&str> = operation["parameters"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .filter(|p| p["in"] == "path")
                    .map(|p| p["name"].as_str().unwrap())
                    .collect()
            })
            .unwrap_or_default();
        for name in ["id", "sku"] {
            assert_eq!(
                params.contains(name),
                path.contains(&format!("{{{name}}}")),
                "{method} {path}: path parameter {name}"
            );
        }
    }
    for schema in ["Problem", "MoneySchema", "AddressSchema"] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "no schema {schema}"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn the_document_names_the_operators_routes_too(pool: PgPool) {
    let app = spawn_app(pool, false).await;
    let documented = documented(&document(&app).await);
    let missing: Vec<_> = routes(OPERATIONAL_ROUTES)
        .difference(&documented)
        .cloned()
        .collect();
    assert!(
        missing.is_empty(),
        "routes missing from /openapi.json: {missing:?}"
    );
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn every_documented_operation_is_served(pool: PgPool) {
    let app = spawn_app(pool, true).await;
    let admin = admin(&app);
    let consistency = stocked(&app, "DOC-1", 1, 1).await;
    let doc = document(&app).await;
    let operations = documented(&doc);
    assert!(operations.len() >= API_ROUTES.len());
    for (method, path) in operations {
        // A malformed id reaches the handler's extractor (400); a real SKU its body.
        let url = path.replace("{id}", "not-a-uuid").replace("{sku}", "DOC-1");
        let request = match method.as_str() {
            "get" => app
                .client
                .get(app.url(&url))
                .header("X-Consistency-Token", &consistency),
            "post" => app.client.post(app.url(&url)).json(&json!({})),
            other => panic!("unexpected method {other} for {path}"),
        };
        let answer = reply(Caller::Bearer(&admin).apply(request)).await;
        assert!(
            ![404, 405].contains(&answer.status) && answer.status < 500,
            "{method} {url} (documented as {path}) answered {}: {}",
            answer.status,
            answer.body
        );
    }
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn docs_serve_a_browsable_page_of_the_document(pool: PgPool) {
    let app = spawn_app(pool, false).await;
    let response = app.get("/docs").await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let page = response.text().await.unwrap();
    assert!(
        page.contains("<html") && page.contains("\"/openapi.json\""),
        "{page}"
    );
    assert!(page.to_lowercase().contains("swagger"), "{page}");
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn error_answers_are_documented_with_the_media_type_they_are_served_with(pool: PgPool) {
    let app = spawn_app(pool, false).await;
    let doc = document(&app).await;
    for (method, path) in routes(API_ROUTES) {
        let content = &doc["paths"][&path][&method]["responses"]["4XX"]["content"];
        assert!(
            content["application/problem+json"].is_object(),
            "{method} {path}: 4XX documented as {content}"
        );
    }
}
