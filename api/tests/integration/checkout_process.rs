//! The checkout process manager, end to end over HTTP: an order moves from
//! checkout to confirmation by itself, and compensation cancels it with a reason
//! and gives back every unit when stock or payment fails.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sqlx::PgPool;

use crate::fixtures::{
    add_item, address, admin, customer, customer_cart, published_product, stocked, Customer,
};
use crate::support::{spawn_app, Caller, TestApp};

/// Asks `read` until `done` holds for its answer (the process runs in the
/// background), for at most 20 s.
pub(crate) async fn eventually<F, Fut>(read: F, done: impl Fn(&Value) -> bool) -> Value
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Value>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let value = read().await;
        if done(&value) {
            return value;
        }
        assert!(Instant::now() < deadline, "never got there: {value}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The order once `done` holds for it.
pub(crate) async fn order_when(
    app: &TestApp,
    who: &Customer,
    order_id: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let path = format!("/queries/orders/{order_id}");
    eventually(
        || async {
            app.query(&path, Caller::Bearer(&who.token), None)
                .await
                .body
        },
        |order| order.get("status").is_some() && done(order),
    )
    .await
}

pub(crate) async fn check_out(
    app: &TestApp,
    who: &Customer,
    sku: &str,
    quantity: u32,
    token: &str,
) -> String {
    check_out_lines(app, who, &[(sku, quantity)], token).await
}

/// Checks out `lines` for `who`, paying with `token`; the order's id.
pub(crate) async fn check_out_lines(
    app: &TestApp,
    who: &Customer,
    lines: &[(&str, u32)],
    token: &str,
) -> String {
    let cart = customer_cart(app, who).await;
    for (sku, quantity) in lines {
        add_item(app, &cart, Caller::Bearer(&who.token), sku, *quantity).await;
    }
    let body =
        json!({"email": "ada@example.com", "shipping_address": address(), "payment_token": token});
    let answer = app
        .command(
            &format!("/commands/carts/{cart}/checkout"),
            Caller::Bearer(&who.token),
            body,
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body["order_id"].as_str().unwrap().to_owned()
}

pub(crate) async fn inventory(app: &TestApp, sku: &str) -> Value {
    app.query(
        &format!("/queries/inventory/{sku}"),
        Caller::Anonymous,
        None,
    )
    .await
    .body
}

pub(crate) fn status_is(status: &'static str) -> impl Fn(&Value) -> bool {
    move |order: &Value| order["status"] == status
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_paid_checkout_is_confirmed_shipped_in_parts_and_delivered(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    published_product(&app, "LAMP-1", 4000, "home").await;
    stocked(&app, "LAMP-1", 1, 10).await;
    let ada = customer(&app);
    let order_id = check_out(&app, &ada, "LAMP-1", 3, "tok_visa").await;

    let order = order_when(&app, &ada, &order_id, status_is("confirmed")).await;
    assert_eq!(order["total"]["amount"], 12000);
    let stock = inventory(&app, "LAMP-1").await;
    assert_eq!(
        (stock["on_hand"].as_i64(), stock["reserved"].as_i64()),
        (Some(10), Some(3))
    );

    let admin = admin(&app);
    let ship = |quantity: u32| json!({"lines": [{"sku": "LAMP-1", "quantity": quantity}], "carrier": "DHL", "tracking_number": "T1"});
    let shipped = app
        .command(
            &format!("/commands/orders/{order_id}/ship"),
            Caller::Bearer(&admin),
            ship(1),
        )
        .await;
    assert_eq!(shipped.status, 200, "{}", shipped.body);
    order_when(&app, &ada, &order_id, status_is("partially_shipped")).await;
    let shipped = app
        .command(
            &format!("/commands/orders/{order_id}/ship"),
            Caller::Bearer(&admin),
            ship(2),
        )
        .await;
    assert_eq!(shipped.status, 200, "{}", shipped.body);
    order_when(&app, &ada, &order_id, status_is("shipped")).await;

    // Shipping commits the units and captures the payment, in the background.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let payments = app
            .query(
                &format!("/queries/payments?order_id={order_id}"),
                Caller::Bearer(&ada.token),
                None,
            )
            .await;
        let stock = inventory(&app, "LAMP-1").await;
        let captured = payments.body[0]["captured_total"]["amount"].as_i64();
        if captured == Some(12000) && stock["on_hand"] == 7 && stock["reserved"] == 0 {
            assert_eq!(payments.body[0]["status"], "captured");
            break;
        }
        assert!(Instant::now() < deadline, "{} {stock}", payments.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let delivered = app
        .command(
            &format!("/commands/orders/{order_id}/deliver"),
            Caller::Bearer(&admin),
            json!({}),
        )
        .await;
    assert_eq!(delivered.status, 200, "{}", delivered.body);
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn declines_and_missing_stock_cancel_with_a_reason_and_give_every_unit_back(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    published_product(&app, "MUG-1", 1000, "kitchen").await;
    stocked(&app, "MUG-1", 1, 5).await;
    let ada = customer(&app);
    for (token, reason) in [
        ("tok_decline", "declined"),
        ("tok_insufficient_funds", "insufficient funds"),
    ] {
        let order_id = check_out(&app, &ada, "MUG-1", 2, token).await;
        let order = order_when(&app, &ada, &order_id, status_is("cancelled")).await;
        let why = order["cancellation"]["reason"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(why.contains(reason), "{token}: {order}");
    }
    let order_id = check_out(&app, &ada, "MUG-1", 6, "tok_visa").await;
    let order = order_when(&app, &ada, &order_id, status_is("cancelled")).await;
    assert!(
        order["cancellation"]["reason"]
            .as_str()
            .unwrap()
            .contains("out of stock"),
        "{order}"
    );

    eventually(
        || inventory(&app, "MUG-1"),
        |stock| stock["reserved"] == 0 && stock["on_hand"] == 5,
    )
    .await;
    let captured: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = 'PaymentCaptured'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(captured, 0);
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn fifty_checkouts_for_ten_units_confirm_exactly_ten(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    published_product(&app, "RARE-1", 500, "rare").await;
    stocked(&app, "RARE-1", 0, 10).await;
    let customers: Vec<Customer> = (0..50).map(|_| customer(&app)).collect();
    let orders = futures::future::join_all(
        customers
            .iter()
            .map(|who| check_out(&app, who, "RARE-1", 1, "tok_visa")),
    )
    .await;
    let mut confirmed = 0;
    let mut cancelled = 0;
    for (who, order_id) in customers.iter().zip(&orders) {
        let order = order_when(&app, who, order_id, |o| {
            o["status"] == "confirmed" || o["status"] == "cancelled"
        })
        .await;
        if order["status"] == "confirmed" {
            confirmed += 1;
        } else {
            assert!(order["cancellation"]["reason"]
                .as_str()
                .unwrap()
                .contains("out of stock"));
            cancelled += 1;
        }
    }
    assert_eq!((confirmed, cancelled), (10, 40));
    let stock = inventory(&app, "RARE-1").await;
    assert_eq!(
        (stock["on_hand"].as_i64(), stock["reserved"].as_i64()),
        (Some(10), Some(10)),
        "{stock}"
    );
}

/// The test gateway, with a crash on demand: the process dies in the middle of an
/// authorization (after the payment was initiated, before its answer is recorded).
/// It counts the idempotency keys it was asked with.
#[derive(Default)]
pub(crate) struct CrashingGateway {
    pub crash: std::sync::atomic::AtomicBool,
    pub keys: std::sync::Mutex<std::collections::BTreeSet<uuid::Uuid>>,
    /// Dies right after the gateway refunded, before the refund is recorded.
    pub crash_after_refund: std::sync::atomic::AtomicBool,
    /// Refuses to raise authorizations, as many gateways do.
    pub refuse_increase: std::sync::atomic::AtomicBool,
    /// Every refund call's key, repeats included.
    pub refund_calls: std::sync::Mutex<Vec<uuid::Uuid>>,
    inner: commands::payment_gateway::TestGateway,
}

#[async_trait::async_trait]
impl commands::payment_gateway::PaymentGateway for CrashingGateway {
    async fn authorize(
        &self,
        payment_id: domain::shared::PaymentId,
        amount: domain::shared::Money,
        method: &domain::shared::PaymentMethodToken,
        key: uuid::Uuid,
    ) -> Result<commands::payment_gateway::Authorization, commands::payment_gateway::GatewayError>
    {
        self.keys.lock().unwrap().insert(key);
        if self.crash.swap(false, std::sync::atomic::Ordering::SeqCst) {
            panic!("the process dies while the gateway is asked");
        }
        self.inner.authorize(payment_id, amount, method, key).await
    }
    async fn capture(
        &self,
        p: domain::shared::PaymentId,
        a: domain::shared::Money,
        k: uuid::Uuid,
    ) -> Result<domain::payment::GatewayReference, commands::payment_gateway::GatewayError> {
        self.inner.capture(p, a, k).await
    }
    async fn void(
        &self,
        p: domain::shared::PaymentId,
        k: uuid::Uuid,
    ) -> Result<domain::payment::GatewayReference, commands::payment_gateway::GatewayError> {
        self.inner.void(p, k).await
    }
    async fn refund(
        &self,
        p: domain::shared::PaymentId,
        a: domain::shared::Money,
        k: uuid::Uuid,
    ) -> Result<domain::payment::GatewayReference, commands::payment_gateway::GatewayError> {
        let reference = self.inner.refund(p, a, k).await;
        self.refund_calls.lock().unwrap().push(k);
        if self
            .crash_after_refund
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            panic!("the process dies after the gateway refunded");
        }
        reference
    }
    async fn release(
        &self,
        p: domain::shared::PaymentId,
        a: domain::shared::Money,
        k: uuid::Uuid,
    ) -> Result<domain::payment::GatewayReference, commands::payment_gateway::GatewayError> {
        self.inner.release(p, a, k).await
    }
    async fn increase(
        &self,
        p: domain::shared::PaymentId,
        a: domain::shared::Money,
        k: uuid::Uuid,
    ) -> Result<domain::payment::GatewayReference, commands::payment_gateway::GatewayError> {
        if self
            .refuse_increase
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            return Err(commands::payment_gateway::GatewayError::Refused(
                "incremental authorization is not supported for this card".into(),
            ));
        }
        self.inner.increase(p, a, k).await
    }
}

/// A scheduler of its own, cancelling orders unpaid after 30 minutes.
fn scheduler(pool: &PgPool) -> commands::checkout::CheckoutScheduler {
    fn store<A: domain::RegisteredAggregate>(
        pool: &PgPool,
    ) -> std::sync::Arc<commands::AggregateStore<A>> {
        commands::AggregateStore::new(
            pool.clone(),
            eventlog::LogWakeups::local(),
            commands::StoreOptions::default(),
        )
    }
    commands::checkout::CheckoutScheduler {
        pool: pool.clone(),
        inventory: store(pool),
        orders: store(pool),
        payment_timeout: Duration::from_secs(30 * 60),
    }
}

pub(crate) async fn count_of(pool: &PgPool, event_type: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = $1")
        .bind(event_type)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_crash_between_reserving_and_authorizing_reserves_and_authorizes_once(pool: PgPool) {
    let gateway = std::sync::Arc::new(CrashingGateway::default());
    let redis_url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let start = || {
        crate::support::spawn_app_with_gateway(
            pool.clone(),
            true,
            crate::support::own_redis(&redis_url),
            crate::support::api_config(),
            gateway.clone(),
            None,
        )
    };
    let app = start().await;
    published_product(&app, "BOOK-1", 1500, "books").await;
    stocked(&app, "BOOK-1", 0, 4).await;
    published_product(&app, "PEN-1", 200, "office").await;
    stocked(&app, "PEN-1", 0, 9).await;
    gateway
        .crash
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let ada = customer(&app);
    let cart = customer_cart(&app, &ada).await;
    add_item(&app, &cart, Caller::Bearer(&ada.token), "BOOK-1", 2).await;
    add_item(&app, &cart, Caller::Bearer(&ada.token), "PEN-1", 3).await;
    let body = json!({"email": "ada@example.com", "shipping_address": address(), "payment_token": "tok_visa"});
    let answer = app
        .command(
            &format!("/commands/carts/{cart}/checkout"),
            Caller::Bearer(&ada.token),
            body,
        )
        .await;
    let order_id = answer.body["order_id"].as_str().unwrap().to_owned();
    // The process died with the payment initiated and the gateway asked.
    let deadline = Instant::now() + Duration::from_secs(20);
    while gateway.crash.load(std::sync::atomic::Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "the gateway was never asked");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(count_of(&pool, "PaymentAuthorized").await, 0);
    drop(app);

    // The restart picks up from the checkpoint and repeats the step.
    let app = start().await;
    order_when(&app, &ada, &order_id, status_is("confirmed")).await;
    assert_eq!(
        count_of(&pool, "StockReserved").await,
        2,
        "one reservation per line"
    );
    assert_eq!(count_of(&pool, "PaymentInitiated").await, 1);
    assert_eq!(count_of(&pool, "PaymentAuthorized").await, 1);
    assert_eq!(
        gateway.keys.lock().unwrap().len(),
        1,
        "the gateway was asked twice with one key: one authorization"
    );
    for (sku, reserved) in [("BOOK-1", 2), ("PEN-1", 3)] {
        eventually(
            || inventory(&app, sku),
            |stock| stock["reserved"] == reserved,
        )
        .await;
    }
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn unpaid_orders_lose_their_stock_then_are_cancelled_by_the_scheduler(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    published_product(&app, "CLOCK-1", 3000, "home").await;
    stocked(&app, "CLOCK-1", 0, 3).await;
    let ada = customer(&app);
    // tok_async: the gateway waits for the customer, who never confirms.
    let order_id = check_out(&app, &ada, "CLOCK-1", 2, "tok_async").await;
    order_when(&app, &ada, &order_id, status_is("awaiting_payment")).await;
    eventually(
        || inventory(&app, "CLOCK-1"),
        |stock| stock["reserved"] == 2,
    )
    .await;

    let scheduler = scheduler(&pool);
    let now = chrono::Utc::now();
    let early = scheduler.pass(now).await.unwrap();
    assert_eq!(
        early,
        commands::checkout::Pass::default(),
        "nothing is due yet"
    );

    let later = scheduler
        .pass(now + chrono::Duration::minutes(16))
        .await
        .unwrap();
    assert_eq!(later.skus_with_expired_reservations, 1);
    assert_eq!(later.orders_cancelled, 0);
    eventually(
        || inventory(&app, "CLOCK-1"),
        |stock| stock["reserved"] == 0,
    )
    .await;

    let much_later = scheduler
        .pass(now + chrono::Duration::minutes(31))
        .await
        .unwrap();
    assert_eq!(much_later.orders_cancelled, 1);
    let order = order_when(&app, &ada, &order_id, status_is("cancelled")).await;
    assert!(
        order["cancellation"]["reason"]
            .as_str()
            .unwrap()
            .contains("not completed within 30 minutes"),
        "{order}"
    );
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_payment_the_customer_confirms_by_webhook_confirms_the_order(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    published_product(&app, "CHAIR-1", 9000, "home").await;
    stocked(&app, "CHAIR-1", 0, 3).await;
    let ada = customer(&app);
    let order_id = check_out(&app, &ada, "CHAIR-1", 1, "tok_async").await;
    order_when(&app, &ada, &order_id, status_is("awaiting_payment")).await;
    let path = format!("/queries/payments?order_id={order_id}");
    let payments = eventually(
        || async {
            app.query(&path, Caller::Bearer(&ada.token), None)
                .await
                .body
        },
        |payments| payments[0]["status"] == "action_required",
    )
    .await;
    let payment_id = payments[0]["payment_id"].as_str().unwrap().to_owned();
    let body = json!({"type": "payment.authorized", "id": "evt_async_1", "payment_id": payment_id,
                      "gateway_reference": "auth_async_1", "amount": {"amount": 9000, "currency": "EUR"}});
    let secret = api::secret::Secret::new(crate::support::WEBHOOK_SECRET.into());
    let raw = serde_json::to_vec(&body).unwrap();
    let signature = api::routes::webhooks::sign(&secret, &raw, chrono::Utc::now().timestamp());
    let response = app
        .client
        .post(app.url("/webhooks/payments"))
        .header("Content-Type", "application/json")
        .header("Payment-Signature", signature)
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    order_when(&app, &ada, &order_id, status_is("confirmed")).await;
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn the_same_checkout_sent_twice_at_once_makes_one_order_and_one_authorization(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    published_product(&app, "KETTLE-1", 2500, "kitchen").await;
    stocked(&app, "KETTLE-1", 0, 5).await;
    let ada = customer(&app);
    for keys in [["same", "same"], ["one", "other"]] {
        let cart = customer_cart(&app, &ada).await;
        add_item(&app, &cart, Caller::Bearer(&ada.token), "KETTLE-1", 1).await;
        let body = json!({"email": "ada@example.com", "shipping_address": address(), "payment_token": "tok_visa"});
        let path = format!("/commands/carts/{cart}/checkout");
        let send = |key: &'static str| {
            app.client
                .post(app.url(&path))
                .bearer_auth(&ada.token)
                .header("Idempotency-Key", key)
                .json(&body)
                .send()
        };
        let (a, b) = tokio::join!(send(keys[0]), send(keys[1]));
        let (a, b) = (a.unwrap(), b.unwrap());
        let statuses = [a.status().as_u16(), b.status().as_u16()];
        let bodies: [Value; 2] = [a.json().await.unwrap(), b.json().await.unwrap()];
        assert!(statuses.contains(&200), "{statuses:?} {bodies:?}");
        let orders: std::collections::BTreeSet<_> = bodies
            .iter()
            .filter_map(|b| b["order_id"].as_str())
            .collect();
        assert_eq!(orders.len(), 1, "{keys:?}: {bodies:?}");
        let order_id = orders.into_iter().next().unwrap().to_owned();
        order_when(&app, &ada, &order_id, status_is("confirmed")).await;
    }
    assert_eq!(
        count_of(&pool, "OrderPlaced").await,
        2,
        "one order per cart"
    );
    assert_eq!(
        count_of(&pool, "PaymentAuthorized").await,
        2,
        "one authorization per order"
    );
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_cart_changed_while_it_checks_out_is_never_half_applied(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    published_product(&app, "CUP-1", 800, "kitchen").await;
    stocked(&app, "CUP-1", 0, 50).await;
    published_product(&app, "PLATE-1", 1200, "kitchen").await;
    stocked(&app, "PLATE-1", 0, 50).await;
    let ada = customer(&app);
    for _ in 0..5 {
        let cart = customer_cart(&app, &ada).await;
        add_item(&app, &cart, Caller::Bearer(&ada.token), "CUP-1", 1).await;
        let body = json!({"email": "ada@example.com", "shipping_address": address(), "payment_token": "tok_visa"});
        let (checkout_path, add_path) = (
            format!("/commands/carts/{cart}/checkout"),
            format!("/commands/carts/{cart}/add-item"),
        );
        let checkout = app.command(&checkout_path, Caller::Bearer(&ada.token), body);
        let change = app.command(
            &add_path,
            Caller::Bearer(&ada.token),
            json!({"sku": "PLATE-1", "quantity": 1}),
        );
        let (checked_out, changed) = tokio::join!(checkout, change);
        if checked_out.status != 200 {
            // Refused as a whole (the new line's price was not confirmed): nothing placed.
            assert_eq!(checked_out.status, 422, "{}", checked_out.body);
            continue;
        }
        let order_id = checked_out.body["order_id"].as_str().unwrap().to_owned();
        let order = order_when(&app, &ada, &order_id, status_is("confirmed")).await;
        let cart_view = app
            .query(
                &format!("/queries/carts/{cart}"),
                Caller::Bearer(&ada.token),
                changed.body["consistency_token"].as_str(),
            )
            .await;
        // The order holds exactly the lines of the cart as it checked out: either the
        // addition came first and is in both, or it was refused after the checkout.
        let in_order = order["lines"].as_array().unwrap().len();
        if changed.status == 200 {
            assert_eq!(in_order, 2, "{order}");
        } else {
            assert_eq!(changed.body["code"], "cart_checked_out", "{}", changed.body);
            assert_eq!(in_order, 1, "{order}");
        }
        assert_eq!(cart_view.body["status"], "checked_out");
    }
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn an_order_cancelled_after_payment_gives_back_its_stock_and_voids_its_payment(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    published_product(&app, "VASE-1", 6000, "home").await;
    stocked(&app, "VASE-1", 0, 4).await;
    let ada = customer(&app);
    let order_id = check_out(&app, &ada, "VASE-1", 2, "tok_visa").await;
    order_when(&app, &ada, &order_id, status_is("confirmed")).await;
    let cancelled = app
        .command(
            &format!("/commands/orders/{order_id}/cancel"),
            Caller::Bearer(&ada.token),
            json!({"reason": "changed my mind"}),
        )
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    eventually(
        || inventory(&app, "VASE-1"),
        |stock| stock["reserved"] == 0 && stock["on_hand"] == 4,
    )
    .await;
    let path = format!("/queries/payments?order_id={order_id}");
    eventually(
        || async {
            app.query(&path, Caller::Bearer(&ada.token), None)
                .await
                .body
        },
        |payments| payments[0]["status"] == "voided",
    )
    .await;
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_paid_order_keeps_its_stock_past_the_reservation_ttl_until_it_ships(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    published_product(&app, "CLOCK-1", 3000, "home").await;
    stocked(&app, "CLOCK-1", 0, 3).await;
    let ada = customer(&app);
    let order_id = check_out(&app, &ada, "CLOCK-1", 2, "tok_visa").await;
    order_when(&app, &ada, &order_id, status_is("confirmed")).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while count_of(&pool, "ReservationHeld").await == 0 {
        assert!(Instant::now() < deadline, "the reservation was never held");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let scheduler = scheduler(&pool);
    // A day later, far past the 15-minute reservation: nothing expires.
    let pass = scheduler
        .pass(chrono::Utc::now() + chrono::Duration::days(1))
        .await
        .unwrap();
    assert_eq!(pass, commands::checkout::Pass::default());
    assert_eq!(inventory(&app, "CLOCK-1").await["reserved"], 2);
    let shipped = app
        .command(
            &format!("/commands/orders/{order_id}/ship"),
            Caller::Bearer(&admin(&app)),
            json!({"lines": [{"sku": "CLOCK-1", "quantity": 2}], "carrier": "DHL", "tracking_number": "T1"}),
        )
        .await;
    assert_eq!(shipped.status, 200, "{}", shipped.body);
    eventually(
        || inventory(&app, "CLOCK-1"),
        |stock| stock["on_hand"] == 1 && stock["reserved"] == 0,
    )
    .await;
}
