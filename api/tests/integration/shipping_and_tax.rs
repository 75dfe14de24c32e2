//! Shipping methods and tax rates over HTTP: the example EU rates loaded by
//! admins, a cross-border order taxed at its destination's rates, a checkout
//! charged by the method it names (and refused without one, or with one that
//! cannot ship there), a free-shipping promotion, and admins' bad input refused.

use serde_json::{json, Value};
use sqlx::PgPool;

use crate::fixtures::{
    add_item, address, admin, count_events, customer, customer_cart, order_view, Customer,
};
use crate::support::{spawn_app, Caller, Reply, TestApp};

/// Sets every country's rates of `config/eu-tax-rates.json`, as
/// `scripts/load-tax-rates.py` does; returns the last answer.
async fn load_eu_rates(app: &TestApp) -> Reply {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/eu-tax-rates.json");
    let config: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let mut last = None;
    for (country, rates) in config["countries"].as_object().unwrap() {
        let set = app
            .command(
                &format!("/commands/tax-rates/{country}/set"),
                Caller::Bearer(&admin(app)),
                json!({ "rates": rates }),
            )
            .await;
        // The first rates of a country open its stream: 201.
        assert!([200, 201].contains(&set.status), "{country}: {}", set.body);
        last = Some(set);
    }
    last.unwrap()
}

async fn shipping_method(app: &TestApp, body: Value) -> String {
    let defined = app
        .command(
            "/commands/shipping-methods",
            Caller::Bearer(&admin(app)),
            body,
        )
        .await;
    assert_eq!(defined.status, 201, "{}", defined.body);
    defined.body["id"].as_str().unwrap().to_owned()
}

async fn product(app: &TestApp, sku: &str, price: i64, tax_category: Option<&str>) {
    let admin = admin(app);
    let attributes = match tax_category {
        Some(category) => json!({ "tax_category": category }),
        None => json!({}),
    };
    let created = app
        .command(
            "/commands/products",
            Caller::Bearer(&admin),
            json!({"sku": sku, "name": format!("Product {sku}"), "description": "Useful",
                   "category": "home", "brand": "Acme", "attributes": attributes,
                   "price": {"amount": price, "currency": "EUR"}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap();
    let published = app
        .command(
            &format!("/commands/products/{id}/publish"),
            Caller::Bearer(&admin),
            json!({}),
        )
        .await;
    assert_eq!(published.status, 200, "{}", published.body);
}

fn to(country: &str, method: Option<&str>) -> Value {
    let mut shipping_address = address();
    shipping_address["country"] = json!(country);
    let mut body = json!({"email": "ada@example.com", "shipping_address": shipping_address,
                          "payment_token": "tok_visa"});
    if let Some(method) = method {
        body["shipping_method"] = json!(method);
    }
    body
}

async fn check_out(app: &TestApp, who: &Customer, cart: &str, body: Value) -> Reply {
    app.command(
        &format!("/commands/carts/{cart}/checkout"),
        Caller::Bearer(&who.token),
        body,
    )
    .await
}

async fn placed_order(app: &TestApp, who: &Customer, placed: &Reply) -> Value {
    assert_eq!(placed.status, 200, "{}", placed.body);
    order_view(app, who, placed.body["order_id"].as_str().unwrap()).await
}

/// A customer's cart with one mug (standard rate) and one book (reduced rate).
async fn mug_and_book(app: &TestApp, who: &Customer) -> String {
    let cart = customer_cart(app, who).await;
    for sku in ["MUG-1", "BOOK-1"] {
        let added = add_item(app, &cart, Caller::Bearer(&who.token), sku, 1).await;
        assert_eq!(added.status, 200, "{}", added.body);
    }
    cart
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_cross_border_order_is_taxed_at_the_destinations_rates(pool: PgPool) {
    let app = spawn_app(pool, true).await;
    let loaded = load_eu_rates(&app).await;
    let rates = app
        .query(
            "/queries/tax-rates?country=FR",
            Caller::Anonymous,
            Some(&loaded.consistency()),
        )
        .await;
    assert_eq!(rates.status, 200, "{}", rates.body);
    assert_eq!(rates.body[0]["rates"][0]["category"], "reduced");
    assert_eq!(rates.body[0]["rates"][0]["basis_points"], 550);
    product(&app, "MUG-1", 1190, None).await;
    product(&app, "BOOK-1", 1070, Some("reduced")).await;
    let method = shipping_method(
        &app,
        json!({"name": "EU standard", "price": {"amount": 500, "currency": "EUR"},
               "countries": ["DE", "FR"]}),
    )
    .await;

    // EUR prices include tax: the tax is the part of each price that is tax.
    let who = customer(&app);
    let cart = mug_and_book(&app, &who).await;
    let order = placed_order(
        &app,
        &who,
        &check_out(&app, &who, &cart, to("FR", Some(&method))).await,
    )
    .await;
    let pricing = &order["pricing"];
    assert_eq!(pricing["tax"]["country"], "FR", "{order}");
    assert_eq!(pricing["tax"]["prices_include_tax"], true);
    let line = |sku: &str| {
        pricing["lines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["sku"] == sku)
            .unwrap()
            .clone()
    };
    // 1190 × 20/120 = 198.33; 1070 × 5.5/105.5 = 55.78; shipping 500 × 20/120 = 83.33.
    assert_eq!(line("MUG-1")["tax_rate_basis_points"], 2000);
    assert_eq!(line("MUG-1")["tax"]["amount"], 198);
    assert_eq!(line("BOOK-1")["tax_rate_basis_points"], 550);
    assert_eq!(line("BOOK-1")["tax"]["amount"], 56);
    assert_eq!(pricing["shipping"]["tax"]["amount"], 83);
    assert_eq!(pricing["tax"]["total"]["amount"], 337);
    assert_eq!(order["total"]["amount"], 2760);

    // The same goods to Germany: Germany's rates.
    let other = customer(&app);
    let cart = mug_and_book(&app, &other).await;
    let order = placed_order(
        &app,
        &other,
        &check_out(&app, &other, &cart, to("DE", Some(&method))).await,
    )
    .await;
    // 1190 × 19/119 = 190; 1070 × 7/107 = 70; 500 × 19/119 = 79.83.
    assert_eq!(order["pricing"]["tax"]["total"]["amount"], 340, "{order}");
    assert_eq!(order["total"]["amount"], 2760);
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn the_checkout_is_charged_by_the_method_it_names_and_a_free_shipping_coupon_waives_it(
    pool: PgPool,
) {
    let app = spawn_app(pool.clone(), true).await;
    product(&app, "MUG-1", 1000, None).await;
    product(&app, "BOOK-1", 1500, None).await;
    let standard = shipping_method(
        &app,
        json!({"name": "Standard", "price": {"amount": 495, "currency": "EUR"},
               "free_above": {"amount": 10000, "currency": "EUR"}, "countries": ["GB", "IE"]}),
    )
    .await;
    let us_only = shipping_method(
        &app,
        json!({"name": "US ground", "price": {"amount": 900, "currency": "EUR"},
               "countries": ["US"]}),
    )
    .await;
    let free = app
        .command(
            "/commands/promotions",
            Caller::Bearer(&admin(&app)),
            json!({"name": "Free shipping", "code": "SHIPFREE", "action": {"type": "free_shipping"}}),
        )
        .await;
    assert_eq!(free.status, 201, "{}", free.body);
    let listed = app
        .query(
            "/queries/shipping-methods?country=GB&currency=EUR",
            Caller::Anonymous,
            Some(&free.consistency()),
        )
        .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let names: Vec<&str> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Standard"]);

    let who = customer(&app);
    let cart = mug_and_book(&app, &who).await;
    let events_before = count_events(&pool).await;
    let unknown = uuid::Uuid::new_v4().to_string();
    for (method, code) in [
        (None, "shipping_method_required"),
        (Some(us_only.as_str()), "shipping_method_unavailable"),
        (Some(unknown.as_str()), "shipping_method_unavailable"),
    ] {
        let refused = check_out(&app, &who, &cart, to("GB", method)).await;
        assert_eq!(refused.status, 422, "{method:?}: {}", refused.body);
        assert_eq!(refused.body["code"], code, "{}", refused.body);
    }
    let events_after = count_events(&pool).await;
    assert_eq!(
        events_after, events_before,
        "a refused checkout records nothing"
    );

    let order = placed_order(
        &app,
        &who,
        &check_out(&app, &who, &cart, to("GB", Some(&standard))).await,
    )
    .await;
    assert_eq!(order["pricing"]["shipping"]["name"], "Standard", "{order}");
    assert_eq!(order["pricing"]["shipping"]["amount"]["amount"], 495);
    assert_eq!(order["total"]["amount"], 2995);

    let thrifty = customer(&app);
    let cart = mug_and_book(&app, &thrifty).await;
    let applied = app
        .command(
            &format!("/commands/carts/{cart}/apply-coupon"),
            Caller::Bearer(&thrifty.token),
            json!({"code": "shipfree"}),
        )
        .await;
    assert_eq!(applied.status, 200, "{}", applied.body);
    let order = placed_order(
        &app,
        &thrifty,
        &check_out(&app, &thrifty, &cart, to("GB", Some(&standard))).await,
    )
    .await;
    let pricing = &order["pricing"];
    assert_eq!(pricing["shipping"]["discount"]["amount"], 495, "{order}");
    assert_eq!(pricing["shipping"]["amount"]["amount"], 0);
    assert_eq!(pricing["discounts"][0]["action"], "free_shipping");
    assert_eq!(order["total"]["amount"], 2500);

    // A retired method is chosen no more; the orders placed with it keep their charge.
    let retired = app
        .command(
            &format!("/commands/shipping-methods/{standard}/retire"),
            Caller::Bearer(&admin(&app)),
            json!({}),
        )
        .await;
    assert_eq!(retired.status, 200, "{}", retired.body);
    let late = customer(&app);
    let cart = mug_and_book(&app, &late).await;
    let refused = check_out(&app, &late, &cart, to("GB", Some(&standard))).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(refused.body["code"], "shipping_method_unavailable");
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn bad_shipping_and_tax_configuration_is_refused_and_changes_nothing(pool: PgPool) {
    let app = spawn_app(pool.clone(), false).await;
    let admin = admin(&app);
    let cases = [
        (
            "/commands/tax-rates/de/set",
            json!({"rates": []}),
            400,
            "invalid_path",
        ),
        (
            "/commands/tax-rates/DE/set",
            json!({"rates": [{"category": "standard", "basis_points": 10001}]}),
            422,
            "invalid_tax_rates",
        ),
        (
            "/commands/tax-rates/DE/set",
            json!({"rates": [{"category": "standard", "basis_points": 1900},
                             {"category": "standard", "basis_points": 700}]}),
            422,
            "invalid_tax_rates",
        ),
        (
            "/commands/tax-rates/DE/set",
            json!({"rates": [{"category": "Not A Category", "basis_points": 1900}]}),
            400,
            "invalid_body",
        ),
        (
            "/commands/shipping-methods",
            json!({"name": "Nowhere", "price": {"amount": 100, "currency": "EUR"}, "countries": []}),
            422,
            "invalid_shipping_method",
        ),
        (
            "/commands/shipping-methods",
            json!({"name": "Odd", "price": {"amount": 100, "currency": "EUR"},
                   "free_above": {"amount": 100, "currency": "USD"}, "countries": ["DE"]}),
            422,
            "invalid_shipping_method",
        ),
    ];
    for (path, body, status, code) in cases {
        let refused = app.command(path, Caller::Bearer(&admin), body).await;
        assert_eq!(refused.status, status, "{path}: {}", refused.body);
        assert_eq!(refused.body["code"], code, "{path}: {}", refused.body);
    }
    let who = customer(&app);
    let forbidden = app
        .command(
            "/commands/tax-rates/DE/set",
            Caller::Bearer(&who.token),
            json!({"rates": []}),
        )
        .await;
    assert_eq!(forbidden.status, 403, "{}", forbidden.body);
    let events = count_events(&pool).await;
    assert_eq!(events, 0);
}
