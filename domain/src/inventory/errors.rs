//! Why a stock command is refused. Each message reaches API clients as `detail`;
//! each `code` is stable and answered with HTTP 422.

use crate::shared::{OrderId, Sku};

use super::AdjustmentReason;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InventoryError {
    #[error("this SKU has no inventory; register it first")]
    NotFound,
    #[error("inventory for SKU {sku} is already registered")]
    AlreadyExists { sku: Sku },
    #[error("a low-stock threshold may be at most 1000000; got {threshold}")]
    InvalidThreshold { threshold: u64 },
    #[error("a receipt needs a reference of 1 to 200 characters, not blank")]
    InvalidReference,
    #[error("an adjustment must be non-zero and at most 1000000 units either way; got {delta}")]
    InvalidDelta { delta: i64 },
    #[error("an adjustment note may have at most 500 characters; this one has {length}")]
    NoteTooLong { length: usize },
    #[error("an adjustment for reason {reason} cannot go {direction} (delta {delta})", reason = reason.as_str())]
    AdjustmentAgainstReason {
        reason: AdjustmentReason,
        direction: &'static str,
        delta: i64,
    },
    #[error("on hand is {on_hand}; an adjustment of {delta} would take it below zero")]
    NegativeStock { on_hand: u64, delta: i64 },
    #[error(
        "on hand is {on_hand} with {reserved} reserved for orders; an adjustment of \
         {delta} would leave less on hand than is reserved"
    )]
    BelowReserved {
        on_hand: u64,
        reserved: u64,
        delta: i64,
    },
    #[error("insufficient stock of {sku}: {available} available, {requested} requested")]
    InsufficientStock {
        sku: Sku,
        available: u64,
        requested: u64,
    },
    #[error(
        "order {order_id} already reserved {reserved} units of this SKU; \
         it cannot reserve {requested} instead"
    )]
    ReservationConflict {
        order_id: OrderId,
        reserved: u64,
        requested: u64,
    },
    #[error("order {order_id} holds no reservation of this SKU to commit")]
    ReservationNotFound { order_id: OrderId },
    #[error(
        "order {order_id} holds {outstanding} reserved units; {requested} cannot be committed"
    )]
    CommitExceedsReservation {
        order_id: OrderId,
        outstanding: u64,
        requested: u64,
    },
    #[error("cannot release {requested} units for order {order_id}: it holds {outstanding}")]
    ReleaseExceedsReservation {
        order_id: OrderId,
        outstanding: u64,
        requested: u64,
    },
    #[error("this change would take the stock count out of range")]
    StockOutOfRange,
}

impl InventoryError {
    /// The stable, machine-readable reason, sent to clients as `code`.
    pub fn code(&self) -> &'static str {
        match self {
            InventoryError::NotFound => "not_found",
            InventoryError::AlreadyExists { .. } => "already_exists",
            InventoryError::InvalidThreshold { .. } => "invalid_threshold",
            InventoryError::InvalidReference => "invalid_reference",
            InventoryError::InvalidDelta { .. } => "invalid_delta",
            InventoryError::NoteTooLong { .. } => "note_too_long",
            InventoryError::AdjustmentAgainstReason { .. } => "adjustment_against_reason",
            InventoryError::NegativeStock { .. } => "negative_stock",
            InventoryError::BelowReserved { .. } => "below_reserved",
            InventoryError::InsufficientStock { .. } => "insufficient_stock",
            InventoryError::ReservationConflict { .. } => "reservation_conflict",
            InventoryError::ReservationNotFound { .. } => "reservation_not_found",
            InventoryError::CommitExceedsReservation { .. } => "commit_exceeds_reservation",
            InventoryError::ReleaseExceedsReservation { .. } => "release_exceeds_reservation",
            InventoryError::StockOutOfRange => "stock_out_of_range",
        }
    }
}
