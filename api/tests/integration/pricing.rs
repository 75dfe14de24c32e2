//! Pricing over HTTP: promotions created by admins, coupons applied and refused
//! for each reason, stacking order, a coupon's usage limit under a race of
//! customers, and an order whose totals hold still after the catalog moves.

use serde_json::{json, Value};
use sqlx::PgPool;

use crate::fixtures::{
    add_item, admin, checkout_body, customer, customer_cart, published_product, Customer,
};
use crate::support::{spawn_app, Caller, Reply, TestApp};

async fn promotion(app: &TestApp, body: Value) -> Reply {
    app.command("/commands/promotions", Caller::Bearer(&admin(app)), body)
        .await
}

async fn created_promotion(app: &TestApp, body: Value) -> String {
    let created = promotion(app, body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.body["id"].as_str().unwrap().to_owned()
}

async fn apply(app: &TestApp, who: &Customer, cart: &str, code: &str) -> Reply {
    app.command(
        &format!("/commands/carts/{cart}/apply-coupon"),
        Caller::Bearer(&who.token),
        json!({"code": code}),
    )
    .await
}

async fn cart_view(app: &TestApp, who: &Customer, cart: &str, after: &Reply) -> Value {
    let view = app
        .query(
            &format!("/queries/carts/{cart}"),
            Caller::Bearer(&who.token),
            Some(&after.consistency()),
        )
        .await;
    assert_eq!(view.status, 200, "{}", view.body);
    view.body
}

async fn check_out(app: &TestApp, who: &Customer, cart: &str) -> Reply {
    app.command(
        &format!("/commands/carts/{cart}/checkout"),
        Caller::Bearer(&who.token),
        checkout_body(),
    )
    .await
}

/// A customer's cart holding `quantity` of `sku`.
async fn cart_with(app: &TestApp, who: &Customer, sku: &str, quantity: u32) -> (String, Reply) {
    let cart = customer_cart(app, who).await;
    let added = add_item(app, &cart, Caller::Bearer(&who.token), sku, quantity).await;
    (cart, added)
}

fn percent(code: Option<&str>, basis_points: u32) -> Value {
    json!({"name": "Ten off", "code": code,
           "action": {"type": "percent_off_order", "basis_points": basis_points}})
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_coupon_applies_its_discount_and_the_cart_shows_it(pool: PgPool) {
    let app = spawn_app(pool, true).await;
    published_product(&app, "MUG-1", 1000, "mugs").await;
    created_promotion(&app, percent(Some("winter10"), 1000)).await;
    let who = customer(&app);
    let (cart, _) = cart_with(&app, &who, "MUG-1", 2).await;

    let applied = apply(&app, &who, &cart, "Winter10").await;
    assert_eq!(applied.status, 200, "{}", applied.body);
    let view = cart_view(&app, &who, &cart, &applied).await;
    assert_eq!(view["coupons"], json!(["WINTER10"]));
    assert_eq!(view["discounts"][0]["amount"]["amount"], 200);
    assert_eq!(view["discounts"][0]["lines"]["MUG-1"], 200);
    assert_eq!(view["subtotal"]["amount"], 2000);
    assert_eq!(view["total_after_discounts"]["amount"], 1800);

    let removed = app
        .command(
            &format!("/commands/carts/{cart}/remove-coupon"),
            Caller::Bearer(&who.token),
            json!({"code": "WINTER10"}),
        )
        .await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    let view = cart_view(&app, &who, &cart, &removed).await;
    assert_eq!(view["discounts"], json!([]));
    assert_eq!(view["total_after_discounts"]["amount"], 2000);
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn coupons_are_refused_for_each_reason_and_nothing_changes(pool: PgPool) {
    let app = spawn_app(pool.clone(), false).await;
    published_product(&app, "MUG-1", 1000, "mugs").await;
    created_promotion(
        &app,
        json!({"name": "Over", "code": "OVER", "action": {"type": "free_shipping"},
               "window": {"ends_at": "2020-01-01T00:00:00Z"}}),
    )
    .await;
    created_promotion(
        &app,
        json!({"name": "Big spenders", "code": "BIG", "action": {"type": "percent_off_order", "basis_points": 500},
               "conditions": {"minimum_subtotal": {"amount": 50000, "currency": "EUR"}}}),
    )
    .await;
    created_promotion(
        &app,
        json!({"name": "Once", "code": "ONCE", "action": {"type": "percent_off_order", "basis_points": 500},
               "per_customer_limit": 1}),
    )
    .await;
    let who = customer(&app);
    let (cart, _) = cart_with(&app, &who, "MUG-1", 1).await;
    // ONCE is used by this customer's first order.
    let used = apply(&app, &who, &cart, "ONCE").await;
    assert_eq!(used.status, 200, "{}", used.body);
    assert_eq!(check_out(&app, &who, &cart).await.status, 200);
    let (cart, _) = cart_with(&app, &who, "MUG-1", 1).await;

    let events_before: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&pool)
        .await
        .unwrap();
    for (code, expected, detail) in [
        ("NOPE", "coupon_unknown", "no promotion"),
        ("OVER", "coupon_expired", "expired"),
        ("ONCE", "coupon_exhausted", "no use left"),
        (
            "BIG",
            "coupon_not_applicable",
            "the subtotal must reach 50000 EUR",
        ),
    ] {
        let refused = apply(&app, &who, &cart, code).await;
        assert_eq!(refused.status, 422, "{code}: {}", refused.body);
        assert_eq!(refused.code(), expected, "{}", refused.body);
        let said = refused.body["detail"].as_str().unwrap_or_default();
        assert!(said.contains(detail), "{code}: {said}");
    }
    let malformed = apply(&app, &who, &cart, "a b").await;
    assert_eq!(malformed.status, 400, "{}", malformed.body);
    let events_after: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(events_before, events_after, "a refusal records nothing");

    let taken = promotion(&app, percent(Some("once"), 100)).await;
    assert_eq!(taken.status, 409, "{}", taken.body);
    assert_eq!(taken.code(), "coupon_code_taken");
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn promotions_stack_in_priority_order_and_the_order_keeps_the_figures(pool: PgPool) {
    let app = spawn_app(pool, true).await;
    let (product_id, _) = published_product(&app, "MUG-1", 1200, "mugs").await;
    // Automatic, second: 10 % of what the first left.
    created_promotion(
        &app,
        json!({"name": "Ten percent", "action": {"type": "percent_off_order", "basis_points": 1000},
               "stacking": {"priority": 2}}),
    )
    .await;
    // A coupon, first: 2 € off.
    created_promotion(
        &app,
        json!({"name": "Two off", "code": "TWO", "stacking": {"priority": 1},
               "action": {"type": "fixed_off_order", "amount": {"amount": 200, "currency": "EUR"}}}),
    )
    .await;
    let who = customer(&app);
    let (cart, _) = cart_with(&app, &who, "MUG-1", 1).await;
    let applied = apply(&app, &who, &cart, "TWO").await;
    assert_eq!(applied.status, 200, "{}", applied.body);
    let view = cart_view(&app, &who, &cart, &applied).await;
    let amounts: Vec<i64> = view["discounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["amount"]["amount"].as_i64().unwrap())
        .collect();
    assert_eq!(amounts, vec![200, 100], "{view}");

    let placed = check_out(&app, &who, &cart).await;
    assert_eq!(placed.status, 200, "{}", placed.body);
    let order_id = placed.body["order_id"].as_str().unwrap().to_owned();
    let order = crate::fixtures::order_view(&app, &who, &order_id).await;
    assert_eq!(order["total"]["amount"], 900, "{order}");
    assert_eq!(order["pricing"]["discount_total"]["amount"], 300);

    // The catalog moves on; the order does not.
    let repriced = app
        .command(
            &format!("/commands/products/{product_id}/change-price"),
            Caller::Bearer(&admin(&app)),
            json!({"price": {"amount": 5000, "currency": "EUR"}}),
        )
        .await;
    assert_eq!(repriced.status, 200, "{}", repriced.body);
    let again = app
        .query(
            &format!("/queries/orders/{order_id}"),
            Caller::Bearer(&who.token),
            Some(&repriced.consistency()),
        )
        .await;
    assert_eq!(again.body["total"]["amount"], 900, "{}", again.body);
    assert_eq!(again.body["lines"][0]["unit_price"]["amount"], 1200);
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_promotion_ended_before_checkout_is_caught_as_prices_changed(pool: PgPool) {
    let app = spawn_app(pool, true).await;
    published_product(&app, "MUG-1", 1000, "mugs").await;
    let promotion_id = created_promotion(&app, percent(None, 1000)).await;
    let who = customer(&app);
    let (cart, added) = cart_with(&app, &who, "MUG-1", 1).await;
    let view = cart_view(&app, &who, &cart, &added).await;
    assert_eq!(view["total_after_discounts"]["amount"], 900, "{view}");

    let ended = app
        .command(
            &format!("/commands/promotions/{promotion_id}/end"),
            Caller::Bearer(&admin(&app)),
            json!({}),
        )
        .await;
    assert_eq!(ended.status, 200, "{}", ended.body);
    let refused = check_out(&app, &who, &cart).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(refused.code(), "prices_changed");
    // The cart was re-priced: the next checkout is at the new total.
    let placed = check_out(&app, &who, &cart).await;
    assert_eq!(placed.status, 200, "{}", placed.body);
    let view = cart_view(&app, &who, &cart, &placed).await;
    assert_eq!(view["pricing"]["total"]["amount"], 1000, "{view}");
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn fifty_customers_racing_for_a_coupon_limited_to_ten_uses_get_ten_orders(pool: PgPool) {
    let app = spawn_app(pool.clone(), false).await;
    published_product(&app, "MUG-1", 1000, "mugs").await;
    let promotion_id = created_promotion(
        &app,
        json!({"name": "First ten", "code": "TEN", "usage_limit": 10,
               "action": {"type": "percent_off_order", "basis_points": 5000}}),
    )
    .await;
    let mut ready = Vec::new();
    for _ in 0..50 {
        let who = customer(&app);
        let (cart, _) = cart_with(&app, &who, "MUG-1", 1).await;
        let applied = apply(&app, &who, &cart, "TEN").await;
        assert_eq!(applied.status, 200, "{}", applied.body);
        ready.push((who, cart));
    }
    let answers =
        futures::future::join_all(ready.iter().map(|(who, cart)| check_out(&app, who, cart))).await;
    let placed = answers.iter().filter(|a| a.status == 200).count();
    let exhausted = answers
        .iter()
        .filter(|a| a.status == 422 && a.code() == "coupon_exhausted")
        .count();
    let others: Vec<_> = answers
        .iter()
        .filter(|a| a.status != 200 && a.code() != "coupon_exhausted")
        .map(|a| a.body.clone())
        .collect();
    assert_eq!((placed, exhausted), (10, 40), "{others:?}");
    let with_coupon: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE event_type = 'CartCheckedOut'
            AND payload::jsonb -> 'CartCheckedOut' -> 'pricing' -> 'discounts' @> '[{\"code\": \"TEN\"}]'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(with_coupon, 10);
    let redeemed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE aggregate_id = $1 AND event_type = 'PromotionRedeemed'",
    )
    .bind(&promotion_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    let released: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE aggregate_id = $1 AND event_type = 'PromotionRedemptionReleased'",
    )
    .bind(&promotion_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(redeemed - released, 10);
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_cancelled_order_gives_its_coupon_use_back(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    // No stock: the checkout process cancels the order it places.
    published_product(&app, "MUG-1", 1000, "mugs").await;
    let promotion_id = created_promotion(
        &app,
        json!({"name": "Only one", "code": "ONE", "usage_limit": 1,
               "action": {"type": "percent_off_order", "basis_points": 1000}}),
    )
    .await;
    let first = customer(&app);
    let (cart, _) = cart_with(&app, &first, "MUG-1", 1).await;
    assert_eq!(apply(&app, &first, &cart, "ONE").await.status, 200);
    let placed = check_out(&app, &first, &cart).await;
    assert_eq!(placed.status, 200, "{}", placed.body);

    let released = crate::checkout_process::eventually(
        || async {
            let count: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM events
                  WHERE aggregate_id = $1 AND event_type = 'PromotionRedemptionReleased'",
            )
            .bind(&promotion_id)
            .fetch_one(&pool)
            .await
            .unwrap();
            json!(count)
        },
        |count| count == &json!(1),
    )
    .await;
    assert_eq!(released, json!(1));
    // The use is free again: another customer takes it.
    let second = customer(&app);
    let (cart, _) = cart_with(&app, &second, "MUG-1", 1).await;
    let applied = apply(&app, &second, &cart, "ONE").await;
    assert_eq!(applied.status, 200, "{}", applied.body);
    assert_eq!(check_out(&app, &second, &cart).await.status, 200);
}

/// Today's rows of the sales report by `dimension`, once `done` holds of them.
async fn sales_report(
    app: &TestApp,
    token: &str,
    dimension: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    crate::checkout_process::eventually(
        || async {
            app.query(
                &format!("/queries/sales?dimension={dimension}"),
                Caller::Bearer(token),
                None,
            )
            .await
            .body
        },
        done,
    )
    .await
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn the_sales_report_adds_up_revenue_discounts_tax_and_units_by_product_category_and_promotion(
    pool: PgPool,
) {
    let app = spawn_app(pool, true).await;
    let rates = app
        .command(
            "/commands/tax-rates/GB/set",
            Caller::Bearer(&admin(&app)),
            json!({"rates": [{"category": "standard", "basis_points": 2000}]}),
        )
        .await;
    assert_eq!(rates.status, 201, "{}", rates.body);
    published_product(&app, "MUG-1", 1190, "mugs").await;
    published_product(&app, "BOOK-1", 1070, "books").await;
    let promotion_id = created_promotion(&app, percent(None, 1000)).await;
    let first = customer(&app);
    let (cart, _) = cart_with(&app, &first, "MUG-1", 2).await;
    assert_eq!(check_out(&app, &first, &cart).await.status, 200);
    let second = customer(&app);
    let (cart, _) = cart_with(&app, &second, "MUG-1", 1).await;
    add_item(&app, &cart, Caller::Bearer(&second.token), "BOOK-1", 1).await;
    let placed = check_out(&app, &second, &cart).await;
    assert_eq!(placed.status, 200, "{}", placed.body);
    let order_id = placed.body["order_id"].as_str().unwrap();
    crate::fixtures::order_view(&app, &second, order_id).await;

    let analyst = app.token("analyst-1", api::auth::Role::Analyst);
    // Order 1: 2 × 1190 − 10 % = 2142, tax 2142/6 = 357. Order 2: 1190 + 1070 − 10 %
    // (119 and 107 off) = 1071 + 963, tax 178.5 → 179 and 160.5 → 161 (half up).
    // Both orders are in (one batch writes every dimension of an event at once).
    let total = sales_report(&app, &analyst, "total", |rows| rows[0]["orders"] == 2).await;
    let day = &total[0];
    assert_eq!(day["orders"], 2, "{total}");
    assert_eq!(day["units"], 4);
    assert_eq!(day["gross"], 4640);
    assert_eq!(day["discounts"], 464);
    assert_eq!(day["tax"], 697);
    assert_eq!(day["revenue"], 4176);
    let products = sales_report(&app, &analyst, "product", |rows| rows.is_array()).await;
    assert_eq!(products[0]["key"], "MUG-1", "{products}");
    assert_eq!(products[0]["units"], 3);
    assert_eq!(products[0]["revenue"], 3213);
    assert_eq!(products[0]["tax"], 536);
    assert_eq!(products[1]["key"], "BOOK-1");
    assert_eq!(products[1]["discounts"], 107);
    let categories = sales_report(&app, &analyst, "category", |rows| rows.is_array()).await;
    assert_eq!(categories[0]["key"], "mugs", "{categories}");
    assert_eq!(categories[0]["revenue"], 3213);
    let promotions = sales_report(&app, &analyst, "promotion", |rows| rows.is_array()).await;
    assert_eq!(promotions[0]["key"], promotion_id.as_str(), "{promotions}");
    assert_eq!(promotions[0]["label"], "Ten off");
    assert_eq!(promotions[0]["orders"], 2);
    assert_eq!(promotions[0]["discounts"], 464);

    let refused = app
        .query("/queries/sales", Caller::Bearer(&first.token), None)
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    for bad in [
        "/queries/sales?dimension=brand",
        "/queries/sales?from=2026-12-07&to=2026-12-01",
        "/queries/sales?from=2020-01-01&to=2026-12-01",
    ] {
        let refused = app.query(bad, Caller::Bearer(&analyst), None).await;
        assert_eq!(refused.status, 400, "{bad}: {}", refused.body);
        assert_eq!(refused.body["code"], "invalid_query");
    }
}
