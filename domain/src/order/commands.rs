//! What may be asked of an order. The checkout process manager sends the
//! `Record...` commands and `ConfirmOrder`, and may send each of them twice after a
//! crash: a repeat of a fact already recorded is accepted and changes nothing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{
    EditId, LineCondition, LineEdit, RefundFor, RefundId, Replaces, ReturnId, ReturnRequestLine,
    ShipmentId,
};
use crate::payment::GatewayReference;
use crate::pricing::PricedCart;
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

// A command is built, decided once and dropped, never kept in bulk: the size of
// `PlaceOrder` (the address inline) costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
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
        /// For the replacement order of an exchange: the return that pays for it.
        #[serde(default)]
        replaces: Option<Replaces>,
        /// The cart as priced at checkout: discounts, shipping, tax and total are
        /// taken from it, frozen (`shipping_cost` is then its shipping).
        #[serde(default)]
        pricing: Option<PricedCart>,
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
    /// Cancels unshipped quantities of a confirmed or partially shipped order (a
    /// customer: of a confirmed order only, before anything shipped). Cancelling
    /// every unit still to ship of an order nothing shipped of cancels the order.
    CancelOrderLines {
        lines: Vec<LineQuantity>,
        reason: String,
        cancelled_by: CancelledBy,
    },
    /// The customer asks to send delivered units back, within the return window.
    RequestReturn {
        return_id: ReturnId,
        lines: Vec<ReturnRequestLine>,
        requested_at: DateTime<Utc>,
        /// Days after delivery during which returns are accepted (a setting of the
        /// command side, placed here so the rule stays pure).
        return_window_days: u32,
    },
    /// An admin lets the customer send the goods of a requested return.
    ApproveReturn {
        return_id: ReturnId,
    },
    /// An admin refuses a requested return; its units may be asked back again.
    RejectReturn {
        return_id: ReturnId,
        reason: String,
    },
    /// The warehouse received the goods of an approved return, in these
    /// conditions (one per line). The refund (the lines' value at the price paid,
    /// minus `restocking_fee` and any replacement) is decided with it.
    ReceiveReturn {
        return_id: ReturnId,
        conditions: Vec<LineCondition>,
        #[serde(default)]
        restocking_fee: Option<Money>,
    },
    /// An admin changes a confirmed order before it ships: quantities of its
    /// lines, or new lines. The process reserves the stock and adjusts the
    /// payment's authorization, then settles the edit (or reverts it).
    EditOrder {
        edit_id: EditId,
        changes: Vec<LineEdit>,
        reason: String,
        /// Who edited (the actor's subject), for the order's history.
        edited_by: String,
    },
    /// The edit's stock is held and the authorization follows the new total.
    RecordEditSettled {
        edit_id: EditId,
    },
    /// The edit could not be carried out (stock, payment): the lines go back.
    RevertEdit {
        edit_id: EditId,
        reason: String,
    },
    /// The gateway captured `amount` of this order's payment (sent by the process
    /// after each capture): refunds are decided against what was captured.
    RecordPaymentCaptured {
        payment_id: PaymentId,
        gateway_reference: GatewayReference,
        amount: Money,
    },
    /// An admin decides to give money back; the process issues it through the
    /// gateway and records it. `lines` say what it is for, and may be empty.
    RequestRefund {
        refund_id: RefundId,
        amount: Money,
        #[serde(default)]
        lines: Vec<LineQuantity>,
        reason: String,
        /// What it gives money back for; `goodwill` when absent (an admin's).
        #[serde(default)]
        for_what: Option<RefundFor>,
    },
    /// Money went back to the customer through `payment_id`: a requested refund
    /// completed (same id and figures), or one made at the gateway directly.
    /// `lines` say what it was for, and may be empty (shipping, goodwill).
    RecordRefund {
        refund_id: RefundId,
        payment_id: PaymentId,
        amount: Money,
        #[serde(default)]
        lines: Vec<LineQuantity>,
        /// What a refund made without a request is for (a requested one already
        /// says); `goodwill` when absent.
        #[serde(default)]
        for_what: Option<RefundFor>,
    },
    /// A guest's right to be forgotten: the command side destroys the order's
    /// data key (a guest's data is sealed under their order) in the same
    /// transaction. Refused for an order of a customer, whose erasure covers it.
    EraseGuestData {
        erased_at: DateTime<Utc>,
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
            OrderCommand::ApproveReturn { .. } => "ApproveReturn",
            OrderCommand::RejectReturn { .. } => "RejectReturn",
            OrderCommand::ReceiveReturn { .. } => "ReceiveReturn",
            OrderCommand::RecordPaymentCaptured { .. } => "RecordPaymentCaptured",
            OrderCommand::EditOrder { .. } => "EditOrder",
            OrderCommand::RecordEditSettled { .. } => "RecordEditSettled",
            OrderCommand::RevertEdit { .. } => "RevertEdit",
            OrderCommand::RequestRefund { .. } => "RequestRefund",
            OrderCommand::RecordRefund { .. } => "RecordRefund",
            OrderCommand::EraseGuestData { .. } => "EraseGuestData",
        }
    }
}
