//! Given/when/then for every stock rule, one test per rule.

use chrono::{DateTime, TimeZone, Utc};
use cqrs_es::test::TestFramework;
use cqrs_es::Aggregate;
use uuid::Uuid;

use super::*;
use crate::shared::{OrderId, Quantity, Sku};

type InventoryTest = TestFramework<Inventory>;

fn sku() -> Sku {
    Sku::new("MUG-BLUE-1").unwrap()
}

fn order(n: u128) -> OrderId {
    OrderId::new(Uuid::from_u128(n))
}

fn at(hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 5, 1, hour, 0, 0).unwrap()
}

fn qty(n: u32) -> Quantity {
    Quantity::new(n).unwrap()
}

fn registered(threshold: u64) -> InventoryEvent {
    InventoryEvent::InventoryRegistered {
        sku: sku(),
        low_stock_threshold: threshold,
        on_hand_after: 0,
        reserved_after: 0,
        available_after: 0,
    }
}

/// `quantity` received, leaving `on_hand` with `reserved` held.
fn received(quantity: u64, on_hand: u64, reserved: u64) -> InventoryEvent {
    InventoryEvent::StockReceived {
        sku: sku(),
        quantity,
        reference: "PO-1".into(),
        on_hand_after: on_hand,
        reserved_after: reserved,
        available_after: on_hand - reserved,
    }
}

fn reserved(order_id: OrderId, quantity: u64, on_hand: u64, held: u64) -> InventoryEvent {
    InventoryEvent::StockReserved {
        sku: sku(),
        order_id,
        quantity,
        expires_at: at(12),
        held_for_order_after: quantity,
        on_hand_after: on_hand,
        reserved_after: held,
        available_after: on_hand - held,
    }
}

fn reserved_until(
    order_id: OrderId,
    quantity: u64,
    expires_at: DateTime<Utc>,
    on_hand: u64,
    held: u64,
) -> InventoryEvent {
    InventoryEvent::StockReserved {
        sku: sku(),
        order_id,
        quantity,
        expires_at,
        held_for_order_after: quantity,
        on_hand_after: on_hand,
        reserved_after: held,
        available_after: on_hand - held,
    }
}

fn released(
    order_id: OrderId,
    quantity: u64,
    reason: ReleaseReason,
    on_hand: u64,
    held: u64,
) -> InventoryEvent {
    InventoryEvent::ReservationReleased {
        sku: sku(),
        order_id,
        quantity,
        reason,
        held_for_order_after: 0,
        on_hand_after: on_hand,
        reserved_after: held,
        available_after: on_hand - held,
    }
}

fn committed(
    order_id: OrderId,
    quantity: u64,
    remaining: u64,
    on_hand: u64,
    held: u64,
) -> InventoryEvent {
    InventoryEvent::StockCommitted {
        sku: sku(),
        order_id,
        quantity,
        remaining_reserved_for_order: remaining,
        on_hand_after: on_hand,
        reserved_after: held,
        available_after: on_hand - held,
    }
}

fn adjusted(delta: i64, reason: AdjustmentReason, on_hand: u64, held: u64) -> InventoryEvent {
    InventoryEvent::StockAdjusted {
        sku: sku(),
        delta,
        reason,
        note: String::new(),
        on_hand_after: on_hand,
        reserved_after: held,
        available_after: on_hand - held,
    }
}

fn low_stock(threshold: u64, on_hand: u64, held: u64) -> InventoryEvent {
    InventoryEvent::LowStockReached {
        sku: sku(),
        low_stock_threshold: threshold,
        on_hand_after: on_hand,
        reserved_after: held,
        available_after: on_hand - held,
    }
}

fn reserve(order_id: OrderId, quantity: u32) -> InventoryCommand {
    InventoryCommand::ReserveStock {
        order_id,
        quantity: qty(quantity),
        expires_at: at(12),
    }
}

fn adjust(delta: i64, reason: AdjustmentReason) -> InventoryCommand {
    InventoryCommand::AdjustStock {
        delta,
        reason,
        note: String::new(),
    }
}

fn receive(quantity: u32) -> InventoryCommand {
    InventoryCommand::ReceiveStock {
        quantity: qty(quantity),
        reference: "PO-1".into(),
    }
}

/// A SKU with threshold 0 and 10 units on hand, none reserved.
fn stocked() -> Vec<InventoryEvent> {
    vec![registered(0), received(10, 10, 0)]
}

fn refusal(given: Vec<InventoryEvent>, command: InventoryCommand) -> InventoryError {
    InventoryTest::with(())
        .given(given)
        .when(command)
        .inspect_result()
        .unwrap_err()
}

fn state_after(events: Vec<InventoryEvent>) -> Inventory {
    let mut inventory = Inventory::default();
    for event in events {
        inventory.apply(event);
    }
    inventory
}

#[test]
fn registers_a_sku_at_zero_stock() {
    InventoryTest::with(())
        .given_no_previous_events()
        .when(InventoryCommand::RegisterSku {
            sku: sku(),
            low_stock_threshold: 3,
        })
        .then_expect_events(vec![registered(3)]);
    let inventory = state_after(vec![registered(3)]);
    assert_eq!(inventory.sku(), Some(&sku()));
    assert_eq!(
        (
            inventory.on_hand(),
            inventory.reserved(),
            inventory.available()
        ),
        (0, 0, 0)
    );
    assert_eq!(inventory.low_stock_threshold(), 3);
}

#[test]
fn refuses_to_register_a_sku_twice() {
    let error = refusal(
        vec![registered(0)],
        InventoryCommand::RegisterSku {
            sku: sku(),
            low_stock_threshold: 0,
        },
    );
    assert_eq!(error, InventoryError::AlreadyExists { sku: sku() });
    assert_eq!(error.code(), "already_exists");
}

#[test]
fn refuses_a_low_stock_threshold_above_a_million() {
    let error = refusal(
        vec![],
        InventoryCommand::RegisterSku {
            sku: sku(),
            low_stock_threshold: 1_000_001,
        },
    );
    assert_eq!(error.code(), "invalid_threshold");
}

#[test]
fn refuses_every_other_command_before_the_sku_is_registered() {
    for command in [
        receive(1),
        adjust(1, AdjustmentReason::Found),
        reserve(order(1), 1),
        InventoryCommand::ReleaseReservation {
            order_id: order(1),
            reason: ReleaseReason::OrderCancelled,
            quantity: None,
        },
        InventoryCommand::CommitReservation {
            order_id: order(1),
            quantity: None,
        },
        InventoryCommand::ExpireReservations { now: at(0) },
    ] {
        let error = refusal(vec![], command);
        assert_eq!(error, InventoryError::NotFound);
        assert_eq!(error.code(), "not_found");
    }
}

#[test]
fn receives_stock_onto_on_hand() {
    InventoryTest::with(())
        .given(vec![
            registered(0),
            received(10, 10, 0),
            reserved(order(1), 4, 10, 4),
        ])
        .when(receive(5))
        .then_expect_events(vec![received(5, 15, 4)]);
}

#[test]
fn refuses_a_receipt_without_a_usable_reference() {
    for reference in [String::new(), "  ".into(), "r".repeat(201)] {
        let command = InventoryCommand::ReceiveStock {
            quantity: qty(1),
            reference,
        };
        assert_eq!(
            refusal(stocked(), command),
            InventoryError::InvalidReference
        );
    }
}

#[test]
fn refuses_a_receipt_that_would_overflow_the_count() {
    let given = vec![registered(0), received(1, u64::MAX - 1, 0)];
    assert_eq!(refusal(given, receive(2)).code(), "stock_out_of_range");
}

#[test]
fn adjusts_stock_up_and_down_with_a_reason_and_note() {
    InventoryTest::with(())
        .given(stocked())
        .when(InventoryCommand::AdjustStock {
            delta: -2,
            reason: AdjustmentReason::Damaged,
            note: "forklift".into(),
        })
        .then_expect_events(vec![InventoryEvent::StockAdjusted {
            sku: sku(),
            delta: -2,
            reason: AdjustmentReason::Damaged,
            note: "forklift".into(),
            on_hand_after: 8,
            reserved_after: 0,
            available_after: 8,
        }]);
    InventoryTest::with(())
        .given(stocked())
        .when(adjust(3, AdjustmentReason::Recount))
        .then_expect_events(vec![adjusted(3, AdjustmentReason::Recount, 13, 0)]);
}

#[test]
fn refuses_a_zero_or_oversized_adjustment() {
    for delta in [0, 1_000_001, -1_000_001, i64::MIN] {
        assert_eq!(
            refusal(stocked(), adjust(delta, AdjustmentReason::Correction)),
            InventoryError::InvalidDelta { delta }
        );
    }
}

#[test]
fn refuses_an_adjustment_note_over_500_characters() {
    let command = InventoryCommand::AdjustStock {
        delta: 1,
        reason: AdjustmentReason::Found,
        note: "n".repeat(501),
    };
    assert_eq!(
        refusal(stocked(), command),
        InventoryError::NoteTooLong { length: 501 }
    );
}

#[test]
fn refuses_an_adjustment_against_its_reasons_direction() {
    for reason in [
        AdjustmentReason::Damaged,
        AdjustmentReason::Lost,
        AdjustmentReason::Stolen,
    ] {
        let error = refusal(stocked(), adjust(1, reason));
        assert_eq!(
            error,
            InventoryError::AdjustmentAgainstReason {
                reason,
                direction: "up",
                delta: 1
            }
        );
        assert_eq!(error.code(), "adjustment_against_reason");
    }
    for reason in [AdjustmentReason::Found, AdjustmentReason::Returned] {
        assert_eq!(
            refusal(stocked(), adjust(-1, reason)).code(),
            "adjustment_against_reason"
        );
    }
}

#[test]
fn refuses_to_adjust_on_hand_below_zero() {
    let error = refusal(stocked(), adjust(-11, AdjustmentReason::Lost));
    assert_eq!(
        error,
        InventoryError::NegativeStock {
            on_hand: 10,
            delta: -11
        }
    );
    assert_eq!(error.code(), "negative_stock");
}

#[test]
fn refuses_to_adjust_on_hand_below_reserved() {
    let given = vec![
        registered(0),
        received(10, 10, 0),
        reserved(order(1), 6, 10, 6),
    ];
    let error = refusal(given.clone(), adjust(-5, AdjustmentReason::Lost));
    assert_eq!(
        error,
        InventoryError::BelowReserved {
            on_hand: 10,
            reserved: 6,
            delta: -5
        }
    );
    assert_eq!(error.code(), "below_reserved");
    // Down to exactly what is reserved is allowed (and leaves nothing available).
    InventoryTest::with(())
        .given(given)
        .when(adjust(-4, AdjustmentReason::Lost))
        .then_expect_events(vec![
            adjusted(-4, AdjustmentReason::Lost, 6, 6),
            low_stock(0, 6, 6),
        ]);
}

#[test]
fn reserves_available_stock_for_an_order() {
    let event = reserved(order(1), 4, 10, 4);
    InventoryTest::with(())
        .given(stocked())
        .when(reserve(order(1), 4))
        .then_expect_events(vec![event.clone()]);
    let mut given = stocked();
    given.push(event);
    let inventory = state_after(given);
    assert_eq!(inventory.available(), 6);
    assert_eq!(
        inventory.reservation(&order(1)),
        Some(&Reservation {
            quantity: 4,
            outstanding: 4,
            expires_at: at(12)
        })
    );
}

#[test]
fn refuses_to_reserve_more_than_available() {
    let given = vec![
        registered(0),
        received(10, 10, 0),
        reserved(order(1), 7, 10, 7),
    ];
    let error = refusal(given, reserve(order(2), 4));
    assert_eq!(
        error,
        InventoryError::InsufficientStock {
            sku: sku(),
            available: 3,
            requested: 4
        }
    );
    assert_eq!(error.code(), "insufficient_stock");
    assert!(error.to_string().contains("3 available, 4 requested"));
}

#[test]
fn reserving_the_same_quantity_again_for_an_order_records_nothing() {
    let given = vec![
        registered(0),
        received(10, 10, 0),
        reserved(order(1), 4, 10, 4),
    ];
    InventoryTest::with(())
        .given(given)
        .when(reserve(order(1), 4))
        .then_expect_events(vec![]);
}

#[test]
fn refuses_to_reserve_a_different_quantity_for_the_same_order() {
    let given = vec![
        registered(0),
        received(10, 10, 0),
        reserved(order(1), 4, 10, 4),
    ];
    let error = refusal(given, reserve(order(1), 5));
    assert_eq!(
        error,
        InventoryError::ReservationConflict {
            order_id: order(1),
            reserved: 4,
            requested: 5
        }
    );
    assert_eq!(error.code(), "reservation_conflict");
}

#[test]
fn releases_a_reservation_back_to_available() {
    let given = vec![
        registered(0),
        received(10, 10, 0),
        reserved(order(1), 4, 10, 4),
    ];
    let event = released(order(1), 4, ReleaseReason::PaymentFailed, 10, 0);
    InventoryTest::with(())
        .given(given.clone())
        .when(InventoryCommand::ReleaseReservation {
            order_id: order(1),
            reason: ReleaseReason::PaymentFailed,
            quantity: None,
        })
        .then_expect_events(vec![event.clone()]);
    let mut history = given;
    history.push(event);
    let inventory = state_after(history.clone());
    assert_eq!(inventory.reservation(&order(1)), None);
    // Released, the order may reserve anew.
    InventoryTest::with(())
        .given(history)
        .when(reserve(order(1), 2))
        .then_expect_events(vec![reserved(order(1), 2, 10, 2)]);
}

#[test]
fn releasing_what_an_order_does_not_hold_records_nothing() {
    let release = |order_id| InventoryCommand::ReleaseReservation {
        order_id,
        reason: ReleaseReason::OrderCancelled,
        quantity: None,
    };
    // Never reserved.
    InventoryTest::with(())
        .given(stocked())
        .when(release(order(9)))
        .then_expect_events(vec![]);
    // Released before (the process manager retrying after a crash).
    InventoryTest::with(())
        .given(vec![
            registered(0),
            received(10, 10, 0),
            reserved(order(1), 4, 10, 4),
            released(order(1), 4, ReleaseReason::OrderCancelled, 10, 0),
        ])
        .when(release(order(1)))
        .then_expect_events(vec![]);
    // Fully shipped.
    InventoryTest::with(())
        .given(vec![
            registered(0),
            received(10, 10, 0),
            reserved(order(1), 4, 10, 4),
            committed(order(1), 4, 0, 6, 0),
        ])
        .when(release(order(1)))
        .then_expect_events(vec![]);
}

#[test]
fn commits_a_whole_reservation_when_it_ships() {
    let given = vec![
        registered(0),
        received(10, 10, 0),
        reserved(order(1), 4, 10, 4),
    ];
    let event = committed(order(1), 4, 0, 6, 0);
    InventoryTest::with(())
        .given(given.clone())
        .when(InventoryCommand::CommitReservation {
            order_id: order(1),
            quantity: None,
        })
        .then_expect_events(vec![event.clone()]);
    let mut history = given;
    history.push(event);
    let inventory = state_after(history);
    assert_eq!((inventory.on_hand(), inventory.reserved()), (6, 0));
    assert!(inventory.reservation(&order(1)).unwrap().is_settled());
}

#[test]
fn commits_part_of_a_reservation_and_keeps_the_rest_reserved() {
    let given = vec![
        registered(0),
        received(10, 10, 0),
        reserved(order(1), 4, 10, 4),
    ];
    InventoryTest::with(())
        .given(given.clone())
        .when(InventoryCommand::CommitReservation {
            order_id: order(1),
            quantity: Some(qty(1)),
        })
        .then_expect_events(vec![committed(order(1), 1, 3, 9, 3)]);
    // The rest ships later.
    let mut history = given;
    history.push(committed(order(1), 1, 3, 9, 3));
    InventoryTest::with(())
        .given(history)
        .when(InventoryCommand::CommitReservation {
            order_id: order(1),
            quantity: None,
        })
        .then_expect_events(vec![committed(order(1), 3, 0, 6, 0)]);
}

#[test]
fn committing_a_fully_committed_reservation_records_nothing() {
    let given = vec![
        registered(0),
        received(10, 10, 0),
        reserved(order(1), 4, 10, 4),
        committed(order(1), 4, 0, 6, 0),
    ];
    for quantity in [None, Some(qty(4))] {
        InventoryTest::with(())
            .given(given.clone())
            .when(InventoryCommand::CommitReservation {
                order_id: order(1),
                quantity,
            })
            .then_expect_events(vec![]);
    }
    // Reserving the same again is recognised as a retry, too.
    InventoryTest::with(())
        .given(given)
        .when(reserve(order(1), 4))
        .then_expect_events(vec![]);
}

#[test]
fn refuses_to_commit_more_than_the_order_holds() {
    let given = vec![
        registered(0),
        received(10, 10, 0),
        reserved(order(1), 4, 10, 4),
    ];
    let error = refusal(
        given,
        InventoryCommand::CommitReservation {
            order_id: order(1),
            quantity: Some(qty(5)),
        },
    );
    assert_eq!(
        error,
        InventoryError::CommitExceedsReservation {
            order_id: order(1),
            outstanding: 4,
            requested: 5
        }
    );
    assert_eq!(error.code(), "commit_exceeds_reservation");
}

#[test]
fn refuses_to_commit_without_a_reservation() {
    let commit = InventoryCommand::CommitReservation {
        order_id: order(1),
        quantity: None,
    };
    assert_eq!(
        refusal(stocked(), commit.clone()),
        InventoryError::ReservationNotFound { order_id: order(1) }
    );
    // A released reservation is gone: shipping it would ship unreserved units.
    let given = vec![
        registered(0),
        received(10, 10, 0),
        reserved(order(1), 4, 10, 4),
        released(order(1), 4, ReleaseReason::Expired, 10, 0),
    ];
    assert_eq!(refusal(given, commit).code(), "reservation_not_found");
}

#[test]
fn releasing_after_a_partial_commit_frees_only_the_rest() {
    let given = vec![
        registered(0),
        received(10, 10, 0),
        reserved(order(1), 4, 10, 4),
        committed(order(1), 1, 3, 9, 3),
    ];
    let event = released(order(1), 3, ReleaseReason::OrderCancelled, 9, 0);
    InventoryTest::with(())
        .given(given.clone())
        .when(InventoryCommand::ReleaseReservation {
            order_id: order(1),
            reason: ReleaseReason::OrderCancelled,
            quantity: None,
        })
        .then_expect_events(vec![event.clone()]);
    let mut history = given;
    history.push(event);
    // Settled: a later commit of the order records nothing.
    InventoryTest::with(())
        .given(history)
        .when(InventoryCommand::CommitReservation {
            order_id: order(1),
            quantity: None,
        })
        .then_expect_events(vec![]);
}

#[test]
fn expires_reservations_due_at_or_before_now_oldest_first_one_event_each() {
    let given = vec![
        registered(0),
        received(10, 10, 0),
        reserved_until(order(1), 2, at(11), 10, 2),
        reserved_until(order(2), 3, at(9), 10, 5),
        reserved_until(order(3), 1, at(13), 10, 6),
    ];
    InventoryTest::with(())
        .given(given)
        .when(InventoryCommand::ExpireReservations { now: at(11) })
        .then_expect_events(vec![
            released(order(2), 3, ReleaseReason::Expired, 10, 3),
            released(order(1), 2, ReleaseReason::Expired, 10, 1),
        ]);
}

#[test]
fn expiring_leaves_future_and_partly_shipped_reservations_alone() {
    let given = vec![
        registered(0),
        received(10, 10, 0),
        reserved_until(order(1), 4, at(9), 10, 4),
        committed(order(1), 1, 3, 9, 3),
        reserved_until(order(2), 2, at(15), 9, 5),
    ];
    InventoryTest::with(())
        .given(given)
        .when(InventoryCommand::ExpireReservations { now: at(12) })
        .then_expect_events(vec![]);
}

#[test]
fn reports_low_stock_when_a_reservation_takes_available_to_the_threshold() {
    InventoryTest::with(())
        .given(vec![registered(3), received(10, 10, 0)])
        .when(reserve(order(1), 7))
        .then_expect_events(vec![reserved(order(1), 7, 10, 7), low_stock(3, 10, 7)]);
}

#[test]
fn reports_low_stock_when_an_adjustment_takes_available_below_the_threshold() {
    InventoryTest::with(())
        .given(vec![registered(3), received(10, 10, 0)])
        .when(adjust(-9, AdjustmentReason::Damaged))
        .then_expect_events(vec![
            adjusted(-9, AdjustmentReason::Damaged, 1, 0),
            low_stock(3, 1, 0),
        ]);
}

#[test]
fn reports_low_stock_once_until_available_rises_above_the_threshold_again() {
    let low = vec![
        registered(3),
        received(10, 10, 0),
        reserved(order(1), 7, 10, 7),
        low_stock(3, 10, 7),
    ];
    // Still low: no second alert.
    InventoryTest::with(())
        .given(low.clone())
        .when(reserve(order(2), 1))
        .then_expect_events(vec![reserved(order(2), 1, 10, 8)]);
    // Rising to the threshold does not re-arm; above it does.
    let mut rearmed = low;
    rearmed.push(received(1, 11, 7));
    rearmed.push(received(1, 12, 7));
    InventoryTest::with(())
        .given(rearmed)
        .when(reserve(order(2), 2))
        .then_expect_events(vec![reserved(order(2), 2, 12, 9), low_stock(3, 12, 9)]);
}

#[test]
fn a_new_sku_starts_low_and_alerts_only_after_stock_rose_above_the_threshold() {
    InventoryTest::with(())
        .given(vec![registered(5)])
        .when(receive(3))
        .then_expect_events(vec![received(3, 3, 0)]);
    assert!(state_after(vec![registered(5)]).is_low_on_stock());
}

#[test]
fn shipping_does_not_move_available_so_raises_no_alert() {
    InventoryTest::with(())
        .given(vec![
            registered(3),
            received(10, 10, 0),
            reserved(order(1), 5, 10, 5),
        ])
        .when(InventoryCommand::CommitReservation {
            order_id: order(1),
            quantity: None,
        })
        .then_expect_events(vec![committed(order(1), 5, 0, 5, 0)]);
}

#[test]
fn state_survives_a_snapshot_round_trip() {
    let inventory = state_after(vec![
        registered(2),
        received(10, 10, 0),
        reserved(order(1), 4, 10, 4),
        reserved(order(2), 1, 10, 5),
        committed(order(2), 1, 0, 9, 4),
    ]);
    let json = serde_json::to_value(&inventory).unwrap();
    assert_eq!(
        serde_json::from_value::<Inventory>(json).unwrap(),
        inventory
    );
}

#[test]
fn commands_refuse_unknown_fields_and_default_the_commit_quantity() {
    let unknown = serde_json::json!({"ReceiveStock": {
        "quantity": 3, "reference": "PO-1", "warehouse": "B"}});
    assert!(serde_json::from_value::<InventoryCommand>(unknown).is_err());
    let zero = serde_json::json!({"ReceiveStock": {"quantity": 0, "reference": "PO-1"}});
    assert!(serde_json::from_value::<InventoryCommand>(zero).is_err());
    let commit = serde_json::json!({"CommitReservation": {
        "order_id": "00000000-0000-0000-0000-000000000001"}});
    assert_eq!(
        serde_json::from_value::<InventoryCommand>(commit).unwrap(),
        InventoryCommand::CommitReservation {
            order_id: order(1),
            quantity: None
        }
    );
    let adjust = serde_json::json!({"AdjustStock": {
        "delta": -1, "reason": "damaged", "note": ""}});
    assert!(serde_json::from_value::<InventoryCommand>(adjust).is_ok());
}

#[test]
fn every_error_has_its_own_code() {
    let errors = [
        InventoryError::NotFound,
        InventoryError::AlreadyExists { sku: sku() },
        InventoryError::InvalidThreshold { threshold: 0 },
        InventoryError::InvalidReference,
        InventoryError::InvalidDelta { delta: 0 },
        InventoryError::NoteTooLong { length: 0 },
        InventoryError::AdjustmentAgainstReason {
            reason: AdjustmentReason::Lost,
            direction: "up",
            delta: 1,
        },
        InventoryError::NegativeStock {
            on_hand: 0,
            delta: -1,
        },
        InventoryError::BelowReserved {
            on_hand: 0,
            reserved: 0,
            delta: -1,
        },
        InventoryError::InsufficientStock {
            sku: sku(),
            available: 0,
            requested: 1,
        },
        InventoryError::ReservationConflict {
            order_id: order(1),
            reserved: 1,
            requested: 2,
        },
        InventoryError::ReservationNotFound { order_id: order(1) },
        InventoryError::CommitExceedsReservation {
            order_id: order(1),
            outstanding: 1,
            requested: 2,
        },
        InventoryError::StockOutOfRange,
    ];
    let codes: std::collections::BTreeSet<_> = errors.iter().map(InventoryError::code).collect();
    assert_eq!(codes.len(), errors.len());
}

#[test]
fn releases_part_of_a_reservation_and_keeps_the_rest_held() {
    let given = vec![
        registered(0),
        received(10, 10, 0),
        reserved(order(1), 4, 10, 4),
    ];
    let partly = |quantity: u32| InventoryCommand::ReleaseReservation {
        order_id: order(1),
        reason: ReleaseReason::LinesCancelled,
        quantity: Some(qty(quantity)),
    };
    let mut event = released(order(1), 1, ReleaseReason::LinesCancelled, 10, 3);
    if let InventoryEvent::ReservationReleased {
        held_for_order_after,
        ..
    } = &mut event
    {
        *held_for_order_after = 3;
    }
    InventoryTest::with(())
        .given(given.clone())
        .when(partly(1))
        .then_expect_events(vec![event.clone()]);
    let mut history = given;
    history.push(event);
    assert_eq!(
        state_after(history.clone())
            .reservation(&order(1))
            .map(|r| r.outstanding),
        Some(3)
    );
    assert_eq!(
        refusal(history.clone(), partly(4)),
        InventoryError::ReleaseExceedsReservation {
            order_id: order(1),
            outstanding: 3,
            requested: 4,
        }
    );
    // The rest ships.
    InventoryTest::with(())
        .given(history)
        .when(InventoryCommand::CommitReservation {
            order_id: order(1),
            quantity: None,
        })
        .then_expect_events(vec![committed(order(1), 3, 0, 7, 0)]);
}

#[test]
fn extends_what_an_order_holds_within_what_is_available() {
    let given = vec![
        registered(0),
        received(10, 10, 0),
        reserved(order(1), 4, 10, 4),
    ];
    let extend = |quantity: u32| InventoryCommand::ExtendReservation {
        order_id: order(1),
        quantity: qty(quantity),
    };
    let mut event = reserved(order(1), 2, 10, 6);
    if let InventoryEvent::StockReserved {
        held_for_order_after,
        ..
    } = &mut event
    {
        *held_for_order_after = 6;
    }
    InventoryTest::with(())
        .given(given.clone())
        .when(extend(2))
        .then_expect_events(vec![event.clone()]);
    let mut history = given.clone();
    history.push(event);
    let held = state_after(history).reservation(&order(1)).copied();
    assert_eq!(held.map(|r| (r.quantity, r.outstanding)), Some((6, 6)));
    assert_eq!(
        refusal(given, extend(7)),
        InventoryError::InsufficientStock {
            sku: sku(),
            available: 6,
            requested: 7,
        }
    );
    assert_eq!(
        refusal(stocked(), extend(1)),
        InventoryError::ReservationNotFound { order_id: order(1) }
    );
}

#[test]
fn a_held_reservation_outlives_its_expiry_until_it_ships() {
    let given = vec![
        registered(0),
        received(10, 10, 0),
        reserved(order(1), 4, 10, 4),
    ];
    let hold = InventoryCommand::HoldUntilShipped { order_id: order(1) };
    let held = InventoryEvent::ReservationHeld {
        sku: sku(),
        order_id: order(1),
        held_for_order: 4,
        on_hand_after: 10,
        reserved_after: 4,
        available_after: 6,
    };
    InventoryTest::with(())
        .given(given.clone())
        .when(hold.clone())
        .then_expect_events(vec![held.clone()]);
    let mut history = given;
    history.push(held);
    // Held once: again, nothing.
    InventoryTest::with(())
        .given(history.clone())
        .when(hold)
        .then_expect_events(vec![]);
    // Long past `expires_at`, the reservation stays.
    InventoryTest::with(())
        .given(history)
        .when(InventoryCommand::ExpireReservations {
            now: at(12) + chrono::Duration::days(30),
        })
        .then_expect_events(vec![]);
}
