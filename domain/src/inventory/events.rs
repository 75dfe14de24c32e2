//! The facts of a SKU's stock. Every event carries the `sku` and the figures that
//! result from it (`on_hand_after`, `reserved_after`, `available_after`), so a
//! stock view or an alert sink takes them as they are and never recomputes.

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use super::{AdjustmentReason, ReleaseReason};
use crate::shared::{OrderId, Sku};

/// Every variant name of [`InventoryEvent`], as stored in the `event_type` column.
pub const EVENT_TYPES: &[&str] = &[
    "InventoryRegistered",
    "StockReceived",
    "StockAdjusted",
    "StockReserved",
    "ReservationReleased",
    "ReservationHeld",
    "StockCommitted",
    "LowStockReached",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum InventoryEvent {
    InventoryRegistered {
        sku: Sku,
        low_stock_threshold: u64,
        on_hand_after: u64,
        reserved_after: u64,
        available_after: u64,
    },
    StockReceived {
        sku: Sku,
        quantity: u64,
        reference: String,
        on_hand_after: u64,
        reserved_after: u64,
        available_after: u64,
    },
    StockAdjusted {
        sku: Sku,
        /// Signed: negative took units away.
        delta: i64,
        reason: AdjustmentReason,
        note: String,
        on_hand_after: u64,
        reserved_after: u64,
        available_after: u64,
    },
    /// Units held for an order: a new reservation, or more for one it holds
    /// (an edit), as `held_for_order_after` tells.
    StockReserved {
        sku: Sku,
        order_id: OrderId,
        quantity: u64,
        expires_at: DateTime<Utc>,
        /// What the order holds of this SKU after it (v2; `quantity` when new).
        held_for_order_after: u64,
        on_hand_after: u64,
        reserved_after: u64,
        available_after: u64,
    },
    /// The order was paid for: its reservation no longer expires.
    ReservationHeld {
        sku: Sku,
        order_id: OrderId,
        /// What the order holds, kept until it ships or is released.
        held_for_order: u64,
        on_hand_after: u64,
        reserved_after: u64,
        available_after: u64,
    },
    /// `quantity` is what the order still held, all of it now available again.
    ReservationReleased {
        sku: Sku,
        order_id: OrderId,
        quantity: u64,
        reason: ReleaseReason,
        /// What the order still holds after it (v2; 0: the reservation is gone).
        held_for_order_after: u64,
        on_hand_after: u64,
        reserved_after: u64,
        available_after: u64,
    },
    /// Shipped units leave on-hand and the reservation together, so available does
    /// not move.
    StockCommitted {
        sku: Sku,
        order_id: OrderId,
        quantity: u64,
        remaining_reserved_for_order: u64,
        on_hand_after: u64,
        reserved_after: u64,
        available_after: u64,
    },
    /// Follows the event that took available to or below the threshold.
    LowStockReached {
        sku: Sku,
        low_stock_threshold: u64,
        on_hand_after: u64,
        reserved_after: u64,
        available_after: u64,
    },
}

impl InventoryEvent {
    /// `(on_hand, reserved, available)` after this event.
    pub fn levels_after(&self) -> (u64, u64, u64) {
        match self {
            InventoryEvent::InventoryRegistered {
                on_hand_after,
                reserved_after,
                available_after,
                ..
            }
            | InventoryEvent::StockReceived {
                on_hand_after,
                reserved_after,
                available_after,
                ..
            }
            | InventoryEvent::StockAdjusted {
                on_hand_after,
                reserved_after,
                available_after,
                ..
            }
            | InventoryEvent::StockReserved {
                on_hand_after,
                reserved_after,
                available_after,
                ..
            }
            | InventoryEvent::ReservationReleased {
                on_hand_after,
                reserved_after,
                available_after,
                ..
            }
            | InventoryEvent::ReservationHeld {
                on_hand_after,
                reserved_after,
                available_after,
                ..
            }
            | InventoryEvent::StockCommitted {
                on_hand_after,
                reserved_after,
                available_after,
                ..
            }
            | InventoryEvent::LowStockReached {
                on_hand_after,
                reserved_after,
                available_after,
                ..
            } => (*on_hand_after, *reserved_after, *available_after),
        }
    }
}

impl DomainEvent for InventoryEvent {
    fn event_type(&self) -> String {
        match self {
            InventoryEvent::InventoryRegistered { .. } => "InventoryRegistered",
            InventoryEvent::StockReceived { .. } => "StockReceived",
            InventoryEvent::StockAdjusted { .. } => "StockAdjusted",
            InventoryEvent::StockReserved { .. } => "StockReserved",
            InventoryEvent::ReservationReleased { .. } => "ReservationReleased",
            InventoryEvent::ReservationHeld { .. } => "ReservationHeld",
            InventoryEvent::StockCommitted { .. } => "StockCommitted",
            InventoryEvent::LowStockReached { .. } => "LowStockReached",
        }
        .to_owned()
    }

    /// Version 2 of `StockReserved` and `ReservationReleased` say what the order
    /// holds after them (upcasters in [`crate::upcasting`]).
    fn event_version(&self) -> String {
        match self {
            InventoryEvent::StockReserved { .. } | InventoryEvent::ReservationReleased { .. } => {
                "2"
            }
            _ => "1",
        }
        .to_owned()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::TimeZone;
    use uuid::Uuid;

    use super::*;

    fn one_of_each() -> Vec<InventoryEvent> {
        let sku = Sku::new("MUG-1").unwrap();
        let order_id = OrderId::new(Uuid::from_u128(7));
        let expires_at = Utc.with_ymd_and_hms(2030, 1, 1, 12, 0, 0).unwrap();
        vec![
            InventoryEvent::InventoryRegistered {
                sku: sku.clone(),
                low_stock_threshold: 5,
                on_hand_after: 0,
                reserved_after: 0,
                available_after: 0,
            },
            InventoryEvent::StockReceived {
                sku: sku.clone(),
                quantity: 10,
                reference: "PO-1".into(),
                on_hand_after: 10,
                reserved_after: 0,
                available_after: 10,
            },
            InventoryEvent::StockAdjusted {
                sku: sku.clone(),
                delta: -1,
                reason: AdjustmentReason::Damaged,
                note: "dropped".into(),
                on_hand_after: 9,
                reserved_after: 0,
                available_after: 9,
            },
            InventoryEvent::StockReserved {
                sku: sku.clone(),
                order_id,
                quantity: 4,
                expires_at,
                held_for_order_after: 4,
                on_hand_after: 9,
                reserved_after: 4,
                available_after: 5,
            },
            InventoryEvent::ReservationHeld {
                sku: sku.clone(),
                order_id,
                held_for_order: 4,
                on_hand_after: 9,
                reserved_after: 4,
                available_after: 5,
            },
            InventoryEvent::LowStockReached {
                sku: sku.clone(),
                low_stock_threshold: 5,
                on_hand_after: 9,
                reserved_after: 4,
                available_after: 5,
            },
            InventoryEvent::StockCommitted {
                sku: sku.clone(),
                order_id,
                quantity: 1,
                remaining_reserved_for_order: 3,
                on_hand_after: 8,
                reserved_after: 3,
                available_after: 5,
            },
            InventoryEvent::ReservationReleased {
                sku,
                order_id,
                quantity: 3,
                reason: ReleaseReason::OrderCancelled,
                held_for_order_after: 0,
                on_hand_after: 8,
                reserved_after: 0,
                available_after: 8,
            },
        ]
    }

    #[test]
    fn event_types_lists_every_variant_exactly_once() {
        let samples = one_of_each();
        let types: BTreeSet<String> = samples.iter().map(DomainEvent::event_type).collect();
        let listed: BTreeSet<String> = EVENT_TYPES.iter().map(|t| (*t).to_owned()).collect();
        assert_eq!(types.len(), samples.len(), "a variant is sampled twice");
        assert_eq!(
            listed.len(),
            EVENT_TYPES.len(),
            "EVENT_TYPES has duplicates"
        );
        assert_eq!(types, listed);
    }

    #[test]
    fn events_are_stored_externally_tagged_under_their_event_type() {
        for event in one_of_each() {
            let json = serde_json::to_value(&event).unwrap();
            let object = json.as_object().unwrap();
            assert_eq!(object.len(), 1);
            assert!(object.contains_key(&event.event_type()));
            let holds = matches!(
                event,
                InventoryEvent::StockReserved { .. } | InventoryEvent::ReservationReleased { .. }
            );
            assert_eq!(event.event_version(), if holds { "2" } else { "1" });
            assert_eq!(
                serde_json::from_value::<InventoryEvent>(json).unwrap(),
                event
            );
        }
    }
}
