//! Property tests: random mixes of commands, refused ones included, never break the
//! stock invariant, and low stock is reported exactly once per crossing.

use chrono::{DateTime, Duration, TimeZone, Utc};
use cqrs_es::Aggregate;
use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use crate::shared::{OrderId, Quantity, Sku};

fn at(hour: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 5, 1, 0, 0, 0).unwrap() + Duration::hours(hour)
}

fn order(n: u8) -> OrderId {
    OrderId::new(Uuid::from_u128(u128::from(n)))
}

fn qty(n: u32) -> Quantity {
    Quantity::new(n).unwrap()
}

const ADJUSTMENT_REASONS: [AdjustmentReason; 7] = [
    AdjustmentReason::Damaged,
    AdjustmentReason::Lost,
    AdjustmentReason::Stolen,
    AdjustmentReason::Found,
    AdjustmentReason::Returned,
    AdjustmentReason::Recount,
    AdjustmentReason::Correction,
];

const RELEASE_REASONS: [ReleaseReason; 4] = [
    ReleaseReason::Expired,
    ReleaseReason::OrderCancelled,
    ReleaseReason::PaymentFailed,
    ReleaseReason::Other,
];

/// Small numbers and few orders, so that refusals, repeats, partial commits and
/// threshold crossings all happen often.
fn command() -> impl Strategy<Value = InventoryCommand> {
    let orders = 0u8..5;
    prop_oneof![
        3 => (1u32..30).prop_map(|q| InventoryCommand::ReceiveStock {
            quantity: qty(q),
            reference: "PO".into(),
        }),
        2 => (-40i64..=40, 0..ADJUSTMENT_REASONS.len()).prop_map(|(delta, r)| {
            InventoryCommand::AdjustStock {
                delta,
                reason: ADJUSTMENT_REASONS[r],
                note: String::new(),
            }
        }),
        4 => (orders.clone(), 1u32..25, 0i64..24).prop_map(|(o, q, h)| {
            InventoryCommand::ReserveStock {
                order_id: order(o),
                quantity: qty(q),
                expires_at: at(h),
            }
        }),
        2 => (orders.clone(), 0..RELEASE_REASONS.len()).prop_map(|(o, r)| {
            InventoryCommand::ReleaseReservation {
                order_id: order(o),
                reason: RELEASE_REASONS[r],
                quantity: None,
            }
        }),
        2 => (orders, proptest::option::of(1u32..25)).prop_map(|(o, q)| {
            InventoryCommand::CommitReservation {
                order_id: order(o),
                quantity: q.map(qty),
            }
        }),
        1 => (0i64..30).prop_map(|h| InventoryCommand::ExpireReservations { now: at(h) }),
        1 => (0u64..5).prop_map(|t| InventoryCommand::RegisterSku {
            sku: Sku::new("OTHER").unwrap(),
            low_stock_threshold: t,
        }),
    ]
}

/// Registers a SKU with `threshold`, then runs `commands`; returns every event
/// recorded, checking the invariant after each.
fn run(
    threshold: u64,
    commands: Vec<InventoryCommand>,
) -> Result<Vec<InventoryEvent>, TestCaseError> {
    let mut inventory = Inventory::default();
    let mut history = Vec::new();
    let register = InventoryCommand::RegisterSku {
        sku: Sku::new("MUG-1").unwrap(),
        low_stock_threshold: threshold,
    };
    for command in std::iter::once(register).chain(commands) {
        let Ok(events) = inventory.decide(command) else {
            continue;
        };
        for event in events {
            inventory.apply(event.clone());
            check_invariant(&inventory, &event)?;
            history.push(event);
        }
    }
    Ok(history)
}

fn check_invariant(inventory: &Inventory, event: &InventoryEvent) -> Result<(), TestCaseError> {
    let (on_hand, reserved, available) = event.levels_after();
    prop_assert!(
        reserved <= on_hand,
        "reserved {reserved} > on hand {on_hand}"
    );
    prop_assert_eq!(available, on_hand - reserved);
    prop_assert_eq!(
        (
            inventory.on_hand(),
            inventory.reserved(),
            inventory.available()
        ),
        (on_hand, reserved, available)
    );
    let held: u64 = inventory.reservations().map(|(_, r)| r.outstanding).sum();
    prop_assert_eq!(held, reserved, "reserved is not the sum of reservations");
    for (_, reservation) in inventory.reservations() {
        prop_assert!(reservation.outstanding <= reservation.quantity);
    }
    Ok(())
}

proptest! {
    #[test]
    fn no_sequence_of_commands_breaks_the_stock_invariant(
        threshold in 0u64..20,
        commands in proptest::collection::vec(command(), 0..60),
    ) {
        run(threshold, commands)?;
    }

    #[test]
    fn low_stock_is_reported_exactly_once_per_crossing(
        threshold in 0u64..20,
        commands in proptest::collection::vec(command(), 0..60),
    ) {
        let history = run(threshold, commands)?;
        // Registration leaves available at zero: already low, not a crossing.
        let mut previous = 0u64;
        let mut alert_due = false;
        let (mut crossings, mut alerts) = (0, 0);
        for event in &history {
            let (_, _, available) = event.levels_after();
            if let InventoryEvent::LowStockReached { .. } = event {
                prop_assert!(alert_due, "an alert without a crossing");
                prop_assert_eq!(available, previous);
                alert_due = false;
                alerts += 1;
                continue;
            }
            prop_assert!(!alert_due, "a crossing without an alert right after it");
            if previous > threshold && available <= threshold {
                alert_due = true;
                crossings += 1;
            }
            previous = available;
        }
        prop_assert!(!alert_due, "the last crossing has no alert");
        prop_assert_eq!(alerts, crossings);
    }
}
