//! What after-the-sale commands and events say about returns, exchanges and
//! refunds: closed lists (so reports can group by them) and the small records the
//! order keeps.

use serde::{Deserialize, Serialize};

use super::{EditId, LineQuantity, RefundId, ReturnId};
use crate::shared::{Money, OrderId, PaymentId, Quantity, Sku};

/// Why a customer sends a unit back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnReason {
    /// Arrived broken.
    Damaged,
    /// Does not work.
    Defective,
    /// Not what was ordered.
    WrongItem,
    NotAsDescribed,
    NoLongerNeeded,
    Other,
}

impl ReturnReason {
    pub const ALL: [ReturnReason; 6] = [
        ReturnReason::Damaged,
        ReturnReason::Defective,
        ReturnReason::WrongItem,
        ReturnReason::NotAsDescribed,
        ReturnReason::NoLongerNeeded,
        ReturnReason::Other,
    ];
}

/// What the warehouse found when a returned line arrived: resellable units go back
/// to stock, damaged ones do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnCondition {
    Resellable,
    Damaged,
    /// Received before conditions were recorded (`OrderReturnReceived` version 1):
    /// nothing was restocked for it.
    Unrecorded,
}

/// Units of another SKU a customer wants instead of the ones sent back. Its name
/// and price are the catalog's when the return was requested.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replacement {
    pub sku: Sku,
    pub name: String,
    pub unit_price: Money,
    pub quantity: Quantity,
}

/// One line of a return request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnRequestLine {
    pub sku: Sku,
    pub quantity: Quantity,
    pub reason: ReturnReason,
    /// The customer's words, up to 500 characters.
    #[serde(default)]
    pub note: Option<String>,
    /// Asks for replacement units instead of money back.
    #[serde(default)]
    pub exchange_for: Option<Replacement>,
}

/// The condition one returned line arrived in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineCondition {
    pub sku: Sku,
    pub condition: ReturnCondition,
}

/// Where a return stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnStatus {
    /// Asked for by the customer; an admin has not decided yet.
    Requested,
    /// The customer may send the goods.
    Approved,
    /// Refused; its units may be asked back again in another return.
    Rejected,
    /// The goods arrived; the refund and any replacement follow.
    Received,
}

impl ReturnStatus {
    pub const fn as_str(&self) -> &'static str {
        match self {
            ReturnStatus::Requested => "requested",
            ReturnStatus::Approved => "approved",
            ReturnStatus::Rejected => "rejected",
            ReturnStatus::Received => "received",
        }
    }
}

/// What a refund gives money back for: every refund names it, so the payment's
/// refund, the order's and the accounts agree on why money left.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RefundFor {
    /// The received lines of a return, minus any restocking fee.
    Return { return_id: ReturnId },
    /// Cancelled lines whose money had already been captured.
    LineCancellation,
    /// An admin's decision outside any return (a late parcel, a gesture).
    Goodwill,
    /// Recorded before refunds named their purpose (`OrderRefundRecorded`
    /// version 1).
    Unstated,
}

/// A refund decided on the order, which the checkout process issues through the
/// gateway and then records. Until it is recorded its amount is held: no other
/// refund may take it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRefund {
    pub refund_id: RefundId,
    pub payment_id: PaymentId,
    pub amount: Money,
    pub lines: Vec<LineQuantity>,
    pub for_what: RefundFor,
}

/// What a replacement order replaces: the return of another order whose value
/// pays for it, up to `credit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replaces {
    pub order_id: OrderId,
    pub return_id: ReturnId,
    /// Taken off the replacement order's total (at most the total).
    pub credit: Money,
}

/// One change of an order edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum LineEdit {
    /// A line's ordered quantity becomes `quantity` (more than it has cancelled).
    SetQuantity { sku: Sku, quantity: Quantity },
    /// A SKU the order does not have yet, at the catalog's name and price now.
    AddLine {
        sku: Sku,
        name: String,
        unit_price: Money,
        quantity: Quantity,
    },
}

/// A line as an edit changed it: what was ordered before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditedLine {
    pub sku: Sku,
    pub name: String,
    pub unit_price: Money,
    /// Zero for a line the edit added.
    pub ordered_before: u32,
    pub ordered_after: u32,
}

/// An edit recorded and not yet settled: its stock and payment are on their way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingEdit {
    pub edit_id: EditId,
    pub lines: Vec<EditedLine>,
    pub total_before: Money,
    pub total_after: Money,
}
