//! Why an order refuses a command. Business refusals only: each message reaches the
//! API client as `detail`, and [`OrderError::code`] as the stable `code`.

use chrono::{DateTime, Utc};

use super::{EditId, OrderStatus, RefundId, ReturnId, ShipmentId};
use crate::shared::{Currency, Money, PaymentId, Sku};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    #[error("no order has been placed with this id")]
    NotFound,
    #[error("an order with this id has already been placed")]
    AlreadyExists,
    /// The command is not allowed in the order's current state.
    #[error("cannot {action} an order in state {state}")]
    IllegalTransition {
        state: OrderStatus,
        action: &'static str,
    },
    #[error("an order needs at least one line")]
    EmptyOrder,
    #[error("SKU {sku} appears more than once; give each SKU one line")]
    DuplicateSku { sku: Sku },
    #[error("amounts must all be in {expected}, got {found}")]
    CurrencyMismatch { expected: Currency, found: Currency },
    #[error("the unit price of SKU {sku} is negative")]
    NegativePrice { sku: Sku },
    #[error("the shipping cost is negative")]
    NegativeShippingCost,
    #[error("the priced cart does not fit the order's lines, or its figures do not add up")]
    PricingMismatch,
    #[error("this order was discounted or taxed on top of its prices; edits re-price at unit prices, so it cannot be edited: cancel lines and place a new order instead")]
    DiscountedOrderNotEditable,
    #[error("the order's amounts are too large to add up")]
    AmountTooLarge,
    #[error("SKU {sku} is not a line of this order")]
    UnknownSku { sku: Sku },
    #[error("the stock of SKU {sku} was already recorded as {recorded}")]
    StockAlreadyRecorded { sku: Sku, recorded: &'static str },
    #[error("payment {payment_id} is already authorized for this order")]
    PaymentAlreadyAuthorized { payment_id: PaymentId },
    #[error("payment {payment_id} was already recorded as failed")]
    PaymentAlreadyFailed { payment_id: PaymentId },
    #[error("the authorized amount {authorized} differs from the order total {expected}")]
    PaymentAmountMismatch { expected: Money, authorized: Money },
    #[error("cannot confirm an order in state {state} before a payment is authorized")]
    PaymentNotAuthorized { state: OrderStatus },
    #[error("a shipment needs at least one line")]
    EmptyShipment,
    #[error("shipment {shipment_id} has already been recorded")]
    ShipmentIdReused { shipment_id: ShipmentId },
    #[error("the carrier must be 1 to 100 printable characters")]
    InvalidCarrier,
    #[error("the tracking number must be 1 to 100 printable characters")]
    InvalidTrackingNumber,
    #[error("cannot take {requested} of SKU {sku}: only {unshipped} remain unshipped")]
    ExceedsUnshipped {
        sku: Sku,
        requested: u32,
        unshipped: u32,
    },
    #[error("an order in state {state} has shipped goods and cannot be cancelled; cancel its unshipped lines instead")]
    AlreadyShipped { state: OrderStatus },
    #[error("a reason must be 1 to 500 characters and not blank")]
    InvalidReason,
    #[error("name at least one line to cancel")]
    NoLinesToCancel,
    #[error(
        "these are all the unshipped goods of an order in state {state}; cancel the order instead"
    )]
    WouldCancelWholeOrder { state: OrderStatus },
    #[error("a return needs at least one line")]
    EmptyReturn,
    #[error("return {return_id} has already been requested")]
    ReturnIdReused { return_id: ReturnId },
    #[error(
        "cannot return {requested} of SKU {sku}: only {returnable} delivered and not yet returned"
    )]
    ExceedsReturnable {
        sku: Sku,
        requested: u32,
        returnable: u32,
    },
    #[error("the return window closed at {closed_at} (delivered at {delivered_at})")]
    ReturnWindowClosed {
        delivered_at: DateTime<Utc>,
        closed_at: DateTime<Utc>,
    },
    #[error("a note must be 1 to 500 characters and not blank")]
    InvalidNote,
    #[error("the replacement {sku} needs a name of 1 to 200 characters")]
    InvalidReplacement { sku: Sku },
    #[error("return {return_id} is {status}; this needs it {expected}")]
    ReturnNotInState {
        return_id: ReturnId,
        status: &'static str,
        expected: &'static str,
    },
    #[error("say in which condition SKU {sku} arrived: resellable or damaged")]
    ConditionMissing { sku: Sku },
    #[error(
        "a restocking fee must be between zero and the return's value {return_value}, got {fee}"
    )]
    InvalidRestockingFee { fee: Money, return_value: Money },
    #[error("captures would reach {captured}, more than the {authorized} authorized")]
    CaptureExceedsAuthorized { captured: Money, authorized: Money },
    #[error("cannot refund {requested}: only {refundable} of what was captured is neither refunded nor held for a refund")]
    RefundExceedsCaptured { requested: Money, refundable: Money },
    #[error("a credit must be between zero and the order's total {total}, got {credit}")]
    InvalidCredit { credit: Money, total: Money },
    #[error("edit {edit_id} is still being carried out; try again in a moment")]
    EditPending { edit_id: EditId },
    #[error("an edit needs at least one change")]
    EmptyEdit,
    #[error("this order belongs to a customer: erase the customer instead")]
    OrderHasCustomer,
    #[error("SKU {sku} is already a line of this order; change its quantity instead")]
    LineExists { sku: Sku },
    #[error("SKU {sku} cannot be set to {requested}: it must stay above the {cancelled} cancelled and differ from the {ordered} ordered")]
    InvalidEditQuantity {
        sku: Sku,
        requested: u32,
        ordered: u32,
        cancelled: u32,
    },
    #[error("this order has no edit {edit_id} waiting to be settled")]
    UnknownEdit { edit_id: EditId },
    #[error("units of this order remain to ship: refund once it has shipped, or cancel the unshipped lines")]
    RefundBeforeFullyShipped,
    #[error("this order has no return {return_id}")]
    UnknownReturn { return_id: ReturnId },
    #[error("return {return_id} has already been received")]
    ReturnAlreadyReceived { return_id: ReturnId },
    #[error("an order in state {state} has no authorized payment to refund")]
    NoPaymentToRefund { state: OrderStatus },
    #[error("payment {payment_id} is not the payment of this order")]
    UnknownPayment { payment_id: PaymentId },
    #[error("a refund must be a positive amount, got {amount}")]
    InvalidRefundAmount { amount: Money },
    #[error("cannot refund {requested}: only {refundable} of the amount paid remains unrefunded")]
    RefundExceedsPaid { requested: Money, refundable: Money },
    #[error("refund {refund_id} has already been recorded with other figures")]
    RefundIdReused { refund_id: RefundId },
    #[error(
        "cannot refund {requested} of SKU {sku}: only {refundable} ordered and not yet refunded"
    )]
    ExceedsRefundableQuantity {
        sku: Sku,
        requested: u32,
        refundable: u32,
    },
}

impl OrderError {
    /// A stable snake_case code per variant, for API clients to branch on.
    pub fn code(&self) -> &'static str {
        match self {
            OrderError::NotFound => "not_found",
            OrderError::AlreadyExists => "already_exists",
            OrderError::IllegalTransition { .. } => "illegal_transition",
            OrderError::EmptyOrder => "empty_order",
            OrderError::DuplicateSku { .. } => "duplicate_sku",
            OrderError::CurrencyMismatch { .. } => "currency_mismatch",
            OrderError::NegativePrice { .. } => "negative_price",
            OrderError::NegativeShippingCost => "negative_shipping_cost",
            OrderError::PricingMismatch => "pricing_mismatch",
            OrderError::DiscountedOrderNotEditable => "discounted_order_not_editable",
            OrderError::AmountTooLarge => "amount_too_large",
            OrderError::UnknownSku { .. } => "unknown_sku",
            OrderError::StockAlreadyRecorded { .. } => "stock_already_recorded",
            OrderError::PaymentAlreadyAuthorized { .. } => "payment_already_authorized",
            OrderError::PaymentAlreadyFailed { .. } => "payment_already_failed",
            OrderError::PaymentAmountMismatch { .. } => "payment_amount_mismatch",
            OrderError::PaymentNotAuthorized { .. } => "payment_not_authorized",
            OrderError::EmptyShipment => "empty_shipment",
            OrderError::ShipmentIdReused { .. } => "shipment_id_reused",
            OrderError::InvalidCarrier => "invalid_carrier",
            OrderError::InvalidTrackingNumber => "invalid_tracking_number",
            OrderError::ExceedsUnshipped { .. } => "exceeds_unshipped",
            OrderError::AlreadyShipped { .. } => "already_shipped",
            OrderError::InvalidReason => "invalid_reason",
            OrderError::NoLinesToCancel => "no_lines_to_cancel",
            OrderError::WouldCancelWholeOrder { .. } => "would_cancel_whole_order",
            OrderError::EmptyReturn => "empty_return",
            OrderError::ReturnIdReused { .. } => "return_id_reused",
            OrderError::ExceedsReturnable { .. } => "exceeds_returnable",
            OrderError::ReturnWindowClosed { .. } => "return_window_closed",
            OrderError::InvalidNote => "invalid_note",
            OrderError::InvalidReplacement { .. } => "invalid_replacement",
            OrderError::ReturnNotInState { .. } => "return_not_in_state",
            OrderError::ConditionMissing { .. } => "condition_missing",
            OrderError::InvalidRestockingFee { .. } => "invalid_restocking_fee",
            OrderError::CaptureExceedsAuthorized { .. } => "capture_exceeds_authorized",
            OrderError::RefundExceedsCaptured { .. } => "refund_exceeds_captured",
            OrderError::InvalidCredit { .. } => "invalid_credit",
            OrderError::EditPending { .. } => "edit_pending",
            OrderError::EmptyEdit => "empty_edit",
            OrderError::OrderHasCustomer => "order_has_customer",
            OrderError::LineExists { .. } => "line_exists",
            OrderError::InvalidEditQuantity { .. } => "invalid_edit_quantity",
            OrderError::UnknownEdit { .. } => "unknown_edit",
            OrderError::RefundBeforeFullyShipped => "refund_before_fully_shipped",
            OrderError::UnknownReturn { .. } => "unknown_return",
            OrderError::ReturnAlreadyReceived { .. } => "return_already_received",
            OrderError::NoPaymentToRefund { .. } => "no_payment_to_refund",
            OrderError::UnknownPayment { .. } => "unknown_payment",
            OrderError::InvalidRefundAmount { .. } => "invalid_refund_amount",
            OrderError::RefundExceedsPaid { .. } => "refund_exceeds_paid",
            OrderError::RefundIdReused { .. } => "refund_id_reused",
            OrderError::ExceedsRefundableQuantity { .. } => "exceeds_refundable_quantity",
        }
    }
}
