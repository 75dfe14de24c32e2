//! The order read model: every order event, and the newest-first list with its
//! customer and status filters.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use domain::order::{
    CancelledBy, CancelledLine, LineQuantity, OrderEvent, OrderStatus as Status, PlacedLine,
    ReceivedLine, RefundFor, RefundId, ReturnCondition, ReturnId, ReturnLine, ReturnReason,
    ShipmentId, ShippedLine,
};
use domain::shared::{
    CartId, CustomerId, Email, OrderId, PaymentId, PostalAddress, PostalAddressFields,
};
use projections::read_models::orders::{
    self, CancelledByView, OrderStatus, OrderView, ReturnConditionView, ReturnStatus, StockStatus,
};
use projections::Error;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use uuid::Uuid;

use super::fixtures::{
    append, append_all, at, eur, every_page, fold_all, id, project, qty, sku, small_pool,
};

const CURRENCY: &str = "EUR";

/// An order of 3 × A at 1.00 and 2 × B at 2.50, shipping 4.95.
pub fn placed(order: Uuid, customer: Option<Uuid>, placed_at: DateTime<Utc>) -> OrderEvent {
    let line = |code: &str, cents: i64, n: u32| PlacedLine {
        sku: sku(code),
        name: format!("Product {code}"),
        unit_price: eur(cents),
        quantity: qty(n),
        line_total: eur(cents * i64::from(n)),
    };
    OrderEvent::OrderPlaced {
        order_id: OrderId::new(order),
        cart_id: CartId::new(id(order.as_u128() + 1000)),
        customer_id: customer.map(CustomerId::new),
        email: Email::new("ada@example.org").unwrap(),
        shipping_address: PostalAddress::new(PostalAddressFields {
            name: "Ada Lovelace".into(),
            line1: "12 St James's Square".into(),
            line2: Some("Flat 2".into()),
            city: "London".into(),
            postal_code: "SW1Y 4JH".into(),
            region: None,
            country: "GB".into(),
        })
        .unwrap(),
        lines: vec![line("A", 100, 3), line("B", 250, 2)],
        currency: eur(0).currency(),
        subtotal: eur(800),
        shipping_cost: eur(495),
        total: eur(1295),
        placed_at,
        pricing: None,
        replaces: None,
    }
}

fn line_quantity(code: &str, n: u32) -> LineQuantity {
    LineQuantity {
        sku: sku(code),
        quantity: qty(n),
    }
}

fn return_line(code: &str, cents: i64, n: u32) -> ReturnLine {
    ReturnLine {
        sku: sku(code),
        name: format!("Product {code}"),
        unit_price: eur(cents),
        quantity: qty(n),
        amount: eur(cents * i64::from(n)),
        reason: ReturnReason::NoLongerNeeded,
        note: Some("too small".into()),
        exchange_for: None,
    }
}

async fn order(pool: &PgPool, order: Uuid) -> OrderView {
    project::<OrderView>(pool).await;
    orders::get(pool, order).await.unwrap().expect("the order")
}

/// (sku, stock, shipped, cancelled, delivered, return_requested, returned, refunded)
type LineFigures = (String, StockStatus, u32, u32, u32, u32, u32, u32);

fn line_figures(view: &OrderView) -> Vec<LineFigures> {
    view.lines
        .iter()
        .map(|l| {
            (
                l.sku.clone(),
                l.stock,
                l.shipped,
                l.cancelled,
                l.delivered,
                l.return_requested,
                l.returned,
                l.refunded,
            )
        })
        .collect()
}

fn figures(code: &str, stock: StockStatus, counts: [u32; 6]) -> LineFigures {
    let [shipped, cancelled, delivered, requested, returned, refunded] = counts;
    (
        code.into(),
        stock,
        shipped,
        cancelled,
        delivered,
        requested,
        returned,
        refunded,
    )
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn every_order_event_changes_the_view_as_it_should(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let pool = small_pool(pool_options, connect_options).await;
    let (o, customer) = (id(1), Some(id(77)));
    let (order_id, customer_id) = (OrderId::new(o), customer.map(CustomerId::new));
    let payment = PaymentId::new(id(300));
    let stream = o.to_string();
    let mut sequence = 0;
    let mut next = || {
        sequence += 1;
        sequence
    };
    use StockStatus::{Pending, Reserved};

    append(&pool, "Order", &stream, next(), &placed(o, customer, at())).await;
    let view = order(&pool, o).await;
    assert_eq!(
        (view.order_id, view.status, view.customer_id),
        (o, OrderStatus::Placed, customer)
    );
    assert_eq!(
        (view.cart_id, view.email.as_str()),
        (id(1001), "ada@example.org")
    );
    assert_eq!(
        (
            view.shipping_address.city.as_str(),
            view.shipping_address.line2.as_deref()
        ),
        ("London", Some("Flat 2"))
    );
    assert_eq!(
        (
            view.subtotal.amount,
            view.shipping.amount,
            view.total.amount,
            view.currency.as_str()
        ),
        (800, 495, 1295, CURRENCY)
    );
    assert_eq!(
        (
            view.lines[1].unit_price.amount,
            view.lines[1].line_total.amount,
            view.lines[1].ordered
        ),
        (250, 500, 2)
    );
    assert_eq!(
        line_figures(&view),
        vec![figures("A", Pending, [0; 6]), figures("B", Pending, [0; 6])]
    );
    assert_eq!(
        (view.placed_at, view.refunded_total.amount, view.version),
        (at(), 0, 1)
    );

    let reserved = |code: &str, n: u32, awaiting: u32| OrderEvent::OrderStockReserved {
        order_id,
        customer_id,
        sku: sku(code),
        quantity: qty(n),
        lines_awaiting_stock: awaiting,
    };
    append(&pool, "Order", &stream, next(), &reserved("A", 3, 1)).await;
    let view = order(&pool, o).await;
    assert_eq!(view.lines[0].stock, Reserved);
    assert_eq!(
        (view.lines[1].stock, view.status),
        (Pending, OrderStatus::Placed)
    );

    append_all(
        &pool,
        "Order",
        &stream,
        next(),
        &[
            reserved("B", 2, 0),
            OrderEvent::OrderFullyReserved {
                order_id,
                customer_id,
                total: eur(1295),
            },
        ],
    )
    .await;
    next();
    let view = order(&pool, o).await;
    assert_eq!(
        (view.lines[1].stock, view.status),
        (Reserved, OrderStatus::AwaitingPayment)
    );

    let failed = OrderEvent::OrderPaymentFailed {
        order_id,
        customer_id,
        payment_id: PaymentId::new(id(299)),
        reason: "declined".into(),
    };
    append(&pool, "Order", &stream, next(), &failed).await;
    let view = order(&pool, o).await;
    assert_eq!(
        (
            view.failed_payments[0].payment_id,
            view.failed_payments[0].reason.as_str(),
            view.payment.clone()
        ),
        (id(299), "declined", None)
    );

    let authorized = OrderEvent::OrderPaymentAuthorized {
        order_id,
        customer_id,
        payment_id: payment,
        amount: eur(1295),
    };
    append(&pool, "Order", &stream, next(), &authorized).await;
    let view = order(&pool, o).await;
    let paid = view.payment.clone().unwrap();
    assert_eq!(
        (paid.payment_id, paid.authorized_amount.amount),
        (id(300), 1295)
    );
    assert_eq!(view.status, OrderStatus::AwaitingPayment);

    let confirmed = OrderEvent::OrderConfirmed {
        order_id,
        customer_id,
        payment_id: Some(payment),
        total: eur(1295),
    };
    append(&pool, "Order", &stream, next(), &confirmed).await;
    assert_eq!(order(&pool, o).await.status, OrderStatus::Confirmed);

    let shipped = OrderEvent::OrderShipped {
        order_id,
        customer_id,
        shipment_id: ShipmentId::new(id(400)),
        lines: vec![ShippedLine {
            sku: sku("A"),
            name: "Product A".into(),
            quantity: qty(2),
            shipped_after: 2,
            remaining_to_ship: 1,
        }],
        carrier: "DHL".into(),
        tracking_number: "JD0001".into(),
        shipped_at: at() + Duration::days(1),
        fully_shipped: false,
        status_after: Status::PartiallyShipped,
    };
    append(&pool, "Order", &stream, next(), &shipped).await;
    let view = order(&pool, o).await;
    assert_eq!(view.status, OrderStatus::PartiallyShipped);
    let shipment = &view.shipments[0];
    assert_eq!(
        (
            shipment.shipment_id,
            shipment.carrier.as_str(),
            shipment.tracking_number.as_str()
        ),
        (id(400), "DHL", "JD0001")
    );
    assert_eq!(
        (shipment.lines[0].sku.as_str(), shipment.lines[0].quantity),
        ("A", 2)
    );
    assert_eq!(view.lines[0].shipped, 2);

    let lines_cancelled = OrderEvent::OrderLinesCancelled {
        order_id,
        customer_id,
        lines: vec![
            CancelledLine {
                sku: sku("A"),
                name: "Product A".into(),
                unit_price: eur(100),
                quantity: qty(1),
                amount: eur(100),
                cancelled_after: 1,
                remaining_to_ship: 0,
            },
            CancelledLine {
                sku: sku("B"),
                name: "Product B".into(),
                unit_price: eur(250),
                quantity: qty(1),
                amount: eur(250),
                cancelled_after: 1,
                remaining_to_ship: 1,
            },
        ],
        reason: "out of stock at the warehouse".into(),
        cancelled_by: CancelledBy::Customer,
        payment_id: Some(payment),
        amount_to_refund: eur(350),
        order_total_after: eur(945),
        status_after: Status::PartiallyShipped,
    };
    append(&pool, "Order", &stream, next(), &lines_cancelled).await;
    let view = order(&pool, o).await;
    assert_eq!(
        (view.total_after_cancellations.amount, view.total.amount),
        (945, 1295)
    );
    let cancellation = &view.line_cancellations[0];
    assert_eq!(
        (
            cancellation.reason.as_str(),
            cancellation.amount.amount,
            cancellation.lines.len()
        ),
        ("out of stock at the warehouse", 350, 2)
    );

    let last_shipment = OrderEvent::OrderShipped {
        order_id,
        customer_id,
        shipment_id: ShipmentId::new(id(401)),
        lines: vec![ShippedLine {
            sku: sku("B"),
            name: "Product B".into(),
            quantity: qty(1),
            shipped_after: 1,
            remaining_to_ship: 0,
        }],
        carrier: "UPS".into(),
        tracking_number: "1Z".into(),
        shipped_at: at() + Duration::days(2),
        fully_shipped: true,
        status_after: Status::Shipped,
    };
    append(&pool, "Order", &stream, next(), &last_shipment).await;
    let view = order(&pool, o).await;
    assert_eq!(
        (view.status, view.shipments.len()),
        (OrderStatus::Shipped, 2)
    );

    let delivered_at = at() + Duration::days(4);
    let delivered = OrderEvent::OrderDelivered {
        order_id,
        customer_id,
        lines: vec![line_quantity("A", 2), line_quantity("B", 1)],
        delivered_at,
    };
    append(&pool, "Order", &stream, next(), &delivered).await;
    let view = order(&pool, o).await;
    assert_eq!(
        (view.status, view.delivered_at),
        (OrderStatus::Delivered, Some(delivered_at))
    );

    let return_id = ReturnId::new(id(500));
    let requested = OrderEvent::OrderReturnRequested {
        order_id,
        customer_id,
        return_id,
        lines: vec![return_line("A", 100, 1)],
        return_value: eur(100),
    };
    append(&pool, "Order", &stream, next(), &requested).await;
    let view = order(&pool, o).await;
    let returned = &view.returns[0];
    assert_eq!(
        (
            returned.return_id,
            returned.status,
            returned.lines[0].note.as_deref(),
            returned.return_value.amount
        ),
        (id(500), ReturnStatus::Requested, Some("too small"), 100)
    );
    assert_eq!(returned.received_at, None);

    let approved = OrderEvent::OrderReturnApproved {
        order_id,
        customer_id,
        return_id,
    };
    append(&pool, "Order", &stream, next(), &approved).await;
    assert_eq!(
        order(&pool, o).await.returns[0].status,
        ReturnStatus::Approved
    );
    let received = OrderEvent::OrderReturnReceived {
        order_id,
        customer_id,
        return_id,
        lines: vec![ReceivedLine {
            sku: sku("A"),
            name: "Product A".into(),
            unit_price: eur(100),
            quantity: qty(1),
            amount: eur(100),
            condition: ReturnCondition::Damaged,
        }],
        return_value: eur(100),
        restocking_fee: eur(0),
        replacements: vec![],
        exchange_credit: eur(0),
        amount_due: eur(0),
        refund_amount: eur(0),
        refund_id: None,
        payment_id: None,
        replacement_order_id: None,
    };
    append(&pool, "Order", &stream, next(), &received).await;
    let view = order(&pool, o).await;
    assert_eq!(view.returns[0].status, ReturnStatus::Received);
    assert!(view.returns[0].received_at.is_some());
    assert_eq!(
        view.returns[0].lines[0].condition,
        Some(ReturnConditionView::Damaged)
    );

    let refund = OrderEvent::OrderRefundRecorded {
        order_id,
        customer_id,
        refund_id: RefundId::new(id(600)),
        payment_id: payment,
        amount: eur(450),
        lines: vec![line_quantity("A", 2), line_quantity("B", 1)],
        for_what: RefundFor::Goodwill,
        refunded_total: eur(450),
        refundable_remaining: eur(845),
    };
    append(&pool, "Order", &stream, next(), &refund).await;
    let view = order(&pool, o).await;
    assert_eq!(
        (view.refunded_total.amount, view.refunds[0].refund_id),
        (450, id(600))
    );
    assert_eq!(view.refunds[0].amount.amount, 450);
    assert_eq!(
        line_figures(&view),
        vec![
            figures("A", Reserved, [2, 1, 2, 1, 1, 2]),
            figures("B", Reserved, [1, 1, 1, 0, 0, 1]),
        ]
    );
    assert_eq!((view.status, view.version), (OrderStatus::Delivered, 15));
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_cancelled_order_says_why_and_by_whom_and_an_unavailable_line_shows(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let pool = small_pool(pool_options, connect_options).await;
    let o = id(2);
    let order_id = OrderId::new(o);
    append_all(
        &pool,
        "Order",
        &o.to_string(),
        1,
        &[
            placed(o, None, at()),
            OrderEvent::OrderStockUnavailable {
                order_id,
                customer_id: None,
                sku: sku("B"),
                quantity: qty(2),
            },
            OrderEvent::OrderCancelled {
                order_id,
                customer_id: None,
                reason: "stock unavailable".into(),
                cancelled_by: CancelledBy::System,
                status_before: Status::Placed,
                release_stock: vec![],
                payment_id: None,
                amount_authorized: None,
                amount_to_release: eur(0),
            },
        ],
    )
    .await;
    let view = order(&pool, o).await;
    assert_eq!(
        (view.status, view.customer_id),
        (OrderStatus::Cancelled, None)
    );
    assert_eq!(view.lines[1].stock, StockStatus::Unavailable);
    let cancellation = view.cancellation.unwrap();
    assert_eq!(
        (
            cancellation.reason.as_str(),
            cancellation.cancelled_by,
            cancellation.amount_to_release.amount
        ),
        ("stock unavailable", CancelledByView::System, 0)
    );
}

async fn all_pages(
    pool: &PgPool,
    customer: Option<Uuid>,
    status: Option<OrderStatus>,
    limit: i64,
) -> Vec<Uuid> {
    let pages = every_page(limit, |cursor| async move {
        orders::list(pool, customer, status, limit, cursor.as_deref()).await
    });
    pages.await.into_iter().map(|o| o.order_id).collect()
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn the_list_visits_every_order_once_newest_first_and_filters_by_customer_and_status(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let pool = small_pool(pool_options, connect_options).await;
    let (ada, bob) = (id(7001), id(7002));
    // Ten orders placed at one instant (five of Ada's, five of guests), then four
    // later ones of Bob's, two of them confirmed.
    let same_time = at() + Duration::microseconds(123_456) + Duration::nanoseconds(789);
    let mut tx = pool.begin().await.unwrap();
    for n in 1..=10 {
        let customer = (n % 2 == 0).then_some(ada);
        append(
            &mut *tx,
            "Order",
            &id(n).to_string(),
            1,
            &placed(id(n), customer, same_time),
        )
        .await;
    }
    tx.commit().await.unwrap();
    for n in 11..=14 {
        let o = id(n);
        let later = at() + Duration::hours(i64::try_from(n).unwrap());
        append(
            &pool,
            "Order",
            &o.to_string(),
            1,
            &placed(o, Some(bob), later),
        )
        .await;
        if n % 2 == 0 {
            let events = [
                OrderEvent::OrderFullyReserved {
                    order_id: OrderId::new(o),
                    customer_id: Some(CustomerId::new(bob)),
                    total: eur(1295),
                },
                OrderEvent::OrderConfirmed {
                    order_id: OrderId::new(o),
                    customer_id: Some(CustomerId::new(bob)),
                    payment_id: Some(PaymentId::new(id(n + 100))),
                    total: eur(1295),
                },
            ];
            append_all(&pool, "Order", &o.to_string(), 2, &events).await;
        }
    }
    project::<OrderView>(&pool).await;

    let everything: Vec<Uuid> = [14, 13, 12, 11].into_iter().chain(1..=10).map(id).collect();
    for limit in [1, 3, 4, 100] {
        let seen = all_pages(&pool, None, None, limit).await;
        assert_eq!(seen, everything, "limit {limit}");
        assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 14);
    }
    let adas = all_pages(&pool, Some(ada), None, 2).await;
    assert_eq!(adas, [2, 4, 6, 8, 10].map(id).to_vec());
    let bobs_confirmed = all_pages(&pool, Some(bob), Some(OrderStatus::Confirmed), 1).await;
    assert_eq!(bobs_confirmed, [14, 12].map(id).to_vec());
    let placed_ones = all_pages(&pool, None, Some(OrderStatus::Placed), 4).await;
    assert_eq!(
        placed_ones,
        [13, 11]
            .into_iter()
            .chain(1..=10)
            .map(id)
            .collect::<Vec<_>>()
    );
    assert!(all_pages(&pool, Some(id(1)), None, 5).await.is_empty());

    let error = orders::list(&pool, None, None, 5, Some("eyJ4IjoxfQ"))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidCursor(_)), "{error}");
}

#[test]
fn the_order_fold_follows_its_events_without_a_database() {
    let o = id(1);
    let view: OrderView = fold_all(vec![
        placed(o, None, at()),
        OrderEvent::OrderFullyReserved {
            order_id: OrderId::new(o),
            customer_id: None,
            total: eur(1295),
        },
    ])
    .unwrap();
    assert_eq!(
        (view.status, view.version),
        (OrderStatus::AwaitingPayment, 2)
    );
    let orphan = fold_all::<OrderView>(vec![OrderEvent::OrderConfirmed {
        order_id: OrderId::new(o),
        customer_id: None,
        payment_id: Some(PaymentId::new(id(2))),
        total: eur(1),
    }])
    .unwrap_err();
    assert!(orphan.contains("OrderConfirmed"), "{orphan}");
    let twice =
        fold_all::<OrderView>(vec![placed(o, None, at()), placed(o, None, at())]).unwrap_err();
    assert!(twice.contains("already exists"), "{twice}");
}
