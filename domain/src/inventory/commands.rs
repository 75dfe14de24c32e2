//! What the warehouse, the admin and the checkout process ask of a SKU's stock.
//! The SKU of every command but `RegisterSku` is the aggregate id.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{AdjustmentReason, ReleaseReason};
use crate::shared::{OrderId, Quantity, Sku};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum InventoryCommand {
    /// Starts tracking a SKU, at zero stock.
    RegisterSku { sku: Sku, low_stock_threshold: u64 },
    /// A delivery arrived.
    ReceiveStock {
        quantity: Quantity,
        reference: String,
    },
    /// On-hand differs from the books for `reason`; `note` says more (may be empty).
    AdjustStock {
        delta: i64,
        reason: AdjustmentReason,
        note: String,
    },
    /// Holds units for an order until `expires_at`.
    ReserveStock {
        order_id: OrderId,
        quantity: Quantity,
        expires_at: DateTime<Utc>,
    },
    /// The order is paid for: its reservation no longer expires, and is held
    /// until it ships or is released.
    HoldUntilShipped { order_id: OrderId },
    /// Holds `quantity` more units for an order that holds some already (an edit
    /// raised a line); recorded as a `StockReserved` of the added units.
    ExtendReservation {
        order_id: OrderId,
        quantity: Quantity,
    },
    /// Gives back what the order still holds, or `quantity` of it (cancelled
    /// lines of an order that goes on).
    ReleaseReservation {
        order_id: OrderId,
        reason: ReleaseReason,
        #[serde(default)]
        quantity: Option<Quantity>,
    },
    /// Ships reserved units: `quantity` of them, or all the order still holds.
    CommitReservation {
        order_id: OrderId,
        #[serde(default)]
        quantity: Option<Quantity>,
    },
    /// Releases every reservation due at `now` (sent by a scheduler).
    ExpireReservations { now: DateTime<Utc> },
}
