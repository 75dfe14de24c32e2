//! The storefront's and the admin's day, over HTTP: catalog, stock, carts, checkout,
//! each write read back through its consistency token.

use api::auth::Role;
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::{spawn_app, TestApp};

/// Creates and publishes a product with stock; returns its id.
pub async fn product_on_sale(app: &TestApp, sku: &str, price: i64) -> String {
    let admin = app.token("alice", Role::Admin);
    let (status, created) = app
        .post(
            "/commands/products",
            Some(&admin),
            json!({"sku": sku, "name": format!("Product {sku}"), "description": "Useful",
                   "category": "kitchen", "brand": "Acme",
                   "price": {"amount": price, "currency": "EUR"}}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, body) = app
        .post(
            &format!("/commands/products/{id}/publish"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .post(
            &format!("/commands/inventory/{sku}/register"),
            Some(&admin),
            json!({"low_stock_threshold": 2}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app
        .post(
            &format!("/commands/inventory/{sku}/receive"),
            Some(&admin),
            json!({"quantity": 10, "reference": "PO-1"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    id
}

fn address() -> Value {
    json!({"name": "Ada Lovelace", "line1": "1 Main St", "city": "London",
           "postal_code": "N1 1AA", "country": "GB"})
}

async fn guest_post(app: &TestApp, path: &str, cart_token: &str, body: Value) -> (u16, Value) {
    let response = app
        .client
        .post(app.url(path))
        .header("X-Cart-Token", cart_token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_guest_fills_a_cart_at_catalog_prices_and_checks_out(pool: PgPool) {
    let app = spawn_app(pool, true).await;
    let product_id = product_on_sale(&app, "MUG-1", 1250).await;

    let (status, product) = app
        .read(&format!("/queries/products/{product_id}"), None, None)
        .await;
    // Published products are public; the read may lag without a token.
    assert!(status == 200 || status == 404, "{status}");
    let _ = product;

    let (status, opened) = app.post("/commands/carts", None, json!({})).await;
    assert_eq!(status, 201, "{opened}");
    let cart_id = opened["id"].as_str().unwrap().to_owned();
    let cart_token = opened["cart_token"].as_str().unwrap().to_owned();

    // A price sent by the client is refused: prices come from the catalog.
    let (status, refused) = guest_post(
        &app,
        &format!("/commands/carts/{cart_id}/add-item"),
        &cart_token,
        json!({"sku": "MUG-1", "quantity": 2, "unit_price": {"amount": 1, "currency": "EUR"}}),
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["code"], "invalid_body");

    let (status, added) = guest_post(
        &app,
        &format!("/commands/carts/{cart_id}/add-item"),
        &cart_token,
        json!({"sku": "MUG-1", "quantity": 2}),
    )
    .await;
    assert_eq!(status, 200, "{added}");
    assert_eq!(added["version"], 2);
    let consistency = added["consistency_token"].as_str().unwrap().to_owned();

    // Read-your-writes, with the guest's cart token.
    let response = app
        .client
        .get(app.url(&format!("/queries/carts/{cart_id}")))
        .header("X-Cart-Token", &cart_token)
        .header("X-Consistency-Token", &consistency)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let cart: Value = response.json().await.unwrap();
    assert_eq!(cart["lines"][0]["unit_price"]["amount"], 1250);
    assert_eq!(cart["lines"][0]["name"], "Product MUG-1");
    assert_eq!(cart["subtotal"]["amount"], 2500);

    // Without the token, the cart does not exist.
    let (status, _) = app
        .read(
            &format!("/queries/carts/{cart_id}"),
            None,
            Some(&consistency),
        )
        .await;
    assert_eq!(status, 404);

    let (status, checked_out) = guest_post(
        &app,
        &format!("/commands/carts/{cart_id}/checkout"),
        &cart_token,
        json!({"email": "ada@example.com", "shipping_address": address(), "payment_token": "tok_visa"}),
    )
    .await;
    assert_eq!(status, 200, "{checked_out}");
    assert!(Uuid::parse_str(checked_out["order_id"].as_str().unwrap()).is_ok());

    // A cart checks out at most once.
    let (status, again) = guest_post(
        &app,
        &format!("/commands/carts/{cart_id}/checkout"),
        &cart_token,
        json!({"email": "ada@example.com", "shipping_address": address(), "payment_token": "tok_visa"}),
    )
    .await;
    assert_eq!(status, 422, "{again}");
    assert_eq!(again["code"], "cart_checked_out");
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_changed_price_refuses_checkout_and_reprices_the_cart(pool: PgPool) {
    let app = spawn_app(pool, true).await;
    let product_id = product_on_sale(&app, "LAMP-1", 4000).await;
    let customer = Uuid::new_v4().to_string();
    let token = app.token(&customer, Role::Customer);
    let (_, opened) = app.post("/commands/carts", Some(&token), json!({})).await;
    assert!(
        opened.get("cart_token").is_none(),
        "customer carts need no cart token"
    );
    let cart_id = opened["id"].as_str().unwrap().to_owned();
    let (status, _) = app
        .post(
            &format!("/commands/carts/{cart_id}/add-item"),
            Some(&token),
            json!({"sku": "LAMP-1", "quantity": 1}),
        )
        .await;
    assert_eq!(status, 200);

    let admin = app.token("alice", Role::Admin);
    let (status, _) = app
        .post(
            &format!("/commands/products/{product_id}/change-price"),
            Some(&admin),
            json!({"price": {"amount": 4500, "currency": "EUR"}}),
        )
        .await;
    assert_eq!(status, 200);

    let checkout = json!({"email": "c@example.com", "shipping_address": address(), "payment_token": "tok_visa"});
    let (status, refused) = app
        .post(
            &format!("/commands/carts/{cart_id}/checkout"),
            Some(&token),
            checkout.clone(),
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["code"], "prices_changed");

    // The cart now shows the new price, flagged; the next checkout passes.
    let (status, accepted) = app
        .post(
            &format!("/commands/carts/{cart_id}/checkout"),
            Some(&token),
            checkout,
        )
        .await;
    assert_eq!(status, 200, "{accepted}");
    let (status, cart) = app
        .read(
            &format!("/queries/carts/{cart_id}"),
            Some(&token),
            accepted["consistency_token"].as_str(),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(cart["status"], "checked_out");
    assert_eq!(cart["subtotal"]["amount"], 4500);

    // Another customer cannot see it.
    let stranger = app.token(&Uuid::new_v4().to_string(), Role::Customer);
    let (status, _) = app
        .read(&format!("/queries/carts/{cart_id}"), Some(&stranger), None)
        .await;
    assert_eq!(status, 404);
}
