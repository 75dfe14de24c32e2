//! Setup the API tests share: callers, products on sale, carts, and orders with
//! their payments. Orders and payments are written through the command side on the
//! test's database, as the checkout process manager (a later issue) will write them.

use api::auth::Role;
use chrono::{Duration, Utc};
use commands::{execute, AggregateStore, CommandMetadata, CommandOptions, StoreOptions};
use domain::inventory::{Inventory, InventoryCommand};
use domain::order::{Order, OrderCommand};
use domain::payment::{GatewayReference, Payment, PaymentCommand};
use domain::shared::{
    CartId, Currency, CustomerId, Email, LineItem, Money, OrderId, PaymentId, PaymentMethodToken,
    PostalAddress, PostalAddressFields, Quantity, Sku,
};
use eventlog::LogWakeups;
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::{Caller, Reply, TestApp};

pub const ADMIN: &str = "admin-ada";

/// An admin's bearer token.
pub fn admin(app: &TestApp) -> String {
    app.token(ADMIN, Role::Admin)
}

/// A signed-in customer: their id is their token's subject.
pub struct Customer {
    pub id: Uuid,
    pub token: String,
}

pub fn customer(app: &TestApp) -> Customer {
    let id = Uuid::new_v4();
    Customer {
        id,
        token: app.token(&id.to_string(), Role::Customer),
    }
}

/// A valid shipping address.
pub fn address() -> Value {
    json!({"name": "Ada Lovelace", "line1": "1 Main St", "city": "London",
           "postal_code": "N1 1AA", "country": "GB"})
}

/// A valid checkout body.
pub fn checkout_body() -> Value {
    json!({"email": "ada@example.com", "shipping_address": address(), "payment_token": "tok_visa"})
}

/// Creates a draft product (admin); returns its id and the command's answer.
pub async fn draft_product(
    app: &TestApp,
    sku: &str,
    price: i64,
    category: &str,
) -> (String, Reply) {
    let admin = admin(app);
    let created = app
        .command(
            "/commands/products",
            Caller::Bearer(&admin),
            json!({"sku": sku, "name": format!("Product {sku}"), "description": "Useful",
                   "category": category, "brand": "Acme",
                   "price": {"amount": price, "currency": "EUR"}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    (created.body["id"].as_str().unwrap().to_owned(), created)
}

/// Creates and publishes a product; returns its id and the publish's consistency token.
pub async fn published_product(
    app: &TestApp,
    sku: &str,
    price: i64,
    category: &str,
) -> (String, String) {
    let (id, _) = draft_product(app, sku, price, category).await;
    let published = app
        .command(
            &format!("/commands/products/{id}/publish"),
            Caller::Bearer(&admin(app)),
            json!({}),
        )
        .await;
    assert_eq!(published.status, 200, "{}", published.body);
    (id, published.consistency())
}

/// Registers `sku`'s stock and receives `quantity` units; returns the last token.
pub async fn stocked(app: &TestApp, sku: &str, threshold: u64, quantity: u32) -> String {
    let admin = admin(app);
    let registered = app
        .command(
            &format!("/commands/inventory/{sku}/register"),
            Caller::Bearer(&admin),
            json!({"low_stock_threshold": threshold}),
        )
        .await;
    assert_eq!(registered.status, 201, "{}", registered.body);
    let received = app
        .command(
            &format!("/commands/inventory/{sku}/receive"),
            Caller::Bearer(&admin),
            json!({"quantity": quantity, "reference": "PO-1"}),
        )
        .await;
    assert_eq!(received.status, 200, "{}", received.body);
    received.consistency()
}

/// A guest's cart: its id and the token that opens it.
pub struct GuestCart {
    pub id: String,
    pub token: String,
}

pub async fn guest_cart(app: &TestApp) -> GuestCart {
    let opened = app
        .command("/commands/carts", Caller::Anonymous, json!({}))
        .await;
    assert_eq!(opened.status, 201, "{}", opened.body);
    GuestCart {
        id: opened.body["id"].as_str().unwrap().to_owned(),
        token: opened.body["cart_token"].as_str().unwrap().to_owned(),
    }
}

/// Opens a cart for `customer`; returns its id.
pub async fn customer_cart(app: &TestApp, customer: &Customer) -> String {
    let opened = app
        .command(
            "/commands/carts",
            Caller::Bearer(&customer.token),
            json!({}),
        )
        .await;
    assert_eq!(opened.status, 201, "{}", opened.body);
    opened.body["id"].as_str().unwrap().to_owned()
}

/// Adds `quantity` of `sku` to a cart; asserts it was accepted; returns the answer.
pub async fn add_item(
    app: &TestApp,
    cart_id: &str,
    caller: Caller<'_>,
    sku: &str,
    quantity: u32,
) -> Reply {
    let added = app
        .command(
            &format!("/commands/carts/{cart_id}/add-item"),
            caller,
            json!({"sku": sku, "quantity": quantity}),
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    added
}

/// How many events the store holds.
pub async fn count_events(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// How many events of `event_type` the stream `aggregate_id` holds.
pub async fn count_events_of(pool: &PgPool, aggregate_id: &str, event_type: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events WHERE aggregate_id = $1 AND event_type = $2")
        .bind(aggregate_id)
        .bind(event_type)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Every read model's rows, as one comparable text.
pub async fn read_models(pool: &PgPool) -> String {
    let mut all = String::new();
    for table in [
        "read_products",
        "read_inventory",
        "read_carts",
        "read_orders",
        "read_payments",
    ] {
        let rows: Option<String> = sqlx::query_scalar(&format!(
            "SELECT string_agg(t::text, E'\\n' ORDER BY t::text) FROM {table} t"
        ))
        .fetch_one(pool)
        .await
        .unwrap();
        all.push_str(table);
        all.push('\n');
        all.push_str(&rows.unwrap_or_default());
        all.push('\n');
    }
    all
}

/// One line of an order made by [`paid_order`]: SKU, unit price (EUR cents), quantity.
pub type Line<'a> = (&'a str, i64, u32);

/// An order placed, reserved, paid (authorized and captured) and confirmed.
#[derive(Debug, Clone)]
pub struct PaidOrder {
    pub order_id: Uuid,
    pub payment_id: Uuid,
    pub total: i64,
    /// The consistency token of the last event written for it.
    pub consistency: String,
}

pub fn fixture_metadata(command: &str) -> CommandMetadata {
    CommandMetadata {
        actor: "checkout-fixture".into(),
        actor_role: "system".into(),
        correlation_id: Uuid::new_v4(),
        causation_id: None,
        request_id: Uuid::new_v4(),
        command: command.into(),
    }
}

fn eur(amount: i64) -> Money {
    Money::new(amount, Currency::new("EUR").unwrap())
}

async fn order_command(store: &AggregateStore<Order>, order_id: Uuid, command: OrderCommand) {
    let name = command.name();
    execute(
        store,
        &OrderId::new(order_id).to_string(),
        command,
        &fixture_metadata(name),
        CommandOptions::default(),
        None,
    )
    .await
    .unwrap_or_else(|e| panic!("{name} refused: {e:?}"));
}

async fn payment_command(
    store: &AggregateStore<Payment>,
    payment_id: Uuid,
    command: PaymentCommand,
) -> String {
    let name = command.name();
    let executed = execute(
        store,
        &PaymentId::new(payment_id).to_string(),
        command,
        &fixture_metadata(name),
        CommandOptions::default(),
        None,
    )
    .await
    .unwrap_or_else(|e| panic!("{name} refused: {e:?}"));
    executed.head.unwrap().to_string()
}

/// Places an order of `lines` for `customer` (a guest's when `None`), reserves its
/// stock, and pays for it: the payment is initiated, authorized and captured, and
/// the order confirmed, as the checkout will do it.
pub async fn paid_order(pool: &PgPool, customer: Option<Uuid>, lines: &[Line<'_>]) -> PaidOrder {
    let orders =
        AggregateStore::<Order>::new(pool.clone(), LogWakeups::local(), StoreOptions::default());
    let payments =
        AggregateStore::<Payment>::new(pool.clone(), LogWakeups::local(), StoreOptions::default());
    let order_id = Uuid::new_v4();
    let payment_id = Uuid::new_v4();
    let total: i64 = lines.iter().map(|(_, p, q)| p * i64::from(*q)).sum();
    let address = PostalAddress::new(PostalAddressFields {
        name: "Ada Lovelace".into(),
        line1: "1 Main St".into(),
        line2: None,
        city: "London".into(),
        postal_code: "N1 1AA".into(),
        region: None,
        country: "GB".into(),
    })
    .unwrap();
    let place = OrderCommand::PlaceOrder {
        order_id: OrderId::new(order_id),
        cart_id: CartId::new(Uuid::new_v4()),
        customer_id: customer.map(CustomerId::new),
        email: Email::new("ada@example.com").unwrap(),
        shipping_address: address,
        lines: lines
            .iter()
            .map(|(sku, price, quantity)| LineItem {
                sku: Sku::new(*sku).unwrap(),
                name: format!("Product {sku}"),
                unit_price: eur(*price),
                quantity: Quantity::new(*quantity).unwrap(),
            })
            .collect(),
        shipping_cost: eur(0),
        placed_at: Utc::now(),
        pricing: None,
        replaces: None,
    };
    order_command(&orders, order_id, place).await;
    for (sku, _, _) in lines {
        let reserved = OrderCommand::RecordStockReserved {
            sku: Sku::new(*sku).unwrap(),
        };
        order_command(&orders, order_id, reserved).await;
    }
    let initiate = PaymentCommand::InitiatePayment {
        payment_id: PaymentId::new(payment_id),
        order_id: OrderId::new(order_id),
        amount: eur(total),
        method: PaymentMethodToken::new("tok_visa").unwrap(),
        customer_id: customer.map(CustomerId::new),
    };
    payment_command(&payments, payment_id, initiate).await;
    let authorize = PaymentCommand::RecordAuthorization {
        gateway_reference: GatewayReference::new(format!("auth_{}", payment_id.simple())).unwrap(),
        amount: eur(total),
        card: None,
    };
    payment_command(&payments, payment_id, authorize).await;
    let authorized = OrderCommand::RecordPaymentAuthorized {
        payment_id: PaymentId::new(payment_id),
        amount: eur(total),
    };
    order_command(&orders, order_id, authorized).await;
    order_command(&orders, order_id, OrderCommand::ConfirmOrder {}).await;
    let capture = PaymentCommand::Capture {
        gateway_reference: GatewayReference::new(format!("cap_{}", payment_id.simple())).unwrap(),
        amount: eur(total),
    };
    let consistency = payment_command(&payments, payment_id, capture).await;
    // As the checkout process does after each capture.
    let captured = OrderCommand::RecordPaymentCaptured {
        payment_id: PaymentId::new(payment_id),
        gateway_reference: GatewayReference::new(format!("cap_{}", payment_id.simple())).unwrap(),
        amount: eur(total),
    };
    order_command(&orders, order_id, captured).await;
    PaidOrder {
        order_id,
        payment_id,
        total,
        consistency,
    }
}

/// Reserves `quantity` of `sku` for a new order, as the checkout will.
pub async fn reserve_stock(pool: &PgPool, sku: &str, quantity: u32) -> String {
    let store = AggregateStore::<Inventory>::new(
        pool.clone(),
        LogWakeups::local(),
        StoreOptions::default(),
    );
    let command = InventoryCommand::ReserveStock {
        order_id: OrderId::new(Uuid::new_v4()),
        quantity: Quantity::new(quantity).unwrap(),
        expires_at: Utc::now() + Duration::minutes(15),
    };
    let executed = execute(
        &store,
        sku,
        command,
        &fixture_metadata("ReserveStock"),
        CommandOptions::default(),
        None,
    )
    .await
    .unwrap_or_else(|e| panic!("ReserveStock refused: {e:?}"));
    executed.head.unwrap().to_string()
}

/// Waits until every projector has taken every event in the store.
pub async fn projectors_caught_up(pool: &PgPool) {
    for _ in 0..250 {
        let behind: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM projector_checkpoints
              WHERE global_position < (SELECT coalesce(max(global_position), 0) FROM events)",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        if behind == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the projectors did not catch up within 5 s");
}

/// The order view of `order_id` as `who` reads it, once its projector has it.
pub async fn order_view(app: &TestApp, who: &Customer, order_id: &str) -> Value {
    crate::checkout_process::eventually(
        || async {
            app.query(
                &format!("/queries/orders/{order_id}"),
                Caller::Bearer(&who.token),
                None,
            )
            .await
            .body
        },
        |o| o["order_id"].is_string(),
    )
    .await
}
