//! What may be asked of an order. The checkout process manager sends the
//! `Record...` commands and `ConfirmOrder`, and may send each of them twice after a
//! crash: a repeat of a fact already recorded is accepted and changes nothing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{RefundId, ReturnId, ShipmentId};
use crate::shared::{
    CartId, CustomerId, Email, LineItem, Money, OrderId, PaymentId, PostalAddress, Quantity, Sku,
};

/// A quantity of one order line (lines are identified by SKU within an order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineQuantity {
    pub sku: Sku,
    pub quantity: Quantity,
}

/// Who cancelled an order: kept so auditors and notifications can tell a
/// customer's change of mind from an admin's decision or an automatic one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelledBy {
    Customer,
    Admin,
    /// The checkout process manager, e.g. when stock or payment could not be had.
    System,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum OrderCommand {
    /// Creates the order from a checked-out cart. Prices and names are the ones the
    /// checkout took from the catalog; the order computes the totals itself.
    PlaceOrder {
        order_id: OrderId,
        cart_id: CartId,
        /// `None` for a guest checkout.
        #[serde(default)]
        customer_id: Option<CustomerId>,
        email: Email,
        shipping_address: PostalAddress,
        lines: Vec<LineItem>,
        shipping_cost: Money,
        placed_at: DateTime<Utc>,
    },
    /// Inventory reserved the whole quantity of this line.
    RecordStockReserved {
        sku: Sku,
    },
    /// Inventory could not reserve this line.
    RecordStockUnavailable {
        sku: Sku,
    },
    /// The payment gateway authorized `amount` (the order total) for this order.
    RecordPaymentAuthorized {
        payment_id: PaymentId,
        amount: Money,
    },
    /// The payment gateway refused this payment; another may be tried.
    RecordPaymentFailed {
        payment_id: PaymentId,
        reason: String,
    },
    /// Releases a reserved and paid order to the warehouse.
    ConfirmOrder {},
    ShipOrder {
        shipment_id: ShipmentId,
        lines: Vec<LineQuantity>,
        carrier: String,
        tracking_number: String,
        shipped_at: DateTime<Utc>,
    },
    DeliverOrder {
        delivered_at: DateTime<Utc>,
    },
    /// Cancels the whole order; only before anything has shipped.
    CancelOrder {
        reason: String,
        cancelled_by: CancelledBy,
    },
    /// Cancels unshipped quantities of a confirmed or partially shipped order.
    CancelOrderLines {
        lines: Vec<LineQuantity>,
        reason: String,
    },
    RequestReturn {
        return_id: ReturnId,
        lines: Vec<LineQuantity>,
        reason: String,
    },
    /// The warehouse received the goods of a requested return.
    ReceiveReturn {
        return_id: ReturnId,
    },
    /// Money went back to the customer through `payment_id`; `lines` say what it
    /// was for, and may be empty (shipping, goodwill).
    RecordRefund {
        refund_id: RefundId,
        payment_id: PaymentId,
        amount: Money,
        #[serde(default)]
        lines: Vec<LineQuantity>,
    },
}

impl OrderCommand {
    /// The command's name, for the `command` metadata key and logs.
    pub const fn name(&self) -> &'static str {
        match self {
            OrderCommand::PlaceOrder { .. } => "PlaceOrder",
            OrderCommand::RecordStockReserved { .. } => "RecordStockReserved",
            OrderCommand::RecordStockUnavailable { .. } => "RecordStockUnavailable",
            OrderCommand::RecordPaymentAuthorized { .. } => "RecordPaymentAuthorized",
            OrderCommand::RecordPaymentFailed { .. } => "RecordPaymentFailed",
            OrderCommand::ConfirmOrder {} => "ConfirmOrder",
            OrderCommand::ShipOrder { .. } => "ShipOrder",
            OrderCommand::DeliverOrder { .. } => "DeliverOrder",
            OrderCommand::CancelOrder { .. } => "CancelOrder",
            OrderCommand::CancelOrderLines { .. } => "CancelOrderLines",
            OrderCommand::RequestReturn { .. } => "RequestReturn",
            OrderCommand::ReceiveReturn { .. } => "ReceiveReturn",
            OrderCommand::RecordRefund { .. } => "RecordRefund",
        }
    }
}
