//! Given/when/then tests of every rule and every refused transition.

use chrono::{DateTime, TimeZone, Utc};
use cqrs_es::test::{AggregateTestExecutor, TestFramework};
use uuid::Uuid;

use super::*;
use crate::shared::{
    CartId, Currency, CustomerId, Email, LineItem, Money, OrderId, PaymentId, PostalAddress,
    PostalAddressFields, Quantity, Sku,
};

// ---------------------------------------------------------------- fixtures

const MUG: &str = "MUG-1";
const TEE: &str = "TEE-M";

fn eur() -> Currency {
    Currency::new("EUR").unwrap()
}

fn eur_amount(amount: i64) -> Money {
    Money::new(amount, eur())
}

fn usd_amount(amount: i64) -> Money {
    Money::new(amount, Currency::new("USD").unwrap())
}

fn sku(code: &str) -> Sku {
    Sku::new(code).unwrap()
}

fn qty(n: u32) -> Quantity {
    Quantity::new(n).unwrap()
}

fn lq(code: &str, n: u32) -> LineQuantity {
    LineQuantity {
        sku: sku(code),
        quantity: qty(n),
    }
}

fn name_of(code: &str) -> String {
    match code {
        MUG => "Mug".into(),
        _ => "T-shirt".into(),
    }
}

fn price_of(code: &str) -> Money {
    match code {
        MUG => eur_amount(1200),
        _ => eur_amount(2500),
    }
}

fn order_id() -> OrderId {
    OrderId::new(Uuid::from_u128(1))
}

fn customer() -> Option<CustomerId> {
    Some(CustomerId::new(Uuid::from_u128(2)))
}

fn cart_id() -> CartId {
    CartId::new(Uuid::from_u128(3))
}

fn payment() -> PaymentId {
    PaymentId::new(Uuid::from_u128(4))
}

fn other_payment() -> PaymentId {
    PaymentId::new(Uuid::from_u128(5))
}

fn shipment(n: u128) -> ShipmentId {
    ShipmentId::new(Uuid::from_u128(100 + n))
}

fn return_id(n: u128) -> ReturnId {
    ReturnId::new(Uuid::from_u128(200 + n))
}

fn refund_id(n: u128) -> RefundId {
    RefundId::new(Uuid::from_u128(300 + n))
}

fn at(hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, hour, 0, 0).unwrap()
}

fn email() -> Email {
    Email::new("ada@example.org").unwrap()
}

fn address() -> PostalAddress {
    PostalAddress::new(PostalAddressFields {
        name: "Ada Lovelace".into(),
        line1: "12 St James's Square".into(),
        line2: None,
        city: "London".into(),
        postal_code: "SW1Y 4JH".into(),
        region: None,
        country: "GB".into(),
    })
    .unwrap()
}

fn item(code: &str, unit_price: Money, quantity: u32) -> LineItem {
    LineItem {
        sku: sku(code),
        name: name_of(code),
        unit_price,
        quantity: qty(quantity),
    }
}

/// Two mugs at 12.00 and one T-shirt at 25.00, shipping 5.00: total 54.00.
fn place_with(lines: Vec<LineItem>, shipping_cost: Money) -> OrderCommand {
    OrderCommand::PlaceOrder {
        order_id: order_id(),
        cart_id: cart_id(),
        customer_id: customer(),
        email: email(),
        shipping_address: address(),
        lines,
        shipping_cost,
        placed_at: at(9),
        pricing: None,
        replaces: None,
    }
}

fn place() -> OrderCommand {
    place_with(
        vec![
            item(MUG, eur_amount(1200), 2),
            item(TEE, eur_amount(2500), 1),
        ],
        eur_amount(500),
    )
}

fn total() -> Money {
    eur_amount(5400)
}

fn placed_line(code: &str, quantity: u32) -> PlacedLine {
    PlacedLine {
        sku: sku(code),
        name: name_of(code),
        unit_price: price_of(code),
        quantity: qty(quantity),
        line_total: Money::new(price_of(code).amount() * i64::from(quantity), eur()),
    }
}

fn placed() -> OrderEvent {
    OrderEvent::OrderPlaced {
        order_id: order_id(),
        cart_id: cart_id(),
        customer_id: customer(),
        email: email(),
        shipping_address: address(),
        lines: vec![placed_line(MUG, 2), placed_line(TEE, 1)],
        currency: eur(),
        subtotal: eur_amount(4900),
        shipping_cost: eur_amount(500),
        total: total(),
        placed_at: at(9),
        pricing: None,
        replaces: None,
    }
}

fn stock_reserved(code: &str, quantity: u32, lines_awaiting_stock: u32) -> OrderEvent {
    OrderEvent::OrderStockReserved {
        order_id: order_id(),
        customer_id: customer(),
        sku: sku(code),
        quantity: qty(quantity),
        lines_awaiting_stock,
    }
}

fn stock_unavailable(code: &str, quantity: u32) -> OrderEvent {
    OrderEvent::OrderStockUnavailable {
        order_id: order_id(),
        customer_id: customer(),
        sku: sku(code),
        quantity: qty(quantity),
    }
}

fn fully_reserved() -> OrderEvent {
    OrderEvent::OrderFullyReserved {
        order_id: order_id(),
        customer_id: customer(),
        total: total(),
    }
}

fn payment_authorized(payment_id: PaymentId) -> OrderEvent {
    OrderEvent::OrderPaymentAuthorized {
        order_id: order_id(),
        customer_id: customer(),
        payment_id,
        amount: total(),
    }
}

fn payment_failed(payment_id: PaymentId) -> OrderEvent {
    OrderEvent::OrderPaymentFailed {
        order_id: order_id(),
        customer_id: customer(),
        payment_id,
        reason: "card declined".into(),
    }
}

fn confirmed() -> OrderEvent {
    OrderEvent::OrderConfirmed {
        order_id: order_id(),
        customer_id: customer(),
        payment_id: Some(payment()),
        total: total(),
    }
}

/// `(sku, quantity, shipped_after, remaining_to_ship)` per line.
fn shipped(n: u128, lines: &[(&str, u32, u32, u32)], fully_shipped: bool) -> OrderEvent {
    OrderEvent::OrderShipped {
        order_id: order_id(),
        customer_id: customer(),
        shipment_id: shipment(n),
        lines: lines
            .iter()
            .map(|(code, quantity, after, remaining)| ShippedLine {
                sku: sku(code),
                name: name_of(code),
                quantity: qty(*quantity),
                shipped_after: *after,
                remaining_to_ship: *remaining,
            })
            .collect(),
        carrier: "DHL".into(),
        tracking_number: format!("TRACK-{n}"),
        shipped_at: at(12),
        fully_shipped,
        status_after: if fully_shipped {
            OrderStatus::Shipped
        } else {
            OrderStatus::PartiallyShipped
        },
    }
}

fn delivered(lines: Vec<LineQuantity>) -> OrderEvent {
    OrderEvent::OrderDelivered {
        order_id: order_id(),
        customer_id: customer(),
        lines,
        delivered_at: at(18),
    }
}

/// `(sku, quantity, cancelled_after, remaining_to_ship)` per line.
fn lines_cancelled(
    lines: &[(&str, u32, u32, u32)],
    amount_to_refund: i64,
    order_total_after: i64,
    status_after: OrderStatus,
) -> OrderEvent {
    OrderEvent::OrderLinesCancelled {
        order_id: order_id(),
        customer_id: customer(),
        lines: lines
            .iter()
            .map(|(code, quantity, after, remaining)| CancelledLine {
                sku: sku(code),
                name: name_of(code),
                unit_price: price_of(code),
                quantity: qty(*quantity),
                amount: Money::new(price_of(code).amount() * i64::from(*quantity), eur()),
                cancelled_after: *after,
                remaining_to_ship: *remaining,
            })
            .collect(),
        reason: "out of season".into(),
        cancelled_by: CancelledBy::Admin,
        payment_id: Some(payment()),
        amount_to_refund: eur_amount(amount_to_refund),
        order_total_after: eur_amount(order_total_after),
        status_after,
    }
}

fn return_lines(lines: &[(&str, u32)]) -> Vec<ReturnLine> {
    lines
        .iter()
        .map(|(code, quantity)| ReturnLine {
            sku: sku(code),
            name: name_of(code),
            unit_price: price_of(code),
            quantity: qty(*quantity),
            amount: Money::new(price_of(code).amount() * i64::from(*quantity), eur()),
            reason: ReturnReason::NoLongerNeeded,
            note: Some("too small".into()),
            exchange_for: None,
        })
        .collect()
}

fn received_lines(lines: &[(&str, u32, ReturnCondition)]) -> Vec<ReceivedLine> {
    lines
        .iter()
        .map(|(code, quantity, condition)| ReceivedLine {
            sku: sku(code),
            name: name_of(code),
            unit_price: price_of(code),
            quantity: qty(*quantity),
            amount: Money::new(price_of(code).amount() * i64::from(*quantity), eur()),
            condition: *condition,
        })
        .collect()
}

fn return_approved(n: u128) -> OrderEvent {
    OrderEvent::OrderReturnApproved {
        order_id: order_id(),
        customer_id: customer(),
        return_id: return_id(n),
    }
}

fn return_requested(n: u128, lines: &[(&str, u32)], value: i64) -> OrderEvent {
    OrderEvent::OrderReturnRequested {
        order_id: order_id(),
        customer_id: customer(),
        return_id: return_id(n),
        lines: return_lines(lines),
        return_value: eur_amount(value),
    }
}

fn refund_recorded(
    n: u128,
    amount: i64,
    lines: Vec<LineQuantity>,
    refunded_total: i64,
) -> OrderEvent {
    OrderEvent::OrderRefundRecorded {
        order_id: order_id(),
        customer_id: customer(),
        refund_id: refund_id(n),
        payment_id: payment(),
        amount: eur_amount(amount),
        lines,
        for_what: RefundFor::Goodwill,
        refunded_total: eur_amount(refunded_total),
        refundable_remaining: eur_amount(5400 - refunded_total),
    }
}

fn cancelled_event(
    status_before: OrderStatus,
    release_stock: Vec<LineQuantity>,
    paid: bool,
    amount_to_release: i64,
) -> OrderEvent {
    OrderEvent::OrderCancelled {
        order_id: order_id(),
        customer_id: customer(),
        reason: "changed my mind".into(),
        cancelled_by: CancelledBy::Customer,
        status_before,
        release_stock,
        payment_id: paid.then(payment),
        amount_authorized: paid.then(total),
        amount_to_release: eur_amount(amount_to_release),
    }
}

// Histories, one per state.

fn in_placed() -> Vec<OrderEvent> {
    vec![placed()]
}

fn in_awaiting_payment() -> Vec<OrderEvent> {
    vec![
        placed(),
        stock_reserved(MUG, 2, 1),
        stock_reserved(TEE, 1, 0),
        fully_reserved(),
    ]
}

fn in_awaiting_payment_paid() -> Vec<OrderEvent> {
    let mut events = in_awaiting_payment();
    events.push(payment_authorized(payment()));
    events
}

fn in_confirmed() -> Vec<OrderEvent> {
    let mut events = in_awaiting_payment_paid();
    events.push(confirmed());
    events
}

/// One of the two mugs shipped.
fn in_partially_shipped() -> Vec<OrderEvent> {
    let mut events = in_confirmed();
    events.push(shipped(1, &[(MUG, 1, 1, 1)], false));
    events
}

fn in_shipped() -> Vec<OrderEvent> {
    let mut events = in_confirmed();
    events.push(shipped(1, &[(MUG, 2, 2, 0), (TEE, 1, 1, 0)], true));
    events
}

fn in_delivered() -> Vec<OrderEvent> {
    let mut events = in_shipped();
    events.push(delivered(vec![lq(MUG, 2), lq(TEE, 1)]));
    events
}

fn in_cancelled() -> Vec<OrderEvent> {
    vec![
        placed(),
        stock_reserved(MUG, 2, 1),
        cancelled_event(OrderStatus::Placed, vec![lq(MUG, 2)], false, 0),
    ]
}

fn in_cancelled_after_payment() -> Vec<OrderEvent> {
    let mut events = in_confirmed();
    events.push(cancelled_event(
        OrderStatus::Confirmed,
        vec![lq(MUG, 2), lq(TEE, 1)],
        true,
        5400,
    ));
    events
}

fn given(events: Vec<OrderEvent>) -> AggregateTestExecutor<Order> {
    TestFramework::<Order>::with(()).given(events)
}

fn illegal(state: OrderStatus, action: &'static str) -> OrderError {
    OrderError::IllegalTransition { state, action }
}

// Commands.

fn reserve(code: &str) -> OrderCommand {
    OrderCommand::RecordStockReserved { sku: sku(code) }
}

fn unavailable(code: &str) -> OrderCommand {
    OrderCommand::RecordStockUnavailable { sku: sku(code) }
}

fn authorize(payment_id: PaymentId, amount: Money) -> OrderCommand {
    OrderCommand::RecordPaymentAuthorized { payment_id, amount }
}

fn fail_payment(payment_id: PaymentId) -> OrderCommand {
    OrderCommand::RecordPaymentFailed {
        payment_id,
        reason: "card declined".into(),
    }
}

fn confirm() -> OrderCommand {
    OrderCommand::ConfirmOrder {}
}

fn ship(n: u128, lines: Vec<LineQuantity>) -> OrderCommand {
    OrderCommand::ShipOrder {
        shipment_id: shipment(n),
        lines,
        carrier: "DHL".into(),
        tracking_number: format!("TRACK-{n}"),
        shipped_at: at(12),
    }
}

fn deliver() -> OrderCommand {
    OrderCommand::DeliverOrder {
        delivered_at: at(18),
    }
}

fn cancel() -> OrderCommand {
    OrderCommand::CancelOrder {
        reason: "changed my mind".into(),
        cancelled_by: CancelledBy::Customer,
    }
}

fn cancel_lines(lines: Vec<LineQuantity>) -> OrderCommand {
    cancel_lines_by(lines, CancelledBy::Admin)
}

fn cancel_lines_by(lines: Vec<LineQuantity>, cancelled_by: CancelledBy) -> OrderCommand {
    OrderCommand::CancelOrderLines {
        lines,
        reason: "out of season".into(),
        cancelled_by,
    }
}

const RETURN_WINDOW_DAYS: u32 = 30;

fn return_line(line: LineQuantity) -> ReturnRequestLine {
    ReturnRequestLine {
        sku: line.sku,
        quantity: line.quantity,
        reason: ReturnReason::NoLongerNeeded,
        note: Some("too small".into()),
        exchange_for: None,
    }
}

fn request_return(n: u128, lines: Vec<LineQuantity>) -> OrderCommand {
    OrderCommand::RequestReturn {
        return_id: return_id(n),
        lines: lines.into_iter().map(return_line).collect(),
        requested_at: at(20),
        return_window_days: RETURN_WINDOW_DAYS,
    }
}

/// Receives return `n`, every line in `condition`.
fn receive_return_as(n: u128, skus: &[&str], condition: ReturnCondition) -> OrderCommand {
    OrderCommand::ReceiveReturn {
        return_id: return_id(n),
        conditions: skus
            .iter()
            .map(|code| LineCondition {
                sku: sku(code),
                condition,
            })
            .collect(),
        restocking_fee: None,
    }
}

fn receive_return(n: u128) -> OrderCommand {
    receive_return_as(n, &[MUG], ReturnCondition::Resellable)
}

fn refund(n: u128, amount: Money, lines: Vec<LineQuantity>) -> OrderCommand {
    OrderCommand::RecordRefund {
        refund_id: refund_id(n),
        payment_id: payment(),
        amount,
        lines,
        for_what: None,
    }
}

// ---------------------------------------------------------------- placing

#[test]
fn places_an_order_with_the_totals_it_computes() {
    given(vec![])
        .when(place())
        .then_expect_events(vec![placed()]);
}

#[test]
fn places_a_guest_order_without_a_customer() {
    let OrderCommand::PlaceOrder {
        order_id,
        cart_id,
        email,
        shipping_address,
        lines,
        shipping_cost,
        placed_at,
        ..
    } = place()
    else {
        unreachable!()
    };
    let events = given(vec![])
        .when(OrderCommand::PlaceOrder {
            order_id,
            cart_id,
            customer_id: None,
            email,
            shipping_address,
            lines,
            shipping_cost,
            placed_at,
            pricing: None,
            replaces: None,
        })
        .inspect_result()
        .unwrap();
    assert!(matches!(
        &events[..],
        [OrderEvent::OrderPlaced {
            customer_id: None,
            ..
        }]
    ));
}

#[test]
fn refuses_an_empty_order() {
    given(vec![])
        .when(place_with(vec![], eur_amount(500)))
        .then_expect_error(OrderError::EmptyOrder);
}

#[test]
fn refuses_duplicate_skus_in_an_order() {
    given(vec![])
        .when(place_with(
            vec![
                item(MUG, eur_amount(1200), 1),
                item(MUG, eur_amount(1200), 2),
            ],
            eur_amount(500),
        ))
        .then_expect_error(OrderError::DuplicateSku { sku: sku(MUG) });
}

#[test]
fn refuses_lines_in_different_currencies() {
    given(vec![])
        .when(place_with(
            vec![
                item(MUG, eur_amount(1200), 1),
                item(TEE, usd_amount(2500), 1),
            ],
            eur_amount(500),
        ))
        .then_expect_error(OrderError::CurrencyMismatch {
            expected: eur(),
            found: Currency::new("USD").unwrap(),
        });
}

#[test]
fn refuses_shipping_cost_in_another_currency() {
    given(vec![])
        .when(place_with(
            vec![item(MUG, eur_amount(1200), 1)],
            usd_amount(500),
        ))
        .then_expect_error(OrderError::CurrencyMismatch {
            expected: eur(),
            found: Currency::new("USD").unwrap(),
        });
}

#[test]
fn refuses_negative_prices() {
    given(vec![])
        .when(place_with(
            vec![item(MUG, eur_amount(-1), 1)],
            eur_amount(500),
        ))
        .then_expect_error(OrderError::NegativePrice { sku: sku(MUG) });
    given(vec![])
        .when(place_with(
            vec![item(MUG, eur_amount(1), 1)],
            eur_amount(-500),
        ))
        .then_expect_error(OrderError::NegativeShippingCost);
}

#[test]
fn refuses_totals_too_large_to_add_up() {
    given(vec![])
        .when(place_with(
            vec![item(MUG, eur_amount(i64::MAX / 2), 3)],
            eur_amount(0),
        ))
        .then_expect_error(OrderError::AmountTooLarge);
    given(vec![])
        .when(place_with(
            vec![
                item(MUG, eur_amount(i64::MAX / 2), 1),
                item(TEE, eur_amount(i64::MAX / 2), 1),
            ],
            eur_amount(10),
        ))
        .then_expect_error(OrderError::AmountTooLarge);
}

#[test]
fn refuses_to_place_an_order_twice() {
    given(in_placed())
        .when(place())
        .then_expect_error(OrderError::AlreadyExists);
}

#[test]
fn refuses_every_other_command_before_the_order_is_placed() {
    for command in [
        reserve(MUG),
        unavailable(MUG),
        authorize(payment(), total()),
        fail_payment(payment()),
        confirm(),
        ship(1, vec![lq(MUG, 1)]),
        deliver(),
        cancel(),
        cancel_lines(vec![lq(MUG, 1)]),
        request_return(1, vec![lq(MUG, 1)]),
        receive_return(1),
        refund(1, eur_amount(100), vec![]),
    ] {
        given(vec![])
            .when(command)
            .then_expect_error(OrderError::NotFound);
    }
}

// ---------------------------------------------------------------- stock

#[test]
fn records_a_reserved_line_and_how_many_still_await_stock() {
    given(in_placed())
        .when(reserve(MUG))
        .then_expect_events(vec![stock_reserved(MUG, 2, 1)]);
}

#[test]
fn awaits_payment_once_every_line_is_reserved() {
    given(vec![placed(), stock_reserved(MUG, 2, 1)])
        .when(reserve(TEE))
        .then_expect_events(vec![stock_reserved(TEE, 1, 0), fully_reserved()]);
}

#[test]
fn records_an_unavailable_line() {
    given(in_placed())
        .when(unavailable(TEE))
        .then_expect_events(vec![stock_unavailable(TEE, 1)]);
}

#[test]
fn an_unavailable_line_keeps_the_order_from_awaiting_payment() {
    given(vec![placed(), stock_unavailable(TEE, 1)])
        .when(reserve(MUG))
        .then_expect_events(vec![stock_reserved(MUG, 2, 1)]);
    given(vec![
        placed(),
        stock_unavailable(TEE, 1),
        stock_reserved(MUG, 2, 1),
    ])
    .when(authorize(payment(), total()))
    .then_expect_error(illegal(
        OrderStatus::Placed,
        "record a payment authorization for",
    ));
}

#[test]
fn a_repeated_stock_outcome_is_a_no_op() {
    given(vec![placed(), stock_reserved(MUG, 2, 1)])
        .when(reserve(MUG))
        .then_expect_events(vec![]);
    given(vec![placed(), stock_unavailable(MUG, 2)])
        .when(unavailable(MUG))
        .then_expect_events(vec![]);
    given(in_confirmed())
        .when(reserve(TEE))
        .then_expect_events(vec![]);
    given(in_cancelled())
        .when(reserve(MUG))
        .then_expect_events(vec![]);
}

#[test]
fn refuses_a_stock_outcome_contradicting_the_recorded_one() {
    given(vec![placed(), stock_reserved(MUG, 2, 1)])
        .when(unavailable(MUG))
        .then_expect_error(OrderError::StockAlreadyRecorded {
            sku: sku(MUG),
            recorded: "reserved",
        });
    given(vec![placed(), stock_unavailable(MUG, 2)])
        .when(reserve(MUG))
        .then_expect_error(OrderError::StockAlreadyRecorded {
            sku: sku(MUG),
            recorded: "unavailable",
        });
}

#[test]
fn refuses_stock_for_a_sku_not_in_the_order() {
    given(in_placed())
        .when(reserve("SOCKS"))
        .then_expect_error(OrderError::UnknownSku { sku: sku("SOCKS") });
}

#[test]
fn refuses_new_stock_outcomes_once_cancelled() {
    given(in_cancelled())
        .when(reserve(TEE))
        .then_expect_error(illegal(OrderStatus::Cancelled, "record stock for"));
    given(in_cancelled())
        .when(unavailable(TEE))
        .then_expect_error(illegal(OrderStatus::Cancelled, "record stock for"));
}

// ---------------------------------------------------------------- payment

#[test]
fn records_an_authorized_payment_of_the_total() {
    given(in_awaiting_payment())
        .when(authorize(payment(), total()))
        .then_expect_events(vec![payment_authorized(payment())]);
}

#[test]
fn a_repeated_authorization_is_a_no_op() {
    given(in_awaiting_payment_paid())
        .when(authorize(payment(), total()))
        .then_expect_events(vec![]);
    given(in_shipped())
        .when(authorize(payment(), total()))
        .then_expect_events(vec![]);
}

#[test]
fn refuses_payment_before_every_line_is_reserved() {
    given(in_placed())
        .when(authorize(payment(), total()))
        .then_expect_error(illegal(
            OrderStatus::Placed,
            "record a payment authorization for",
        ));
    given(in_placed())
        .when(fail_payment(payment()))
        .then_expect_error(illegal(OrderStatus::Placed, "record a payment failure for"));
}

#[test]
fn refuses_an_authorization_of_another_amount_than_the_total() {
    given(in_awaiting_payment())
        .when(authorize(payment(), eur_amount(5399)))
        .then_expect_error(OrderError::PaymentAmountMismatch {
            expected: total(),
            authorized: eur_amount(5399),
        });
    given(in_awaiting_payment())
        .when(authorize(payment(), usd_amount(5400)))
        .then_expect_error(OrderError::PaymentAmountMismatch {
            expected: total(),
            authorized: usd_amount(5400),
        });
}

#[test]
fn refuses_a_second_payment_once_one_is_authorized() {
    given(in_awaiting_payment_paid())
        .when(authorize(other_payment(), total()))
        .then_expect_error(OrderError::PaymentAlreadyAuthorized {
            payment_id: payment(),
        });
    given(in_awaiting_payment_paid())
        .when(authorize(payment(), eur_amount(1)))
        .then_expect_error(OrderError::PaymentAlreadyAuthorized {
            payment_id: payment(),
        });
    given(in_awaiting_payment_paid())
        .when(fail_payment(other_payment()))
        .then_expect_error(OrderError::PaymentAlreadyAuthorized {
            payment_id: payment(),
        });
}

#[test]
fn records_a_failed_payment_and_accepts_another_one() {
    given(in_awaiting_payment())
        .when(fail_payment(other_payment()))
        .then_expect_events(vec![payment_failed(other_payment())]);
    let mut history = in_awaiting_payment();
    history.push(payment_failed(other_payment()));
    given(history)
        .when(authorize(payment(), total()))
        .then_expect_events(vec![payment_authorized(payment())]);
}

#[test]
fn a_repeated_payment_failure_is_a_no_op() {
    let mut history = in_awaiting_payment();
    history.push(payment_failed(other_payment()));
    history.push(payment_authorized(payment()));
    given(history)
        .when(fail_payment(other_payment()))
        .then_expect_events(vec![]);
}

#[test]
fn refuses_to_authorize_a_payment_recorded_as_failed() {
    let mut history = in_awaiting_payment();
    history.push(payment_failed(other_payment()));
    given(history)
        .when(authorize(other_payment(), total()))
        .then_expect_error(OrderError::PaymentAlreadyFailed {
            payment_id: other_payment(),
        });
}

#[test]
fn refuses_a_failure_of_the_authorized_payment() {
    given(in_awaiting_payment_paid())
        .when(fail_payment(payment()))
        .then_expect_error(OrderError::PaymentAlreadyAuthorized {
            payment_id: payment(),
        });
}

#[test]
fn refuses_payment_facts_once_cancelled_or_confirmed() {
    given(in_cancelled())
        .when(authorize(payment(), total()))
        .then_expect_error(illegal(
            OrderStatus::Cancelled,
            "record a payment authorization for",
        ));
    given(in_confirmed())
        .when(fail_payment(other_payment()))
        .then_expect_error(illegal(
            OrderStatus::Confirmed,
            "record a payment failure for",
        ));
}

// ---------------------------------------------------------------- confirming

#[test]
fn confirms_a_reserved_and_paid_order() {
    given(in_awaiting_payment_paid())
        .when(confirm())
        .then_expect_events(vec![confirmed()]);
}

#[test]
fn a_repeated_confirmation_is_a_no_op() {
    for history in [in_confirmed(), in_partially_shipped(), in_delivered()] {
        given(history).when(confirm()).then_expect_events(vec![]);
    }
}

#[test]
fn refuses_to_confirm_before_a_payment_is_authorized() {
    given(in_awaiting_payment())
        .when(confirm())
        .then_expect_error(OrderError::PaymentNotAuthorized {
            state: OrderStatus::AwaitingPayment,
        });
}

#[test]
fn refuses_to_confirm_before_every_line_is_reserved_or_once_cancelled() {
    given(in_placed())
        .when(confirm())
        .then_expect_error(illegal(OrderStatus::Placed, "confirm"));
    given(in_cancelled())
        .when(confirm())
        .then_expect_error(illegal(OrderStatus::Cancelled, "confirm"));
}

// ---------------------------------------------------------------- shipping

#[test]
fn ships_part_of_a_confirmed_order() {
    given(in_confirmed())
        .when(ship(1, vec![lq(MUG, 1)]))
        .then_expect_events(vec![shipped(1, &[(MUG, 1, 1, 1)], false)]);
}

#[test]
fn ships_the_rest_and_becomes_shipped() {
    given(in_partially_shipped())
        .when(ship(2, vec![lq(MUG, 1), lq(TEE, 1)]))
        .then_expect_events(vec![shipped(2, &[(MUG, 1, 2, 0), (TEE, 1, 1, 0)], true)]);
}

#[test]
fn ships_everything_at_once() {
    given(in_confirmed())
        .when(ship(1, vec![lq(MUG, 2), lq(TEE, 1)]))
        .then_expect_events(vec![shipped(1, &[(MUG, 2, 2, 0), (TEE, 1, 1, 0)], true)]);
}

#[test]
fn refuses_to_ship_an_order_not_confirmed_or_partially_shipped() {
    for (history, state) in [
        (in_placed(), OrderStatus::Placed),
        (in_awaiting_payment_paid(), OrderStatus::AwaitingPayment),
        (in_shipped(), OrderStatus::Shipped),
        (in_delivered(), OrderStatus::Delivered),
        (in_cancelled(), OrderStatus::Cancelled),
    ] {
        given(history)
            .when(ship(2, vec![lq(TEE, 1)]))
            .then_expect_error(illegal(state, "ship"));
    }
}

#[test]
fn refuses_to_ship_more_than_remains_unshipped() {
    given(in_partially_shipped())
        .when(ship(2, vec![lq(MUG, 2)]))
        .then_expect_error(OrderError::ExceedsUnshipped {
            sku: sku(MUG),
            requested: 2,
            unshipped: 1,
        });
    let mut history = in_confirmed();
    history.push(lines_cancelled(
        &[(MUG, 1, 1, 1)],
        1200,
        4200,
        OrderStatus::Confirmed,
    ));
    given(history)
        .when(ship(1, vec![lq(MUG, 2)]))
        .then_expect_error(OrderError::ExceedsUnshipped {
            sku: sku(MUG),
            requested: 2,
            unshipped: 1,
        });
}

#[test]
fn refuses_to_ship_a_sku_not_in_the_order() {
    given(in_confirmed())
        .when(ship(1, vec![lq("SOCKS", 1)]))
        .then_expect_error(OrderError::UnknownSku { sku: sku("SOCKS") });
}

#[test]
fn refuses_an_empty_shipment() {
    given(in_confirmed())
        .when(ship(1, vec![]))
        .then_expect_error(OrderError::EmptyShipment);
}

#[test]
fn refuses_a_shipment_naming_a_sku_twice() {
    given(in_confirmed())
        .when(ship(1, vec![lq(MUG, 1), lq(MUG, 1)]))
        .then_expect_error(OrderError::DuplicateSku { sku: sku(MUG) });
}

#[test]
fn refuses_a_reused_shipment_id() {
    given(in_partially_shipped())
        .when(ship(1, vec![lq(MUG, 1)]))
        .then_expect_error(OrderError::ShipmentIdReused {
            shipment_id: shipment(1),
        });
}

#[test]
fn refuses_a_blank_or_unprintable_carrier_or_tracking_number() {
    let with = |carrier: &str, tracking_number: &str| OrderCommand::ShipOrder {
        shipment_id: shipment(1),
        lines: vec![lq(MUG, 1)],
        carrier: carrier.into(),
        tracking_number: tracking_number.into(),
        shipped_at: at(12),
    };
    given(in_confirmed())
        .when(with(" ", "T1"))
        .then_expect_error(OrderError::InvalidCarrier);
    given(in_confirmed())
        .when(with(&"x".repeat(101), "T1"))
        .then_expect_error(OrderError::InvalidCarrier);
    given(in_confirmed())
        .when(with("DHL", ""))
        .then_expect_error(OrderError::InvalidTrackingNumber);
    given(in_confirmed())
        .when(with("DHL", "T\n1"))
        .then_expect_error(OrderError::InvalidTrackingNumber);
}

// ---------------------------------------------------------------- delivering

#[test]
fn delivers_a_shipped_order_with_the_delivered_quantities() {
    given(in_shipped())
        .when(deliver())
        .then_expect_events(vec![delivered(vec![lq(MUG, 2), lq(TEE, 1)])]);
}

#[test]
fn delivers_only_what_shipped_when_lines_were_cancelled() {
    let mut history = in_partially_shipped();
    history.push(lines_cancelled(
        &[(MUG, 1, 1, 0), (TEE, 1, 1, 0)],
        3700,
        1700,
        OrderStatus::Shipped,
    ));
    given(history)
        .when(deliver())
        .then_expect_events(vec![delivered(vec![lq(MUG, 1)])]);
}

#[test]
fn refuses_to_deliver_an_order_not_fully_shipped() {
    for (history, state) in [
        (in_placed(), OrderStatus::Placed),
        (in_confirmed(), OrderStatus::Confirmed),
        (in_partially_shipped(), OrderStatus::PartiallyShipped),
        (in_delivered(), OrderStatus::Delivered),
        (in_cancelled(), OrderStatus::Cancelled),
    ] {
        given(history)
            .when(deliver())
            .then_expect_error(illegal(state, "deliver"));
    }
}

// ---------------------------------------------------------------- cancelling

#[test]
fn cancels_a_placed_order_releasing_the_reserved_lines() {
    given(vec![
        placed(),
        stock_reserved(MUG, 2, 1),
        stock_unavailable(TEE, 1),
    ])
    .when(cancel())
    .then_expect_events(vec![cancelled_event(
        OrderStatus::Placed,
        vec![lq(MUG, 2)],
        false,
        0,
    )]);
}

#[test]
fn cancels_an_order_awaiting_payment_releasing_the_authorized_amount() {
    given(in_awaiting_payment_paid())
        .when(cancel())
        .then_expect_events(vec![cancelled_event(
            OrderStatus::AwaitingPayment,
            vec![lq(MUG, 2), lq(TEE, 1)],
            true,
            5400,
        )]);
}

#[test]
fn cancels_a_confirmed_order_net_of_cancelled_lines_and_refunds() {
    let mut history = in_confirmed();
    history.push(lines_cancelled(
        &[(MUG, 1, 1, 1)],
        1200,
        4200,
        OrderStatus::Confirmed,
    ));
    given(history.clone())
        .when(cancel())
        .then_expect_events(vec![cancelled_event(
            OrderStatus::Confirmed,
            vec![lq(MUG, 1), lq(TEE, 1)],
            true,
            4200,
        )]);
    // A goodwill refund beyond the cancelled line leaves less to release.
    history.push(refund_recorded(1, 2000, vec![], 2000));
    given(history)
        .when(cancel())
        .then_expect_events(vec![cancelled_event(
            OrderStatus::Confirmed,
            vec![lq(MUG, 1), lq(TEE, 1)],
            true,
            3400,
        )]);
}

#[test]
fn a_repeated_cancellation_is_a_no_op() {
    given(in_cancelled())
        .when(cancel())
        .then_expect_events(vec![]);
}

#[test]
fn refuses_to_cancel_a_cancelled_order_again() {
    given(in_cancelled())
        .when(OrderCommand::CancelOrder {
            reason: "changed my mind".into(),
            cancelled_by: CancelledBy::Admin,
        })
        .then_expect_error(illegal(OrderStatus::Cancelled, "cancel"));
}

#[test]
fn refuses_to_cancel_after_the_first_shipment() {
    for (history, state) in [
        (in_partially_shipped(), OrderStatus::PartiallyShipped),
        (in_shipped(), OrderStatus::Shipped),
        (in_delivered(), OrderStatus::Delivered),
    ] {
        given(history)
            .when(cancel())
            .then_expect_error(OrderError::AlreadyShipped { state });
    }
}

#[test]
fn refuses_a_blank_or_overlong_reason() {
    for reason in [String::new(), "   ".into(), "x".repeat(501)] {
        given(in_placed())
            .when(OrderCommand::CancelOrder {
                reason,
                cancelled_by: CancelledBy::Admin,
            })
            .then_expect_error(OrderError::InvalidReason);
    }
    given(in_placed())
        .when(OrderCommand::CancelOrder {
            reason: "é".repeat(500),
            cancelled_by: CancelledBy::Admin,
        })
        .inspect_result()
        .unwrap();
}

// ---------------------------------------------------------------- cancelling lines

#[test]
fn cancels_unshipped_lines_with_the_amount_to_refund() {
    given(in_confirmed())
        .when(cancel_lines(vec![lq(MUG, 1)]))
        .then_expect_events(vec![lines_cancelled(
            &[(MUG, 1, 1, 1)],
            1200,
            4200,
            OrderStatus::Confirmed,
        )]);
}

#[test]
fn cancelling_every_unshipped_unit_of_a_partially_shipped_order_makes_it_shipped() {
    given(in_partially_shipped())
        .when(cancel_lines(vec![lq(MUG, 1), lq(TEE, 1)]))
        .then_expect_events(vec![lines_cancelled(
            &[(MUG, 1, 1, 0), (TEE, 1, 1, 0)],
            3700,
            1700,
            OrderStatus::Shipped,
        )]);
}

#[test]
fn cancelling_every_line_of_an_unshipped_order_cancels_the_order() {
    let mut expected = cancelled_event(
        OrderStatus::Confirmed,
        vec![lq(MUG, 2), lq(TEE, 1)],
        true,
        5400,
    );
    if let OrderEvent::OrderCancelled {
        reason,
        cancelled_by,
        ..
    } = &mut expected
    {
        *reason = "out of season".into();
        *cancelled_by = CancelledBy::Admin;
    }
    given(in_confirmed())
        .when(cancel_lines(vec![lq(MUG, 2), lq(TEE, 1)]))
        .then_expect_events(vec![expected]);
}

#[test]
fn a_customer_cancels_lines_of_a_confirmed_order() {
    let mut expected = lines_cancelled(&[(MUG, 1, 1, 1)], 1200, 4200, OrderStatus::Confirmed);
    if let OrderEvent::OrderLinesCancelled { cancelled_by, .. } = &mut expected {
        *cancelled_by = CancelledBy::Customer;
    }
    given(in_confirmed())
        .when(cancel_lines_by(vec![lq(MUG, 1)], CancelledBy::Customer))
        .then_expect_events(vec![expected]);
}

#[test]
fn refuses_a_customer_s_line_cancellation_once_anything_shipped() {
    given(in_partially_shipped())
        .when(cancel_lines_by(vec![lq(MUG, 1)], CancelledBy::Customer))
        .then_expect_error(OrderError::AlreadyShipped {
            state: OrderStatus::PartiallyShipped,
        });
}

#[test]
fn refuses_to_cancel_shipped_quantities() {
    given(in_partially_shipped())
        .when(cancel_lines(vec![lq(MUG, 2)]))
        .then_expect_error(OrderError::ExceedsUnshipped {
            sku: sku(MUG),
            requested: 2,
            unshipped: 1,
        });
}

#[test]
fn refuses_to_cancel_lines_outside_confirmed_or_partially_shipped() {
    for (history, state) in [
        (in_placed(), OrderStatus::Placed),
        (in_awaiting_payment_paid(), OrderStatus::AwaitingPayment),
        (in_shipped(), OrderStatus::Shipped),
        (in_delivered(), OrderStatus::Delivered),
        (in_cancelled(), OrderStatus::Cancelled),
    ] {
        given(history)
            .when(cancel_lines(vec![lq(MUG, 1)]))
            .then_expect_error(illegal(state, "cancel lines of"));
    }
}

#[test]
fn refuses_a_line_cancellation_without_lines_or_with_unknown_or_repeated_skus() {
    given(in_confirmed())
        .when(cancel_lines(vec![]))
        .then_expect_error(OrderError::NoLinesToCancel);
    given(in_confirmed())
        .when(cancel_lines(vec![lq("SOCKS", 1)]))
        .then_expect_error(OrderError::UnknownSku { sku: sku("SOCKS") });
    given(in_confirmed())
        .when(cancel_lines(vec![lq(MUG, 1), lq(MUG, 1)]))
        .then_expect_error(OrderError::DuplicateSku { sku: sku(MUG) });
    given(in_confirmed())
        .when(OrderCommand::CancelOrderLines {
            lines: vec![lq(MUG, 1)],
            reason: " ".into(),
            cancelled_by: CancelledBy::Admin,
        })
        .then_expect_error(OrderError::InvalidReason);
}

// ---------------------------------------------------------------- returns

#[test]
fn requests_a_return_of_delivered_lines() {
    given(in_delivered())
        .when(request_return(1, vec![lq(MUG, 1), lq(TEE, 1)]))
        .then_expect_events(vec![return_requested(1, &[(MUG, 1), (TEE, 1)], 3700)]);
}

#[test]
fn refuses_to_return_more_than_delivered_and_not_yet_returned() {
    let mut history = in_delivered();
    history.push(return_requested(1, &[(MUG, 1)], 1200));
    given(history)
        .when(request_return(2, vec![lq(MUG, 2)]))
        .then_expect_error(OrderError::ExceedsReturnable {
            sku: sku(MUG),
            requested: 2,
            returnable: 1,
        });
}

#[test]
fn refuses_to_return_cancelled_units_that_never_shipped() {
    let mut history = in_partially_shipped();
    history.push(lines_cancelled(
        &[(MUG, 1, 1, 0), (TEE, 1, 1, 0)],
        3700,
        1700,
        OrderStatus::Shipped,
    ));
    history.push(delivered(vec![lq(MUG, 1)]));
    given(history)
        .when(request_return(1, vec![lq(TEE, 1)]))
        .then_expect_error(OrderError::ExceedsReturnable {
            sku: sku(TEE),
            requested: 1,
            returnable: 0,
        });
}

#[test]
fn refuses_a_return_before_delivery() {
    for (history, state) in [
        (in_confirmed(), OrderStatus::Confirmed),
        (in_shipped(), OrderStatus::Shipped),
        (in_cancelled(), OrderStatus::Cancelled),
    ] {
        given(history.clone())
            .when(request_return(1, vec![lq(MUG, 1)]))
            .then_expect_error(illegal(state, "request a return for"));
        given(history)
            .when(receive_return(1))
            .then_expect_error(OrderError::UnknownReturn {
                return_id: return_id(1),
            });
    }
}

#[test]
fn refuses_a_reused_return_id() {
    let mut history = in_delivered();
    history.push(return_requested(1, &[(MUG, 1)], 1200));
    given(history)
        .when(request_return(1, vec![lq(TEE, 1)]))
        .then_expect_error(OrderError::ReturnIdReused {
            return_id: return_id(1),
        });
}

#[test]
fn refuses_an_empty_or_unexplained_return() {
    given(in_delivered())
        .when(request_return(1, vec![]))
        .then_expect_error(OrderError::EmptyReturn);
    given(in_delivered())
        .when(OrderCommand::RequestReturn {
            return_id: return_id(1),
            lines: vec![ReturnRequestLine {
                note: Some(" ".into()),
                ..return_line(lq(MUG, 1))
            }],
            requested_at: at(20),
            return_window_days: RETURN_WINDOW_DAYS,
        })
        .then_expect_error(OrderError::InvalidNote);
    given(in_delivered())
        .when(request_return(1, vec![lq(MUG, 1), lq(MUG, 1)]))
        .then_expect_error(OrderError::DuplicateSku { sku: sku(MUG) });
}

fn return_received(
    n: u128,
    lines: &[(&str, u32, ReturnCondition)],
    value: i64,
    fee: i64,
) -> OrderEvent {
    let refund = value - fee;
    OrderEvent::OrderReturnReceived {
        order_id: order_id(),
        customer_id: customer(),
        return_id: return_id(n),
        lines: received_lines(lines),
        return_value: eur_amount(value),
        restocking_fee: eur_amount(fee),
        replacements: vec![],
        exchange_credit: eur_amount(0),
        amount_due: eur_amount(0),
        refund_amount: eur_amount(refund),
        refund_id: (refund > 0).then(|| refund_of(return_id(n))),
        payment_id: (refund > 0).then(payment),
        replacement_order_id: None,
    }
}

fn in_return_approved() -> Vec<OrderEvent> {
    let mut history = in_delivered();
    history.push(return_requested(1, &[(MUG, 1), (TEE, 1)], 3700));
    history.push(return_approved(1));
    history
}

#[test]
fn refuses_a_return_once_the_window_closed() {
    given(in_delivered())
        .when(OrderCommand::RequestReturn {
            return_id: return_id(1),
            lines: vec![return_line(lq(MUG, 1))],
            requested_at: at(18) + chrono::Duration::days(31),
            return_window_days: RETURN_WINDOW_DAYS,
        })
        .then_expect_error(OrderError::ReturnWindowClosed {
            delivered_at: at(18),
            closed_at: at(18) + chrono::Duration::days(30),
        });
}

#[test]
fn approves_a_requested_return_once() {
    let mut history = in_delivered();
    history.push(return_requested(1, &[(MUG, 1)], 1200));
    given(history.clone())
        .when(OrderCommand::ApproveReturn {
            return_id: return_id(1),
        })
        .then_expect_events(vec![return_approved(1)]);
    history.push(return_approved(1));
    given(history)
        .when(OrderCommand::ApproveReturn {
            return_id: return_id(1),
        })
        .then_expect_events(vec![]);
}

#[test]
fn a_rejected_return_gives_its_units_back_to_be_returned_again() {
    let mut history = in_delivered();
    history.push(return_requested(1, &[(MUG, 1)], 1200));
    history.push(OrderEvent::OrderReturnRejected {
        order_id: order_id(),
        customer_id: customer(),
        return_id: return_id(1),
        reason: "used".into(),
        lines: vec![lq(MUG, 1)],
    });
    given(history.clone())
        .when(request_return(2, vec![lq(MUG, 2)]))
        .then_expect_events(vec![return_requested(2, &[(MUG, 2)], 2400)]);
    given(history)
        .when(receive_return(1))
        .then_expect_error(OrderError::ReturnNotInState {
            return_id: return_id(1),
            status: "rejected",
            expected: "approved",
        });
}

#[test]
fn refuses_to_receive_a_return_not_approved() {
    let mut history = in_delivered();
    history.push(return_requested(1, &[(MUG, 1)], 1200));
    given(history)
        .when(receive_return(1))
        .then_expect_error(OrderError::ReturnNotInState {
            return_id: return_id(1),
            status: "requested",
            expected: "approved",
        });
}

#[test]
fn receives_an_approved_return_and_holds_its_refund() {
    given(in_return_approved())
        .when(OrderCommand::ReceiveReturn {
            return_id: return_id(1),
            conditions: vec![
                LineCondition {
                    sku: sku(MUG),
                    condition: ReturnCondition::Resellable,
                },
                LineCondition {
                    sku: sku(TEE),
                    condition: ReturnCondition::Damaged,
                },
            ],
            restocking_fee: Some(eur_amount(200)),
        })
        .then_expect_events(vec![return_received(
            1,
            &[
                (MUG, 1, ReturnCondition::Resellable),
                (TEE, 1, ReturnCondition::Damaged),
            ],
            3700,
            200,
        )]);
}

#[test]
fn refuses_a_receipt_without_a_condition_for_every_line_or_with_a_fee_above_the_value() {
    given(in_return_approved())
        .when(receive_return_as(1, &[MUG], ReturnCondition::Resellable))
        .then_expect_error(OrderError::ConditionMissing { sku: sku(TEE) });
    given(in_return_approved())
        .when(receive_return_as(
            1,
            &[MUG, TEE],
            ReturnCondition::Unrecorded,
        ))
        .then_expect_error(OrderError::ConditionMissing { sku: sku(MUG) });
    given(in_return_approved())
        .when(OrderCommand::ReceiveReturn {
            return_id: return_id(1),
            conditions: vec![],
            restocking_fee: Some(eur_amount(3701)),
        })
        .then_expect_error(OrderError::ConditionMissing { sku: sku(MUG) });
    given(in_return_approved())
        .when(OrderCommand::ReceiveReturn {
            return_id: return_id(1),
            conditions: vec![
                LineCondition {
                    sku: sku(MUG),
                    condition: ReturnCondition::Damaged,
                },
                LineCondition {
                    sku: sku(TEE),
                    condition: ReturnCondition::Damaged,
                },
            ],
            restocking_fee: Some(eur_amount(3701)),
        })
        .then_expect_error(OrderError::InvalidRestockingFee {
            fee: eur_amount(3701),
            return_value: eur_amount(3700),
        });
}

/// A delivered order whose return 1 of one mug, asking for `replacement`
/// instead, was approved; and the receipt expected for it, the replacement
/// priced at `price`.
fn exchange_of_a_mug_for(code: &str, price: i64) -> (Vec<OrderEvent>, OrderEvent) {
    let mut history = in_delivered();
    let mut requested = return_requested(1, &[(MUG, 1)], 1200);
    let replacement = Replacement {
        sku: sku(code),
        name: "Another mug".into(),
        unit_price: eur_amount(price),
        quantity: qty(1),
    };
    if let OrderEvent::OrderReturnRequested { lines, .. } = &mut requested {
        lines[0].exchange_for = Some(replacement.clone());
    }
    history.push(requested);
    history.push(return_approved(1));
    let credit = price.min(1200);
    let mut expected = return_received(1, &[(MUG, 1, ReturnCondition::Resellable)], 1200, credit);
    if let OrderEvent::OrderReturnReceived {
        restocking_fee,
        replacements,
        exchange_credit,
        amount_due,
        replacement_order_id,
        ..
    } = &mut expected
    {
        *restocking_fee = eur_amount(0);
        *replacements = vec![replacement];
        *exchange_credit = eur_amount(credit);
        *amount_due = eur_amount(price - credit);
        *replacement_order_id = Some(replacement_of(return_id(1)));
    }
    (history, expected)
}

#[test]
fn an_exchange_at_the_same_price_owes_nothing_either_way() {
    let (history, expected) = exchange_of_a_mug_for("MUG-BLUE", 1200);
    given(history)
        .when(receive_return(1))
        .then_expect_events(vec![expected]);
}

#[test]
fn an_exchange_for_something_cheaper_refunds_the_difference() {
    let (history, expected) = exchange_of_a_mug_for("MUG-MINI", 900);
    let OrderEvent::OrderReturnReceived { refund_amount, .. } = &expected else {
        unreachable!()
    };
    assert_eq!(refund_amount.amount(), 300);
    given(history)
        .when(receive_return(1))
        .then_expect_events(vec![expected]);
}

#[test]
fn refuses_to_receive_an_unknown_return() {
    given(in_delivered())
        .when(receive_return(9))
        .then_expect_error(OrderError::UnknownReturn {
            return_id: return_id(9),
        });
}

#[test]
fn refuses_to_receive_a_return_twice() {
    let mut history = in_delivered();
    history.push(return_requested(1, &[(MUG, 1)], 1200));
    history.push(return_approved(1));
    history.push(return_received(
        1,
        &[(MUG, 1, ReturnCondition::Resellable)],
        1200,
        0,
    ));
    given(history)
        .when(receive_return(1))
        .then_expect_error(OrderError::ReturnAlreadyReceived {
            return_id: return_id(1),
        });
}

// ---------------------------------------------------------------- refunds requested

fn captured(amount: i64, total: i64) -> OrderEvent {
    OrderEvent::OrderPaymentCaptured {
        order_id: order_id(),
        customer_id: customer(),
        payment_id: payment(),
        gateway_reference: crate::payment::GatewayReference::new(format!("cap_{total}")).unwrap(),
        amount: eur_amount(amount),
        captured_total: eur_amount(total),
    }
}

fn request_refund(n: u128, amount: i64) -> OrderCommand {
    OrderCommand::RequestRefund {
        refund_id: refund_id(n),
        amount: eur_amount(amount),
        lines: vec![],
        reason: "late parcel".into(),
        for_what: None,
    }
}

fn refund_requested(n: u128, amount: i64, remaining: i64) -> OrderEvent {
    OrderEvent::OrderRefundRequested {
        order_id: order_id(),
        customer_id: customer(),
        refund_id: refund_id(n),
        payment_id: payment(),
        amount: eur_amount(amount),
        lines: vec![],
        reason: "late parcel".into(),
        for_what: RefundFor::Goodwill,
        refundable_remaining: eur_amount(remaining),
    }
}

#[test]
fn records_a_capture_once_and_refuses_captures_beyond_the_authorization() {
    let capture = |reference: &str, amount: i64| OrderCommand::RecordPaymentCaptured {
        payment_id: payment(),
        gateway_reference: crate::payment::GatewayReference::new(reference).unwrap(),
        amount: eur_amount(amount),
    };
    given(in_partially_shipped())
        .when(capture("cap_1200", 1200))
        .then_expect_events(vec![captured(1200, 1200)]);
    let mut history = in_partially_shipped();
    history.push(captured(1200, 1200));
    given(history.clone())
        .when(capture("cap_1200", 1200))
        .then_expect_events(vec![]);
    given(history)
        .when(capture("cap_2", 4201))
        .then_expect_error(OrderError::CaptureExceedsAuthorized {
            captured: eur_amount(5401),
            authorized: total(),
        });
}

#[test]
fn a_refund_request_holds_what_it_takes_of_the_captured_amount() {
    let mut history = in_shipped();
    history.push(captured(1200, 1200));
    given(history.clone())
        .when(request_refund(1, 1201))
        .then_expect_error(OrderError::RefundExceedsCaptured {
            requested: eur_amount(1201),
            refundable: eur_amount(1200),
        });
    given(history.clone())
        .when(request_refund(1, 1000))
        .then_expect_events(vec![refund_requested(1, 1000, 200)]);
    history.push(refund_requested(1, 1000, 200));
    // The held 10 € are gone for a second refund, before the first is recorded.
    given(history.clone())
        .when(request_refund(2, 201))
        .then_expect_error(OrderError::RefundExceedsCaptured {
            requested: eur_amount(201),
            refundable: eur_amount(200),
        });
    given(history.clone())
        .when(request_refund(1, 1000))
        .then_expect_events(vec![]);
    let mut recorded = refund_recorded(1, 1000, vec![], 1000);
    if let OrderEvent::OrderRefundRecorded { for_what, .. } = &mut recorded {
        *for_what = RefundFor::Goodwill;
    }
    given(history)
        .when(refund(1, eur_amount(1000), vec![]))
        .then_expect_events(vec![recorded]);
}

#[test]
fn refuses_to_record_a_requested_refund_with_other_figures() {
    let mut history = in_shipped();
    history.push(captured(1200, 1200));
    history.push(refund_requested(1, 1000, 200));
    given(history)
        .when(refund(1, eur_amount(999), vec![]))
        .then_expect_error(OrderError::RefundIdReused {
            refund_id: refund_id(1),
        });
}

// ---------------------------------------------------------------- refunds

#[test]
fn records_a_refund_with_the_running_total() {
    let mut history = in_delivered();
    history.push(refund_recorded(1, 1200, vec![lq(MUG, 1)], 1200));
    given(history)
        .when(refund(2, eur_amount(500), vec![]))
        .then_expect_events(vec![refund_recorded(2, 500, vec![], 1700)]);
}

#[test]
fn records_a_refund_after_cancellation() {
    given(in_cancelled_after_payment())
        .when(refund(1, total(), vec![]))
        .then_expect_events(vec![refund_recorded(1, 5400, vec![], 5400)]);
}

#[test]
fn a_repeated_refund_is_a_no_op() {
    let mut history = in_confirmed();
    history.push(refund_recorded(1, 1200, vec![lq(MUG, 1)], 1200));
    given(history)
        .when(refund(1, eur_amount(1200), vec![lq(MUG, 1)]))
        .then_expect_events(vec![]);
}

#[test]
fn refuses_a_reused_refund_id_with_other_figures() {
    let mut history = in_confirmed();
    history.push(refund_recorded(1, 1200, vec![lq(MUG, 1)], 1200));
    given(history)
        .when(refund(1, eur_amount(1300), vec![lq(MUG, 1)]))
        .then_expect_error(OrderError::RefundIdReused {
            refund_id: refund_id(1),
        });
}

#[test]
fn refuses_to_refund_more_than_was_paid() {
    let mut history = in_delivered();
    history.push(refund_recorded(1, 5000, vec![], 5000));
    given(history)
        .when(refund(2, eur_amount(401), vec![]))
        .then_expect_error(OrderError::RefundExceedsPaid {
            requested: eur_amount(401),
            refundable: eur_amount(400),
        });
}

#[test]
fn refuses_a_refund_to_another_payment() {
    given(in_confirmed())
        .when(OrderCommand::RecordRefund {
            refund_id: refund_id(1),
            payment_id: other_payment(),
            amount: eur_amount(100),
            lines: vec![],
            for_what: None,
        })
        .then_expect_error(OrderError::UnknownPayment {
            payment_id: other_payment(),
        });
}

#[test]
fn refuses_a_refund_that_is_not_a_positive_amount_of_the_order_currency() {
    for amount in [0, -1] {
        given(in_confirmed())
            .when(refund(1, eur_amount(amount), vec![]))
            .then_expect_error(OrderError::InvalidRefundAmount {
                amount: eur_amount(amount),
            });
    }
    given(in_confirmed())
        .when(refund(1, usd_amount(100), vec![]))
        .then_expect_error(OrderError::CurrencyMismatch {
            expected: eur(),
            found: Currency::new("USD").unwrap(),
        });
}

#[test]
fn refuses_refund_lines_beyond_what_was_ordered() {
    let mut history = in_delivered();
    history.push(refund_recorded(1, 1200, vec![lq(MUG, 1)], 1200));
    given(history)
        .when(refund(2, eur_amount(100), vec![lq(MUG, 2)]))
        .then_expect_error(OrderError::ExceedsRefundableQuantity {
            sku: sku(MUG),
            requested: 2,
            refundable: 1,
        });
    given(in_delivered())
        .when(refund(2, eur_amount(100), vec![lq("SOCKS", 1)]))
        .then_expect_error(OrderError::UnknownSku { sku: sku("SOCKS") });
}

#[test]
fn refuses_a_refund_before_confirmation() {
    given(in_placed())
        .when(refund(1, eur_amount(100), vec![]))
        .then_expect_error(illegal(OrderStatus::Placed, "record a refund for"));
    given(in_awaiting_payment_paid())
        .when(refund(1, eur_amount(100), vec![]))
        .then_expect_error(illegal(OrderStatus::AwaitingPayment, "record a refund for"));
}

#[test]
fn refuses_a_refund_of_a_cancelled_order_never_paid() {
    given(in_cancelled())
        .when(refund(1, eur_amount(100), vec![]))
        .then_expect_error(OrderError::NoPaymentToRefund {
            state: OrderStatus::Cancelled,
        });
}

// ---------------------------------------------------------------- shapes

#[test]
fn illegal_transitions_name_the_current_state() {
    let error = illegal(OrderStatus::AwaitingPayment, "ship");
    assert_eq!(
        error.to_string(),
        "cannot ship an order in state awaiting_payment"
    );
    assert_eq!(error.code(), "illegal_transition");
    assert!(OrderError::AlreadyShipped {
        state: OrderStatus::PartiallyShipped
    }
    .to_string()
    .contains("partially_shipped"));
}

#[test]
fn error_codes_are_distinct_snake_case() {
    let money = eur_amount(1);
    let samples = [
        OrderError::NotFound,
        OrderError::AlreadyExists,
        illegal(OrderStatus::Placed, "ship"),
        OrderError::EmptyOrder,
        OrderError::DuplicateSku { sku: sku(MUG) },
        OrderError::CurrencyMismatch {
            expected: eur(),
            found: eur(),
        },
        OrderError::NegativePrice { sku: sku(MUG) },
        OrderError::NegativeShippingCost,
        OrderError::AmountTooLarge,
        OrderError::UnknownSku { sku: sku(MUG) },
        OrderError::StockAlreadyRecorded {
            sku: sku(MUG),
            recorded: "reserved",
        },
        OrderError::PaymentAlreadyAuthorized {
            payment_id: payment(),
        },
        OrderError::PaymentAlreadyFailed {
            payment_id: payment(),
        },
        OrderError::PaymentAmountMismatch {
            expected: money,
            authorized: money,
        },
        OrderError::PaymentNotAuthorized {
            state: OrderStatus::AwaitingPayment,
        },
        OrderError::EmptyShipment,
        OrderError::ShipmentIdReused {
            shipment_id: shipment(1),
        },
        OrderError::InvalidCarrier,
        OrderError::InvalidTrackingNumber,
        OrderError::ExceedsUnshipped {
            sku: sku(MUG),
            requested: 1,
            unshipped: 0,
        },
        OrderError::AlreadyShipped {
            state: OrderStatus::Shipped,
        },
        OrderError::InvalidReason,
        OrderError::NoLinesToCancel,
        OrderError::WouldCancelWholeOrder {
            state: OrderStatus::Confirmed,
        },
        OrderError::EmptyReturn,
        OrderError::ReturnIdReused {
            return_id: return_id(1),
        },
        OrderError::ExceedsReturnable {
            sku: sku(MUG),
            requested: 1,
            returnable: 0,
        },
        OrderError::UnknownReturn {
            return_id: return_id(1),
        },
        OrderError::ReturnAlreadyReceived {
            return_id: return_id(1),
        },
        OrderError::NoPaymentToRefund {
            state: OrderStatus::Cancelled,
        },
        OrderError::UnknownPayment {
            payment_id: payment(),
        },
        OrderError::InvalidRefundAmount { amount: money },
        OrderError::RefundExceedsPaid {
            requested: money,
            refundable: money,
        },
        OrderError::RefundIdReused {
            refund_id: refund_id(1),
        },
        OrderError::ExceedsRefundableQuantity {
            sku: sku(MUG),
            requested: 1,
            refundable: 0,
        },
    ];
    let codes: std::collections::BTreeSet<&str> = samples.iter().map(OrderError::code).collect();
    assert_eq!(codes.len(), samples.len(), "two variants share a code");
    for code in codes {
        assert!(
            code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{code}"
        );
    }
}

#[test]
fn commands_refuse_unknown_fields() {
    let ok = serde_json::json!({"CancelOrder": {"reason": "r", "cancelled_by": "admin"}});
    assert!(serde_json::from_value::<OrderCommand>(ok).is_ok());
    let extra = serde_json::json!({"CancelOrder": {"reason": "r", "cancelled_by": "admin", "refund": true}});
    assert!(serde_json::from_value::<OrderCommand>(extra).is_err());
    let line_extra = serde_json::json!({"CancelOrderLines": {"reason": "r",
        "lines": [{"sku": "MUG-1", "quantity": 1, "price": 3}]}});
    assert!(serde_json::from_value::<OrderCommand>(line_extra).is_err());
    let confirm = serde_json::json!({"ConfirmOrder": {}});
    assert_eq!(OrderCommand::ConfirmOrder {}.name(), "ConfirmOrder");
    assert_eq!(
        serde_json::from_value::<OrderCommand>(confirm).unwrap(),
        OrderCommand::ConfirmOrder {}
    );
}

#[test]
fn state_survives_a_snapshot_round_trip() {
    let mut order = Order::default();
    let mut history = in_delivered();
    history.push(return_requested(1, &[(MUG, 1)], 1200));
    history.push(refund_recorded(1, 1200, vec![lq(MUG, 1)], 1200));
    for event in history {
        cqrs_es::Aggregate::apply(&mut order, event);
    }
    let json = serde_json::to_value(&order).unwrap();
    assert_eq!(serde_json::from_value::<Order>(json).unwrap(), order);
    assert_eq!(order.status(), Some(OrderStatus::Delivered));
}

// ---------------------------------------------------------------- replacements

fn replaces(credit: i64) -> Replaces {
    Replaces {
        order_id: OrderId::new(Uuid::from_u128(77)),
        return_id: return_id(1),
        credit: eur_amount(credit),
    }
}

fn place_replacement(credit: i64) -> OrderCommand {
    let mut command = place();
    if let OrderCommand::PlaceOrder { replaces: r, .. } = &mut command {
        *r = Some(replaces(credit));
    }
    command
}

#[test]
fn a_replacement_order_takes_its_return_s_credit_off_the_total() {
    let mut expected = placed();
    if let OrderEvent::OrderPlaced {
        total, replaces: r, ..
    } = &mut expected
    {
        *total = eur_amount(5400 - 5000);
        *r = Some(replaces(5000));
    }
    given(vec![])
        .when(place_replacement(5000))
        .then_expect_events(vec![expected]);
    given(vec![])
        .when(place_replacement(5401))
        .then_expect_error(OrderError::InvalidCredit {
            credit: eur_amount(5401),
            total: total(),
        });
}

#[test]
fn a_replacement_with_nothing_to_pay_is_confirmed_without_a_payment() {
    let mut placed = placed();
    let mut fully = fully_reserved();
    if let OrderEvent::OrderPlaced {
        total, replaces: r, ..
    } = &mut placed
    {
        *total = eur_amount(0);
        *r = Some(replaces(5400));
    }
    if let OrderEvent::OrderFullyReserved { total, .. } = &mut fully {
        *total = eur_amount(0);
    }
    given(vec![
        placed,
        stock_reserved(MUG, 2, 1),
        stock_reserved(TEE, 1, 0),
        fully,
    ])
    .when(OrderCommand::ConfirmOrder {})
    .then_expect_events(vec![OrderEvent::OrderConfirmed {
        order_id: order_id(),
        customer_id: customer(),
        payment_id: None,
        total: eur_amount(0),
    }]);
}

#[test]
fn an_exchange_for_something_dearer_leaves_the_difference_to_pay() {
    let (history, expected) = exchange_of_a_mug_for("MUG-XL", 1500);
    let OrderEvent::OrderReturnReceived {
        amount_due,
        refund_amount,
        ..
    } = &expected
    else {
        unreachable!()
    };
    assert_eq!((amount_due.amount(), refund_amount.amount()), (300, 0));
    given(history)
        .when(receive_return(1))
        .then_expect_events(vec![expected]);
}

// ---------------------------------------------------------------- edits

fn state_after(history: Vec<OrderEvent>) -> Order {
    let mut order = Order::default();
    for event in history {
        cqrs_es::Aggregate::apply(&mut order, event);
    }
    order
}

fn edit_id() -> EditId {
    EditId::new(Uuid::from_u128(90))
}

fn edit(changes: Vec<LineEdit>) -> OrderCommand {
    OrderCommand::EditOrder {
        edit_id: edit_id(),
        changes,
        reason: "asked by phone".into(),
        edited_by: "admin-7".into(),
    }
}

/// Two mugs become three, and a 3.00 sticker joins: 54.00 + 12.00 + 3.00.
fn raise_and_add() -> Vec<LineEdit> {
    vec![
        LineEdit::SetQuantity {
            sku: sku(MUG),
            quantity: qty(3),
        },
        LineEdit::AddLine {
            sku: sku("STICKER"),
            name: "Sticker".into(),
            unit_price: eur_amount(300),
            quantity: qty(1),
        },
    ]
}

fn edited() -> OrderEvent {
    OrderEvent::OrderEdited {
        order_id: order_id(),
        customer_id: customer(),
        edit_id: edit_id(),
        edited_by: "admin-7".into(),
        reason: "asked by phone".into(),
        lines: vec![
            EditedLine {
                sku: sku(MUG),
                name: name_of(MUG),
                unit_price: price_of(MUG),
                ordered_before: 2,
                ordered_after: 3,
            },
            EditedLine {
                sku: sku("STICKER"),
                name: "Sticker".into(),
                unit_price: eur_amount(300),
                ordered_before: 0,
                ordered_after: 1,
            },
        ],
        total_before: total(),
        total_after: eur_amount(5400 + 1200 + 300),
        payment_id: payment(),
    }
}

#[test]
fn edits_a_confirmed_order_with_the_totals_before_and_after() {
    given(in_confirmed())
        .when(edit(raise_and_add()))
        .then_expect_events(vec![edited()]);
}

#[test]
fn a_pending_edit_holds_back_shipping_and_cancelling_until_it_settles() {
    let mut history = in_confirmed();
    history.push(edited());
    let pending = OrderError::EditPending { edit_id: edit_id() };
    given(history.clone())
        .when(ship(1, vec![lq(MUG, 1)]))
        .then_expect_error(pending.clone());
    given(history.clone())
        .when(cancel())
        .then_expect_error(pending.clone());
    given(history.clone())
        .when(edit(raise_and_add()))
        .then_expect_error(pending);
    given(history.clone())
        .when(OrderCommand::RecordEditSettled { edit_id: edit_id() })
        .then_expect_events(vec![OrderEvent::OrderEditSettled {
            order_id: order_id(),
            customer_id: customer(),
            edit_id: edit_id(),
            amount_authorized: eur_amount(6900),
        }]);
    history.push(OrderEvent::OrderEditSettled {
        order_id: order_id(),
        customer_id: customer(),
        edit_id: edit_id(),
        amount_authorized: eur_amount(6900),
    });
    let order = state_after(history.clone());
    let placed = order.placed().unwrap();
    assert_eq!(placed.lines.len(), 3);
    assert_eq!(placed.lines[0].ordered.get(), 3);
    assert_eq!(placed.total_after_cancellations, eur_amount(6900));
    assert_eq!(placed.payment.as_ref().unwrap().amount, eur_amount(6900));
    // Settled: it ships, all three mugs included.
    let mut expected = shipped(1, &[(MUG, 3, 3, 0), ("STICKER", 1, 1, 0)], false);
    if let OrderEvent::OrderShipped { lines, .. } = &mut expected {
        lines[1].name = "Sticker".into();
    }
    given(history)
        .when(ship(1, vec![lq(MUG, 3), lq("STICKER", 1)]))
        .then_expect_events(vec![expected]);
}

#[test]
fn a_reverted_edit_puts_the_lines_and_totals_back() {
    let mut history = in_confirmed();
    history.push(edited());
    let command = OrderCommand::RevertEdit {
        edit_id: edit_id(),
        reason: "STICKER is out of stock".into(),
    };
    let mut state = state_after(history);
    let decided = state.decide(command).unwrap();
    assert!(
        matches!(&decided[..], [OrderEvent::OrderEditReverted { total_after, .. }] if *total_after == total())
    );
    for event in decided {
        cqrs_es::Aggregate::apply(&mut state, event);
    }
    let placed = state.placed().unwrap();
    assert_eq!(placed.lines.len(), 2, "the added line is gone");
    assert_eq!(placed.lines[0].ordered.get(), 2);
    assert_eq!(placed.total_after_cancellations, total());
    assert_eq!(placed.total, total());
    assert!(placed.pending_edit.is_none());
}

#[test]
fn refuses_edits_after_shipping_and_quantities_that_change_nothing() {
    given(in_partially_shipped())
        .when(edit(raise_and_add()))
        .then_expect_error(illegal(OrderStatus::PartiallyShipped, "edit"));
    given(in_confirmed())
        .when(edit(vec![LineEdit::SetQuantity {
            sku: sku(MUG),
            quantity: qty(2),
        }]))
        .then_expect_error(OrderError::InvalidEditQuantity {
            sku: sku(MUG),
            requested: 2,
            ordered: 2,
            cancelled: 0,
        });
    given(in_confirmed())
        .when(edit(vec![LineEdit::AddLine {
            sku: sku(MUG),
            name: "Mug".into(),
            unit_price: eur_amount(1),
            quantity: qty(1),
        }]))
        .then_expect_error(OrderError::LineExists { sku: sku(MUG) });
    given(in_confirmed())
        .when(edit(vec![]))
        .then_expect_error(OrderError::EmptyEdit);
}

#[test]
fn refuses_a_refund_while_units_remain_to_ship() {
    let mut history = in_partially_shipped();
    history.push(captured(1200, 1200));
    given(history)
        .when(request_refund(1, 100))
        .then_expect_error(OrderError::RefundBeforeFullyShipped);
}

/// A guest's order: placed without a customer.
fn placed_by_a_guest() -> OrderEvent {
    let mut event = placed();
    if let OrderEvent::OrderPlaced { customer_id, .. } = &mut event {
        *customer_id = None;
    }
    event
}

#[test]
fn a_guest_s_data_is_erased_once_and_a_customer_s_order_is_erased_with_the_customer() {
    TestFramework::<Order>::with(())
        .given(vec![placed_by_a_guest()])
        .when(OrderCommand::EraseGuestData { erased_at: at(12) })
        .then_expect_events(vec![OrderEvent::OrderGuestDataErased {
            order_id: order_id(),
            erased_at: at(12),
        }]);
    TestFramework::<Order>::with(())
        .given(vec![
            placed_by_a_guest(),
            OrderEvent::OrderGuestDataErased {
                order_id: order_id(),
                erased_at: at(12),
            },
        ])
        .when(OrderCommand::EraseGuestData { erased_at: at(13) })
        .then_expect_events(vec![]);
    TestFramework::<Order>::with(())
        .given(vec![placed()])
        .when(OrderCommand::EraseGuestData { erased_at: at(12) })
        .then_expect_error(OrderError::OrderHasCustomer);
    let mut order = Order::default();
    cqrs_es::Aggregate::apply(&mut order, placed_by_a_guest());
    cqrs_es::Aggregate::apply(
        &mut order,
        OrderEvent::OrderGuestDataErased {
            order_id: order_id(),
            erased_at: at(12),
        },
    );
    let placed = order.placed().unwrap();
    assert_eq!(placed.email.as_str(), crate::personal::ERASED_EMAIL);
    assert_eq!(
        placed.shipping_address.fields().name,
        crate::personal::ERASED_TEXT
    );
}
