//! After the sale, end to end over HTTP with the checkout process running: partial
//! cancellation gives stock and authorization back, a received return restocks
//! what is resellable and refunds once (even across a crash between the gateway
//! and the record), refunds racing for the same captured money cannot both pass,
//! and every event names what caused it.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sqlx::PgPool;

use crate::checkout_process::{
    count_of, eventually, inventory, order_when, status_is, CrashingGateway,
};
use crate::fixtures::{admin, customer, paid_order, published_product, stocked, Customer};
use crate::support::{api_config, own_redis, spawn_app, spawn_app_with_gateway, Caller, TestApp};

/// Checks out `lines` for `who` with a card that authorizes; the order's id.
async fn check_out_lines(app: &TestApp, who: &Customer, lines: &[(&str, u32)]) -> String {
    crate::checkout_process::check_out_lines(app, who, lines, "tok_visa").await
}

/// The app with the checkout process talking to `gateway`, on a Redis of its own.
async fn spawn_with_gateway(
    pool: &PgPool,
    config: api::config::ApiConfig,
    gateway: Arc<dyn commands::payment_gateway::PaymentGateway>,
) -> TestApp {
    let redis_url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    spawn_app_with_gateway(
        pool.clone(),
        true,
        own_redis(&redis_url),
        config,
        gateway,
        None,
    )
    .await
}

async fn payment_of(app: &TestApp, who: &Customer, order_id: &str) -> Value {
    app.query(
        &format!("/queries/payments?order_id={order_id}"),
        Caller::Bearer(&who.token),
        None,
    )
    .await
    .body[0]
        .clone()
}

async fn payment_when(
    app: &TestApp,
    who: &Customer,
    order_id: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    eventually(
        || payment_of(app, who, order_id),
        |p| p.is_object() && done(p),
    )
    .await
}

fn amount(value: &Value) -> i64 {
    value["amount"].as_i64().unwrap_or(i64::MIN)
}

async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> crate::support::Reply {
    app.command(path, Caller::Bearer(token), body).await
}

async fn ship_all(app: &TestApp, admin: &str, order_id: &str, lines: &[(&str, u32)]) {
    let lines: Vec<Value> = lines
        .iter()
        .map(|(sku, quantity)| json!({"sku": sku, "quantity": quantity}))
        .collect();
    let shipped = post(
        app,
        &format!("/commands/orders/{order_id}/ship"),
        admin,
        json!({"lines": lines, "carrier": "DHL", "tracking_number": "T1"}),
    )
    .await;
    assert_eq!(shipped.status, 200, "{}", shipped.body);
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn cancelling_some_units_gives_their_stock_and_authorization_back(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    published_product(&app, "LAMP-1", 4000, "home").await;
    stocked(&app, "LAMP-1", 0, 10).await;
    let admin = admin(&app);
    let ada = customer(&app);
    let order_id = check_out_lines(&app, &ada, &[("LAMP-1", 3)]).await;
    order_when(&app, &ada, &order_id, status_is("confirmed")).await;

    // The customer changes their mind about one lamp before anything shipped.
    let cancel = |quantity: u32| json!({"lines": [{"sku": "LAMP-1", "quantity": quantity}], "reason": "one is enough"});
    let path = format!("/commands/orders/{order_id}/cancel-lines");
    let answer = post(&app, &path, &ada.token, cancel(1)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let order = order_when(&app, &ada, &order_id, |o| o["lines"][0]["cancelled"] == 1).await;
    assert_eq!(amount(&order["total_after_cancellations"]), 8000);
    assert_eq!(order["line_cancellations"][0]["cancelled_by"], "customer");
    eventually(
        || inventory(&app, "LAMP-1"),
        |stock| stock["reserved"] == 2 && stock["on_hand"] == 10,
    )
    .await;
    // Its value is released from the authorization, not refunded: nothing was
    // captured, and nothing more than what ships ever will be.
    let payment = payment_when(&app, &ada, &order_id, |p| {
        amount(&p["remaining_capturable"]) == 8000
    })
    .await;
    assert_eq!(
        (
            amount(&payment["captured_total"]),
            amount(&payment["refunded_total"])
        ),
        (0, 0)
    );
    assert_eq!(
        payment["transactions"].as_array().unwrap().last().unwrap()["kind"],
        "release"
    );

    // One ships; then the customer may no longer cancel, an admin may.
    ship_all(&app, &admin, &order_id, &[("LAMP-1", 1)]).await;
    order_when(&app, &ada, &order_id, status_is("partially_shipped")).await;
    let refused = post(&app, &path, &ada.token, cancel(1)).await;
    assert_eq!((refused.status, refused.code()), (422, "already_shipped"));
    let answer = post(&app, &path, &admin, cancel(1)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    order_when(&app, &ada, &order_id, status_is("shipped")).await;

    // What shipped is captured, the rest released: captured + released = authorized.
    let payment = payment_when(&app, &ada, &order_id, |p| p["status"] == "captured").await;
    assert_eq!(amount(&payment["captured_total"]), 4000);
    assert_eq!(amount(&payment["remaining_capturable"]), 0);
    eventually(
        || inventory(&app, "LAMP-1"),
        |stock| stock["reserved"] == 0 && stock["on_hand"] == 9,
    )
    .await;
    let order = order_when(&app, &ada, &order_id, |o| {
        amount(&o["captured_total"]) == 4000
    })
    .await;
    assert_eq!(amount(&order["total_after_cancellations"]), 4000);
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn cancelling_every_unit_before_shipment_cancels_the_order(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    published_product(&app, "LAMP-1", 4000, "home").await;
    stocked(&app, "LAMP-1", 0, 10).await;
    let ada = customer(&app);
    let order_id = check_out_lines(&app, &ada, &[("LAMP-1", 2)]).await;
    order_when(&app, &ada, &order_id, status_is("confirmed")).await;
    let answer = post(
        &app,
        &format!("/commands/orders/{order_id}/cancel-lines"),
        &ada.token,
        json!({"lines": [{"sku": "LAMP-1", "quantity": 2}], "reason": "changed my mind"}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let order = order_when(&app, &ada, &order_id, status_is("cancelled")).await;
    assert_eq!(order["cancellation"]["cancelled_by"], "customer");
    payment_when(&app, &ada, &order_id, |p| p["status"] == "voided").await;
    eventually(
        || inventory(&app, "LAMP-1"),
        |stock| stock["reserved"] == 0 && stock["available"] == 10,
    )
    .await;
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_received_return_restocks_what_is_resellable_and_refunds_once_across_a_crash(
    pool: PgPool,
) {
    let gateway = Arc::new(CrashingGateway::default());
    let start = || spawn_with_gateway(&pool, api_config(), gateway.clone());
    let app = start().await;
    published_product(&app, "MUG-1", 1200, "kitchen").await;
    stocked(&app, "MUG-1", 0, 5).await;
    published_product(&app, "TEE-1", 2500, "clothes").await;
    stocked(&app, "TEE-1", 0, 5).await;
    let admin = admin(&app);
    let ada = customer(&app);
    let lines = [("MUG-1", 2), ("TEE-1", 1)];
    let order_id = check_out_lines(&app, &ada, &lines).await;
    order_when(&app, &ada, &order_id, status_is("confirmed")).await;
    ship_all(&app, &admin, &order_id, &lines).await;
    payment_when(&app, &ada, &order_id, |p| p["status"] == "captured").await;
    let delivered = post(
        &app,
        &format!("/commands/orders/{order_id}/deliver"),
        &admin,
        json!({}),
    )
    .await;
    assert_eq!(delivered.status, 200, "{}", delivered.body);

    let requested = post(
        &app,
        &format!("/commands/orders/{order_id}/returns"),
        &ada.token,
        json!({"lines": [
            {"sku": "MUG-1", "quantity": 2, "reason": "no_longer_needed"},
            {"sku": "TEE-1", "quantity": 1, "reason": "damaged", "note": "torn seam"}
        ]}),
    )
    .await;
    assert_eq!(requested.status, 200, "{}", requested.body);
    let return_id = requested.body["return_id"].as_str().unwrap().to_owned();
    let returns = format!("/commands/orders/{order_id}/returns/{return_id}");

    // Not before an admin approved it; and only an admin approves.
    let early = post(
        &app,
        &format!("{returns}/receive"),
        &admin,
        json!({"lines": [{"sku": "MUG-1", "condition": "resellable"}, {"sku": "TEE-1", "condition": "damaged"}]}),
    )
    .await;
    assert_eq!((early.status, early.code()), (422, "return_not_in_state"));
    let by_customer = post(&app, &format!("{returns}/approve"), &ada.token, json!({})).await;
    assert_eq!(by_customer.status, 403, "{}", by_customer.body);
    let approved = post(&app, &format!("{returns}/approve"), &admin, json!({})).await;
    assert_eq!(approved.status, 200, "{}", approved.body);

    // The process dies after the gateway refunded, before anything recorded it.
    gateway.crash_after_refund.store(true, Ordering::SeqCst);
    let received = post(
        &app,
        &format!("{returns}/receive"),
        &admin,
        json!({"lines": [{"sku": "MUG-1", "condition": "resellable"}, {"sku": "TEE-1", "condition": "damaged"}],
               "restocking_fee": {"amount": 400, "currency": "EUR"}}),
    )
    .await;
    assert_eq!(received.status, 200, "{}", received.body);
    let deadline = Instant::now() + Duration::from_secs(20);
    while gateway.crash_after_refund.load(Ordering::SeqCst) {
        assert!(
            Instant::now() < deadline,
            "the gateway was never asked to refund"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(app);

    let app = start().await;
    // 2 × 12 € + 25 € − 4 € fee.
    let order = order_when(&app, &ada, &order_id, |o| {
        o["refunds"][0]["status"] == "recorded"
    })
    .await;
    assert_eq!(amount(&order["refunded_total"]), 4500);
    let refund = &order["refunds"][0];
    assert_eq!(
        refund["for_what"],
        json!({"kind": "return", "return_id": return_id})
    );
    assert_eq!(order["returns"][0]["status"], "received");
    assert_eq!(
        amount(&order["returns"][0]["settlement"]["restocking_fee"]),
        400
    );
    let payment = payment_when(&app, &ada, &order_id, |p| {
        amount(&p["refunded_total"]) == 4500
    })
    .await;
    let refunds: Vec<&Value> = payment["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["kind"] == "refund")
        .collect();
    assert_eq!(refunds.len(), 1, "{payment}");
    assert_eq!(refunds[0]["refund_id"], refund["refund_id"]);
    assert_eq!(count_of(&pool, "PaymentRefunded").await, 1);
    assert_eq!(count_of(&pool, "OrderRefundRecorded").await, 1);
    let calls = gateway.refund_calls.lock().unwrap().clone();
    assert!(
        calls.len() >= 2,
        "the refund was asked again after the crash"
    );
    assert!(
        calls.iter().all(|k| *k == calls[0]),
        "every call carried the refund's key: one refund at the gateway"
    );

    // The mugs are back on the shelf, the torn tee is not.
    eventually(|| inventory(&app, "MUG-1"), |s| s["on_hand"] == 5).await;
    assert_eq!(inventory(&app, "TEE-1").await["on_hand"], 4);
    let restocks: Vec<(String, String)> = sqlx::query_as(
        "SELECT aggregate_id, payload::jsonb #>> '{StockAdjusted,reason}' FROM events
          WHERE event_type = 'StockAdjusted'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(restocks, vec![("MUG-1".to_owned(), "returned".to_owned())]);

    // Received once.
    let again = post(
        &app,
        &format!("{returns}/receive"),
        &admin,
        json!({"lines": [{"sku": "MUG-1", "condition": "resellable"}, {"sku": "TEE-1", "condition": "damaged"}]}),
    )
    .await;
    assert_eq!(
        (again.status, again.code()),
        (422, "return_already_received")
    );
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn two_refunds_racing_for_the_last_captured_euros_one_wins(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    let admin = admin(&app);
    let ada = customer(&app);
    let order = paid_order(&pool, Some(ada.id), &[("MUG-1", 2000, 1)]).await;
    let path = format!("/commands/orders/{}/refunds", order.order_id);
    let body = json!({"amount": {"amount": 1500, "currency": "EUR"}, "reason": "late parcel"});
    let (first, second) = tokio::join!(
        post(&app, &path, &admin, body.clone()),
        post(&app, &path, &admin, body.clone())
    );
    let mut outcomes = vec![
        (first.status, first.code().to_owned()),
        (second.status, second.code().to_owned()),
    ];
    outcomes.sort();
    assert_eq!(
        outcomes,
        vec![
            (200, String::new()),
            (422, "refund_exceeds_captured".to_owned())
        ],
        "{} {}",
        first.body,
        second.body
    );
    let order_id = order.order_id.to_string();
    let view = order_when(&app, &ada, &order_id, |o| {
        o["refunds"][0]["status"] == "recorded"
    })
    .await;
    assert_eq!(amount(&view["refunded_total"]), 1500);
    assert_eq!(view["refunds"].as_array().unwrap().len(), 1);
    assert_eq!(count_of(&pool, "PaymentRefunded").await, 1);
    // The payment's own route decides on the order too: 5 € are left.
    let payment = format!("/commands/payments/{}/refund", order.payment_id);
    let more = post(
        &app,
        &payment,
        &admin,
        json!({"amount": {"amount": 501, "currency": "EUR"}, "reason": "goodwill"}),
    )
    .await;
    assert_eq!((more.status, more.code()), (422, "refund_exceeds_captured"));
    let rest = post(
        &app,
        &payment,
        &admin,
        json!({"amount": {"amount": 500, "currency": "EUR"}, "reason": "goodwill"}),
    )
    .await;
    assert_eq!(rest.status, 200, "{}", rest.body);
    assert!(rest.body["refund_id"].is_string(), "{}", rest.body);
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn returns_are_refused_after_the_window_and_listed_for_admins_only(pool: PgPool) {
    let mut config = api_config();
    config.return_window_days = 0;
    let app = spawn_with_gateway(
        &pool,
        config,
        Arc::new(commands::payment_gateway::TestGateway::default()),
    )
    .await;
    published_product(&app, "MUG-1", 1200, "kitchen").await;
    stocked(&app, "MUG-1", 0, 5).await;
    let admin = admin(&app);
    let ada = customer(&app);
    let bob = customer(&app);
    let order_id = check_out_lines(&app, &ada, &[("MUG-1", 1)]).await;
    order_when(&app, &ada, &order_id, status_is("confirmed")).await;
    ship_all(&app, &admin, &order_id, &[("MUG-1", 1)]).await;
    order_when(&app, &ada, &order_id, status_is("shipped")).await;
    let path = format!("/commands/orders/{order_id}/returns");
    let body = json!({"lines": [{"sku": "MUG-1", "quantity": 1, "reason": "defective"}]});
    let early = post(&app, &path, &ada.token, body.clone()).await;
    assert_eq!((early.status, early.code()), (422, "illegal_transition"));
    let delivered = post(
        &app,
        &format!("/commands/orders/{order_id}/deliver"),
        &admin,
        json!({}),
    )
    .await;
    assert_eq!(delivered.status, 200, "{}", delivered.body);
    // Another customer's order does not exist for them.
    let other = post(&app, &path, &bob.token, body.clone()).await;
    assert_eq!(other.status, 404, "{}", other.body);
    // A window of zero days has closed by the time anyone asks.
    let late = post(&app, &path, &ada.token, body.clone()).await;
    assert_eq!((late.status, late.code()), (422, "return_window_closed"));
    // An admin asking for the customer is held to the window too.
    let late = post(&app, &path, &admin, body).await;
    assert_eq!((late.status, late.code()), (422, "return_window_closed"));

    let queue = app
        .query(
            "/queries/returns?status=requested",
            Caller::Bearer(&ada.token),
            None,
        )
        .await;
    assert_eq!(queue.status, 403, "{}", queue.body);
    let queue = app
        .query(
            "/queries/returns?status=requested",
            Caller::Bearer(&admin),
            None,
        )
        .await;
    assert_eq!(queue.status, 200, "{}", queue.body);
    assert_eq!(queue.body["items"], json!([]));
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn the_returns_queue_lists_returns_by_status_newest_first(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    published_product(&app, "MUG-1", 1200, "kitchen").await;
    stocked(&app, "MUG-1", 0, 10).await;
    let admin = admin(&app);
    let ada = customer(&app);
    let mut returns = Vec::new();
    for _ in 0..3 {
        let order_id = check_out_lines(&app, &ada, &[("MUG-1", 1)]).await;
        order_when(&app, &ada, &order_id, status_is("confirmed")).await;
        ship_all(&app, &admin, &order_id, &[("MUG-1", 1)]).await;
        order_when(&app, &ada, &order_id, status_is("shipped")).await;
        post(
            &app,
            &format!("/commands/orders/{order_id}/deliver"),
            &admin,
            json!({}),
        )
        .await;
        let requested = post(
            &app,
            &format!("/commands/orders/{order_id}/returns"),
            &ada.token,
            json!({"lines": [{"sku": "MUG-1", "quantity": 1, "reason": "wrong_item"}]}),
        )
        .await;
        assert_eq!(requested.status, 200, "{}", requested.body);
        returns.push((
            order_id,
            requested.body["return_id"].as_str().unwrap().to_owned(),
        ));
    }
    let (first_order, first_return) = &returns[0];
    let rejected = post(
        &app,
        &format!("/commands/orders/{first_order}/returns/{first_return}/reject"),
        &admin,
        json!({"reason": "bought in another shop"}),
    )
    .await;
    assert_eq!(rejected.status, 200, "{}", rejected.body);
    let token = rejected.consistency();

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            None => "/queries/returns?status=requested&limit=1".to_owned(),
            Some(c) => format!("/queries/returns?status=requested&limit=1&cursor={c}"),
        };
        let page = app.query(&path, Caller::Bearer(&admin), Some(&token)).await;
        assert_eq!(page.status, 200, "{}", page.body);
        for item in page.body["items"].as_array().unwrap() {
            assert_eq!(item["return"]["status"], "requested");
            assert_eq!(item["customer_id"], json!(ada.id));
            seen.push(item["return"]["return_id"].as_str().unwrap().to_owned());
        }
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, vec![returns[2].1.clone(), returns[1].1.clone()]);
    let rejected = app
        .query(
            "/queries/returns?status=rejected",
            Caller::Bearer(&admin),
            Some(&token),
        )
        .await;
    assert_eq!(
        rejected.body["items"][0]["return"]["rejection_reason"],
        "bought in another shop"
    );
    let order = app
        .query(
            &format!("/queries/orders/{first_order}"),
            Caller::Bearer(&ada.token),
            Some(&token),
        )
        .await;
    assert_eq!(order.body["lines"][0]["return_requested"], 0);
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn every_event_of_a_whole_order_life_names_actor_correlation_causation_and_request(
    pool: PgPool,
) {
    let app = spawn_app(pool.clone(), true).await;
    published_product(&app, "LAMP-1", 4000, "home").await;
    stocked(&app, "LAMP-1", 0, 10).await;
    let admin = admin(&app);
    let ada = customer(&app);
    let order_id = check_out_lines(&app, &ada, &[("LAMP-1", 2)]).await;
    order_when(&app, &ada, &order_id, status_is("confirmed")).await;
    post(
        &app,
        &format!("/commands/orders/{order_id}/cancel-lines"),
        &admin,
        json!({"lines": [{"sku": "LAMP-1", "quantity": 1}], "reason": "damaged in the warehouse"}),
    )
    .await;
    ship_all(&app, &admin, &order_id, &[("LAMP-1", 1)]).await;
    payment_when(&app, &ada, &order_id, |p| p["status"] == "captured").await;
    order_when(&app, &ada, &order_id, |o| {
        amount(&o["captured_total"]) == 4000
    })
    .await;

    let (all, missing): (i64, i64) = sqlx::query_as(
        "SELECT count(*),
                count(*) FILTER (WHERE metadata::jsonb ->> 'actor' IS NULL
                                    OR metadata::jsonb ->> 'correlation_id' IS NULL
                                    OR metadata::jsonb ->> 'causation_id' IS NULL
                                    OR metadata::jsonb ->> 'request_id' IS NULL)
           FROM events",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(all > 15, "a whole order's life has more events than {all}");
    assert_eq!(missing, 0, "{missing} of {all} events lack a metadata id");
    // A person's command is caused by their request.
    let (causation, request): (String, String) = sqlx::query_as(
        "SELECT metadata::jsonb ->> 'causation_id', metadata::jsonb ->> 'request_id'
           FROM events WHERE event_type = 'OrderLinesCancelled'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(causation, request);
}

/// Delivers a checkout of `sku` to `who`, returns it asking for `replacement`,
/// approves and receives it; the replacement order's id.
async fn exchanged(
    app: &TestApp,
    who: &Customer,
    admin: &str,
    sku: &str,
    replacement: &str,
) -> String {
    let order_id = check_out_lines(app, who, &[(sku, 1)]).await;
    order_when(app, who, &order_id, status_is("confirmed")).await;
    ship_all(app, admin, &order_id, &[(sku, 1)]).await;
    order_when(app, who, &order_id, status_is("shipped")).await;
    post(
        app,
        &format!("/commands/orders/{order_id}/deliver"),
        admin,
        json!({}),
    )
    .await;
    let requested = post(
        app,
        &format!("/commands/orders/{order_id}/returns"),
        &who.token,
        json!({"lines": [{"sku": sku, "quantity": 1, "reason": "wrong_item",
                          "exchange_for": {"sku": replacement, "quantity": 1}}]}),
    )
    .await;
    assert_eq!(requested.status, 200, "{}", requested.body);
    let return_id = requested.body["return_id"].as_str().unwrap().to_owned();
    let returns = format!("/commands/orders/{order_id}/returns/{return_id}");
    assert_eq!(
        post(app, &format!("{returns}/approve"), admin, json!({}))
            .await
            .status,
        200
    );
    let received = post(
        app,
        &format!("{returns}/receive"),
        admin,
        json!({"lines": [{"sku": sku, "condition": "resellable"}]}),
    )
    .await;
    assert_eq!(received.status, 200, "{}", received.body);
    let order = order_when(app, who, &order_id, |o| {
        o["returns"][0]["settlement"]["replacement_order_id"].is_string()
    })
    .await;
    order["returns"][0]["settlement"]["replacement_order_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn an_exchange_places_the_replacement_order_free_or_for_the_difference(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    for (sku, price) in [("MUG-1", 1200), ("MUG-BLUE", 1200), ("MUG-XL", 1500)] {
        published_product(&app, sku, price, "kitchen").await;
        stocked(&app, sku, 0, 5).await;
    }
    let admin = admin(&app);
    let ada = customer(&app);

    // Same price: the replacement ships at no charge, with no payment at all.
    let free = exchanged(&app, &ada, &admin, "MUG-1", "MUG-BLUE").await;
    let replacement = order_when(&app, &ada, &free, status_is("confirmed")).await;
    assert_eq!(amount(&replacement["total"]), 0);
    assert_eq!(amount(&replacement["replaces"]["credit"]), 1200);
    assert!(replacement["payment"].is_null(), "{replacement}");
    assert_eq!(replacement["lines"][0]["sku"], "MUG-BLUE");
    eventually(|| inventory(&app, "MUG-BLUE"), |s| s["reserved"] == 1).await;

    // Dearer: the customer pays the difference with the original card.
    let dearer = exchanged(&app, &ada, &admin, "MUG-1", "MUG-XL").await;
    let replacement = order_when(&app, &ada, &dearer, status_is("confirmed")).await;
    assert_eq!(amount(&replacement["total"]), 300);
    assert_eq!(amount(&replacement["payment"]["authorized_amount"]), 300);
    // Neither return refunded anything: the value went to the replacements.
    assert_eq!(count_of(&pool, "PaymentRefunded").await, 0);
    // Resellable mugs went back to stock: 5 − 2 shipped + 2 returned.
    eventually(|| inventory(&app, "MUG-1"), |s| s["on_hand"] == 5).await;
}

/// Sends an edit of `order_id` and waits until the process settled or reverted
/// it; the order then, and the edit's id.
async fn edit_and_follow(
    app: &TestApp,
    who: &Customer,
    admin: &str,
    order_id: &str,
    body: Value,
) -> (Value, String) {
    let path = format!("/commands/orders/{order_id}/edit");
    let answer = post(app, &path, admin, body).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let edit_id = answer.body["edit_id"].as_str().unwrap().to_owned();
    let order = order_when(app, who, order_id, |o| {
        o["edits"].as_array().is_some_and(|edits| {
            edits
                .iter()
                .any(|e| e["edit_id"] == edit_id.as_str() && e["status"] != "pending")
        })
    })
    .await;
    (order, edit_id)
}

/// The order's edit `edit_id`.
fn edit_of<'a>(order: &'a Value, edit_id: &str) -> &'a Value {
    order["edits"]
        .as_array()
        .and_then(|edits| edits.iter().find(|e| e["edit_id"] == edit_id))
        .unwrap_or(&Value::Null)
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn an_edit_holds_the_added_stock_and_raises_or_lowers_the_authorization(pool: PgPool) {
    let gateway = Arc::new(CrashingGateway::default());
    let app = spawn_with_gateway(&pool, api_config(), gateway.clone()).await;
    published_product(&app, "LAMP-1", 4000, "home").await;
    stocked(&app, "LAMP-1", 0, 10).await;
    published_product(&app, "BULB-1", 500, "home").await;
    stocked(&app, "BULB-1", 0, 3).await;
    let admin = admin(&app);
    let ada = customer(&app);
    let order_id = check_out_lines(&app, &ada, &[("LAMP-1", 1)]).await;
    order_when(&app, &ada, &order_id, status_is("confirmed")).await;
    let path = format!("/commands/orders/{order_id}/edit");

    // A second lamp and two bulbs: +50 €, held and authorized.
    let (order, edit_id) = edit_and_follow(
        &app,
        &ada,
        &admin,
        &order_id,
        json!({"lines": [{"sku": "LAMP-1", "quantity": 2}, {"sku": "BULB-1", "quantity": 2}],
               "reason": "the customer called"}),
    )
    .await;
    let edit = edit_of(&order, &edit_id);
    assert_eq!(edit["status"], "settled");
    assert_eq!(edit["reason"], "the customer called");
    assert!(edit["edited_by"].is_string(), "{edit}");
    assert_eq!(
        (amount(&edit["total_before"]), amount(&edit["total_after"])),
        (4000, 9000)
    );
    assert_eq!(amount(&order["total_after_cancellations"]), 9000);
    assert_eq!(amount(&order["payment"]["authorized_amount"]), 9000);
    let payment = payment_when(&app, &ada, &order_id, |p| {
        amount(&p["authorized_total"]) == 9000
    })
    .await;
    assert_eq!(amount(&payment["remaining_capturable"]), 9000);
    // One reservation per SKU still: the lamp's was extended, the bulbs' is new.
    eventually(|| inventory(&app, "LAMP-1"), |s| s["reserved"] == 2).await;
    eventually(|| inventory(&app, "BULB-1"), |s| s["reserved"] == 2).await;
    assert_eq!(inventory(&app, "LAMP-1").await["reservations"], 1);
    assert_eq!(inventory(&app, "BULB-1").await["reservations"], 1);

    // Back to one lamp: the authorization is partly released, the lamp freed.
    let (order, lowered) = edit_and_follow(
        &app,
        &ada,
        &admin,
        &order_id,
        json!({"lines": [{"sku": "LAMP-1", "quantity": 1}], "reason": "changed their mind"}),
    )
    .await;
    assert_eq!(edit_of(&order, &lowered)["status"], "settled");
    payment_when(&app, &ada, &order_id, |p| {
        amount(&p["remaining_capturable"]) == 5000
    })
    .await;
    eventually(|| inventory(&app, "LAMP-1"), |s| s["reserved"] == 1).await;

    // More bulbs than there are: the edit is reverted, with the reason.
    let (order, too_many) = edit_and_follow(
        &app,
        &ada,
        &admin,
        &order_id,
        json!({"lines": [{"sku": "BULB-1", "quantity": 9}], "reason": "a big party"}),
    )
    .await;
    let reverted = edit_of(&order, &too_many);
    assert_eq!(reverted["status"], "reverted");
    assert!(
        reverted["revert_reason"]
            .as_str()
            .unwrap()
            .contains("BULB-1"),
        "{order}"
    );
    assert_eq!(order["lines"][1]["ordered"], 2);
    assert_eq!(amount(&order["total_after_cancellations"]), 5000);

    // A gateway that cannot raise an authorization: reverted, stock given back.
    gateway.refuse_increase.store(true, Ordering::SeqCst);
    let (order, refused) = edit_and_follow(
        &app,
        &ada,
        &admin,
        &order_id,
        json!({"lines": [{"sku": "LAMP-1", "quantity": 3}], "reason": "two more"}),
    )
    .await;
    let reverted = edit_of(&order, &refused);
    assert_eq!(reverted["status"], "reverted");
    assert!(
        reverted["revert_reason"]
            .as_str()
            .unwrap()
            .contains("could not be raised"),
        "{order}"
    );
    eventually(|| inventory(&app, "LAMP-1"), |s| s["reserved"] == 1).await;
    let payment = payment_of(&app, &ada, &order_id).await;
    assert_eq!(amount(&payment["remaining_capturable"]), 5000);

    // Once shipped, no more edits.
    ship_all(&app, &admin, &order_id, &[("LAMP-1", 1)]).await;
    order_when(&app, &ada, &order_id, status_is("partially_shipped")).await;
    let late = post(
        &app,
        &path,
        &admin,
        json!({"lines": [{"sku": "LAMP-1", "quantity": 2}], "reason": "too late"}),
    )
    .await;
    assert_eq!((late.status, late.code()), (422, "illegal_transition"));
    let by_customer = post(
        &app,
        &path,
        &ada.token,
        json!({"lines": [{"sku": "LAMP-1", "quantity": 2}], "reason": "x"}),
    )
    .await;
    assert_eq!(by_customer.status, 403);
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_refund_retried_under_its_idempotency_key_is_one_refund_with_one_id(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    let admin = admin(&app);
    let ada = customer(&app);
    let order = paid_order(&pool, Some(ada.id), &[("MUG-1", 2000, 1)]).await;
    let path = format!("/commands/orders/{}/refunds", order.order_id);
    let body = json!({"amount": {"amount": 700, "currency": "EUR"}, "reason": "late parcel"});
    let first =
        crate::idempotency::keyed(&app, &path, Caller::Bearer(&admin), "refund-1", &body).await;
    let again =
        crate::idempotency::keyed(&app, &path, Caller::Bearer(&admin), "refund-1", &body).await;
    assert_eq!(
        (first.status, again.status),
        (200, 200),
        "{} {}",
        first.body,
        again.body
    );
    assert_eq!(first.body["refund_id"], again.body["refund_id"]);
    assert_eq!(count_of(&pool, "OrderRefundRequested").await, 1);
    // Another key is another refund, with another id.
    let other =
        crate::idempotency::keyed(&app, &path, Caller::Bearer(&admin), "refund-2", &body).await;
    assert_eq!(other.status, 200, "{}", other.body);
    assert_ne!(other.body["refund_id"], first.body["refund_id"]);
    let view = order_when(&app, &ada, &order.order_id.to_string(), |o| {
        o["refunds"]
            .as_array()
            .is_some_and(|r| r.len() == 2 && r.iter().all(|r| r["status"] == "recorded"))
    })
    .await;
    assert_eq!(amount(&view["refunded_total"]), 1400);
    assert_eq!(count_of(&pool, "PaymentRefunded").await, 2);
}
