//! Property tests: whatever mix of shipments, line cancellations, deliveries,
//! returns, refunds and cancellations is thrown at a confirmed order, accepted or
//! refused, its per-line figures and its refunds stay within bounds, and the
//! figures the events announce are the ones the state ends up with.

use chrono::{TimeZone, Utc};
use cqrs_es::Aggregate;
use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use crate::shared::{
    CartId, Currency, Email, LineItem, Money, OrderId, PaymentId, PostalAddress,
    PostalAddressFields, Quantity, Sku,
};

#[derive(Debug, Clone)]
enum Action {
    Ship(u8, Vec<(usize, u32)>),
    CancelLines(Vec<(usize, u32)>),
    Deliver,
    RequestReturn(u8, Vec<(usize, u32)>),
    ApproveReturn(u8),
    ReceiveReturn(u8),
    Refund(u8, i64, Vec<(usize, u32)>),
    Cancel,
}

/// Line indexes (taken modulo the number of lines, repeats dropped) and quantities;
/// sometimes none, to exercise the refusals of empty commands.
fn picks() -> impl Strategy<Value = Vec<(usize, u32)>> {
    proptest::collection::vec((0usize..3, 1u32..4), 0..4)
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        6 => (0u8..6, picks()).prop_map(|(n, lines)| Action::Ship(n, lines)),
        2 => picks().prop_map(Action::CancelLines),
        3 => Just(Action::Deliver),
        3 => (0u8..4, picks()).prop_map(|(n, lines)| Action::RequestReturn(n, lines)),
        2 => (0u8..4).prop_map(Action::ApproveReturn),
        2 => (0u8..4).prop_map(Action::ReceiveReturn),
        3 => (0u8..6, 1i64..30_000, picks()).prop_map(|(n, amount, lines)| Action::Refund(n, amount, lines)),
        1 => Just(Action::Cancel),
    ]
}

/// `(unit price, quantity)` of up to three lines.
fn order_lines() -> impl Strategy<Value = Vec<(i64, u32)>> {
    proptest::collection::vec((0i64..10_000, 1u32..6), 1..4)
}

fn eur() -> Currency {
    Currency::new("EUR").unwrap()
}

fn sku_of(index: usize) -> Sku {
    Sku::new(format!("SKU-{index}")).unwrap()
}

fn payment() -> PaymentId {
    PaymentId::new(Uuid::from_u128(4))
}

fn place(lines: &[(i64, u32)], shipping: i64) -> OrderCommand {
    OrderCommand::PlaceOrder {
        order_id: OrderId::new(Uuid::from_u128(1)),
        cart_id: CartId::new(Uuid::from_u128(2)),
        customer_id: None,
        email: Email::new("a@b.co").unwrap(),
        shipping_address: PostalAddress::new(PostalAddressFields {
            name: "A".into(),
            line1: "B".into(),
            line2: None,
            city: "C".into(),
            postal_code: "D".into(),
            region: None,
            country: "DE".into(),
        })
        .unwrap(),
        lines: lines
            .iter()
            .enumerate()
            .map(|(i, (price, quantity))| LineItem {
                sku: sku_of(i),
                name: format!("item {i}"),
                unit_price: Money::new(*price, eur()),
                quantity: Quantity::new(*quantity).unwrap(),
            })
            .collect(),
        shipping_cost: Money::new(shipping, eur()),
        placed_at: Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap(),
        pricing: None,
        replaces: None,
    }
}

/// Runs a command and applies what it decided; refusals leave the order as it was.
fn run(order: &mut Order, command: OrderCommand) -> Result<Vec<OrderEvent>, OrderError> {
    let events = order.decide(command)?;
    for event in &events {
        order.apply(event.clone());
    }
    Ok(events)
}

fn confirmed_order(lines: &[(i64, u32)], shipping: i64) -> Order {
    let mut order = Order::default();
    run(&mut order, place(lines, shipping)).unwrap();
    for i in 0..lines.len() {
        run(
            &mut order,
            OrderCommand::RecordStockReserved { sku: sku_of(i) },
        )
        .unwrap();
    }
    let total = order.placed().unwrap().total;
    run(
        &mut order,
        OrderCommand::RecordPaymentAuthorized {
            payment_id: payment(),
            amount: total,
        },
    )
    .unwrap();
    run(&mut order, OrderCommand::ConfirmOrder {}).unwrap();
    assert_eq!(order.status(), Some(OrderStatus::Confirmed));
    order
}

fn line_quantities(picks: &[(usize, u32)], line_count: usize) -> Vec<LineQuantity> {
    let mut taken = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (index, quantity) in picks {
        if seen.insert(index % line_count) {
            taken.push(LineQuantity {
                sku: sku_of(index % line_count),
                quantity: Quantity::new(*quantity).unwrap(),
            });
        }
    }
    taken
}

fn command_for(action: Action, line_count: usize) -> OrderCommand {
    let at = Utc.with_ymd_and_hms(2024, 1, 2, 0, 0, 0).unwrap();
    match action {
        Action::Ship(n, picks) => OrderCommand::ShipOrder {
            shipment_id: ShipmentId::new(Uuid::from_u128(100 + u128::from(n))),
            lines: line_quantities(&picks, line_count),
            carrier: "DHL".into(),
            tracking_number: format!("T{n}"),
            shipped_at: at,
        },
        Action::CancelLines(picks) => OrderCommand::CancelOrderLines {
            lines: line_quantities(&picks, line_count),
            reason: "gone".into(),
            cancelled_by: CancelledBy::Admin,
        },
        Action::Deliver => OrderCommand::DeliverOrder { delivered_at: at },
        Action::RequestReturn(n, picks) => OrderCommand::RequestReturn {
            return_id: ReturnId::new(Uuid::from_u128(200 + u128::from(n))),
            lines: line_quantities(&picks, line_count)
                .into_iter()
                .map(|line| ReturnRequestLine {
                    sku: line.sku,
                    quantity: line.quantity,
                    reason: ReturnReason::Defective,
                    note: None,
                    exchange_for: None,
                })
                .collect(),
            requested_at: at,
            return_window_days: 30,
        },
        Action::ApproveReturn(n) => OrderCommand::ApproveReturn {
            return_id: ReturnId::new(Uuid::from_u128(200 + u128::from(n))),
        },
        Action::ReceiveReturn(n) => OrderCommand::ReceiveReturn {
            return_id: ReturnId::new(Uuid::from_u128(200 + u128::from(n))),
            // Every line of the order: those not in the return are refused, so a
            // receipt only passes when the return holds every line.
            conditions: (0..line_count)
                .map(|i| LineCondition {
                    sku: Sku::new(format!("SKU-{i}")).unwrap(),
                    condition: ReturnCondition::Resellable,
                })
                .collect(),
            restocking_fee: None,
        },
        Action::Refund(n, amount, picks) => OrderCommand::RecordRefund {
            refund_id: RefundId::new(Uuid::from_u128(300 + u128::from(n))),
            payment_id: payment(),
            amount: Money::new(amount, eur()),
            lines: line_quantities(&picks, line_count),
            for_what: None,
        },
        Action::Cancel => OrderCommand::CancelOrder {
            reason: "no longer needed".into(),
            cancelled_by: CancelledBy::Admin,
        },
    }
}

fn check_invariants(order: &PlacedOrder) -> Result<(), TestCaseError> {
    for line in &order.lines {
        let ordered = line.ordered.get();
        prop_assert!(line.shipped + line.cancelled <= ordered, "{line:?}");
        prop_assert!(line.returned <= line.return_requested, "{line:?}");
        prop_assert!(line.return_requested <= line.shipped, "{line:?}");
        prop_assert!(line.refunded <= ordered, "{line:?}");
        if line.return_requested > 0 {
            prop_assert_eq!(order.status, OrderStatus::Delivered);
        }
    }
    let unshipped: u32 = order.lines.iter().map(OrderLine::unshipped).sum();
    let shipped: u32 = order.lines.iter().map(|l| l.shipped).sum();
    match order.status {
        OrderStatus::Shipped | OrderStatus::Delivered => prop_assert_eq!(unshipped, 0),
        OrderStatus::PartiallyShipped => prop_assert!(shipped > 0 && unshipped > 0),
        OrderStatus::Confirmed | OrderStatus::Cancelled => prop_assert_eq!(shipped, 0),
        OrderStatus::Placed | OrderStatus::AwaitingPayment => {
            prop_assert!(false, "went back to {}", order.status)
        }
    }
    let refunded: i64 = order.refunds.iter().map(|r| r.amount.amount()).sum();
    prop_assert_eq!(refunded, order.refunded_total.amount());
    prop_assert!(order.refunded_total.amount() <= order.total.amount());
    let cancelled_value: i64 = order
        .lines
        .iter()
        .map(|l| l.unit_price.amount() * i64::from(l.cancelled))
        .sum();
    prop_assert_eq!(
        order.total_after_cancellations.amount(),
        order.total.amount() - cancelled_value
    );
    Ok(())
}

/// The figures an event announces are the figures the state holds after it.
fn check_announced(order: &PlacedOrder, events: &[OrderEvent]) -> Result<(), TestCaseError> {
    let line = |sku: &Sku| order.lines.iter().find(|l| &l.sku == sku).unwrap();
    for event in events {
        match event {
            OrderEvent::OrderShipped {
                lines,
                status_after,
                fully_shipped,
                ..
            } => {
                prop_assert_eq!(*status_after, order.status);
                prop_assert_eq!(*fully_shipped, order.status == OrderStatus::Shipped);
                for shipped in lines {
                    prop_assert_eq!(shipped.shipped_after, line(&shipped.sku).shipped);
                    prop_assert_eq!(shipped.remaining_to_ship, line(&shipped.sku).unshipped());
                }
            }
            OrderEvent::OrderLinesCancelled {
                lines,
                status_after,
                order_total_after,
                ..
            } => {
                prop_assert_eq!(*status_after, order.status);
                prop_assert_eq!(*order_total_after, order.total_after_cancellations);
                for cancelled in lines {
                    prop_assert_eq!(cancelled.cancelled_after, line(&cancelled.sku).cancelled);
                    prop_assert_eq!(
                        cancelled.remaining_to_ship,
                        line(&cancelled.sku).unshipped()
                    );
                }
            }
            OrderEvent::OrderRefundRecorded {
                refunded_total,
                refundable_remaining,
                ..
            } => {
                prop_assert_eq!(*refunded_total, order.refunded_total);
                prop_assert_eq!(
                    refundable_remaining.amount(),
                    order.total.amount() - refunded_total.amount()
                );
            }
            OrderEvent::OrderCancelled {
                amount_to_release, ..
            } => {
                let unrefunded = order.total.amount() - order.refunded_total.amount();
                prop_assert!(amount_to_release.amount() >= 0);
                prop_assert!(amount_to_release.amount() <= unrefunded);
            }
            _ => {}
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn quantities_and_refunds_stay_within_bounds(
        lines in order_lines(),
        shipping in 0i64..1_000,
        actions in proptest::collection::vec(action(), 0..40),
    ) {
        let mut order = confirmed_order(&lines, shipping);
        for action in actions {
            let before = order.clone();
            match run(&mut order, command_for(action, lines.len())) {
                Ok(events) => {
                    let placed = order.placed().unwrap();
                    check_invariants(placed)?;
                    check_announced(placed, &events)?;
                }
                Err(_) => prop_assert_eq!(&order, &before),
            }
        }
    }

    #[test]
    fn total_is_the_sum_of_line_totals_plus_shipping(
        lines in order_lines(),
        shipping in 0i64..1_000,
    ) {
        let events = Order::default().decide(place(&lines, shipping)).unwrap();
        let expected_subtotal: i64 = lines.iter().map(|(p, q)| p * i64::from(*q)).sum();
        let OrderEvent::OrderPlaced { subtotal, total, lines: placed, .. } = &events[0] else {
            panic!("expected OrderPlaced, got {events:?}");
        };
        prop_assert_eq!(subtotal.amount(), expected_subtotal);
        prop_assert_eq!(total.amount(), expected_subtotal + shipping);
        for (line, (price, quantity)) in placed.iter().zip(&lines) {
            prop_assert_eq!(line.line_total.amount(), price * i64::from(*quantity));
        }
    }

    #[test]
    fn redelivered_process_manager_commands_change_nothing(lines in order_lines()) {
        let mut order = confirmed_order(&lines, 0);
        let total = order.placed().unwrap().total;
        let mut repeats = vec![
            OrderCommand::RecordPaymentAuthorized { payment_id: payment(), amount: total },
            OrderCommand::ConfirmOrder {},
        ];
        repeats.extend((0..lines.len()).map(|i| OrderCommand::RecordStockReserved { sku: sku_of(i) }));
        for command in repeats {
            prop_assert_eq!(run(&mut order, command), Ok(vec![]));
        }
    }
}
