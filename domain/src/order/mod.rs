//! The Order aggregate: one customer's purchase from the moment a checkout places
//! it until its last return and refund. Stream id: the
//! [`OrderId`](crate::shared::OrderId); aggregate type `"Order"`.
//!
//! An order is placed from a checkout with its lines (unique SKUs, one currency),
//! and computes its own subtotal and total. The checkout process manager then
//! records, line by line, whether inventory reserved the stock; once every line is
//! reserved the order awaits payment, and once a payment of exactly the total is
//! authorized it can be confirmed. A confirmed order ships in one or more
//! shipments; unshipped quantities can be cancelled line by line (their value is
//! announced for refund); once nothing remains to ship the order is shipped, then
//! delivered. Delivered lines can be returned, and refunds are recorded against
//! the authorized payment, never beyond it.
//!
//! # State machine
//!
//! ```text
//!                PlaceOrder
//!                    │
//!                    ▼
//!                 placed ──────── RecordStockReserved, RecordStockUnavailable
//!                    │            (an unavailable line keeps the order here)
//!                    │ RecordStockReserved of the last line (OrderFullyReserved)
//!                    ▼
//!            awaiting_payment ─── RecordPaymentAuthorized, RecordPaymentFailed
//!                    │
//!                    │ ConfirmOrder (a payment is authorized)
//!                    ▼
//!                confirmed ────── CancelOrderLines (something remains to ship; every
//!                    │            unit of it: the order is cancelled), EditOrder →
//!                    │            RecordEditSettled | RevertEdit
//!                    │
//!                    │ ShipOrder (something remains to ship)
//!                    ▼
//!            partially_shipped ── ShipOrder, CancelOrderLines (something remains)
//!                    │
//!                    │ ShipOrder or CancelOrderLines (nothing remains to ship);
//!                    ▼ from confirmed directly when one shipment takes everything
//!                 shipped
//!                    │
//!                    │ DeliverOrder
//!                    ▼
//!                delivered ────── RequestReturn → ApproveReturn | RejectReturn,
//!                                 ReceiveReturn (approved only)
//!
//! placed | awaiting_payment | confirmed ── CancelOrder ──► cancelled (final)
//!
//! RecordPaymentCaptured, RequestRefund, RecordRefund: in confirmed and every later
//! state (refunds also in cancelled when a payment was authorized); they never
//! change the state. A pending edit holds back ShipOrder, CancelOrder and
//! CancelOrderLines (`edit_pending`).
//! ```
//!
//! | state | accepted | refused (with `illegal_transition` or a specific code naming the state) |
//! | --- | --- | --- |
//! | placed | RecordStockReserved, RecordStockUnavailable, CancelOrder | payment facts, ConfirmOrder, ShipOrder, DeliverOrder, CancelOrderLines, returns, RecordRefund |
//! | awaiting_payment | RecordPaymentAuthorized, RecordPaymentFailed, ConfirmOrder, CancelOrder | ShipOrder, DeliverOrder, CancelOrderLines, returns, RecordRefund |
//! | confirmed | ShipOrder, CancelOrderLines, CancelOrder, EditOrder, RecordEditSettled, RevertEdit, RequestRefund, RecordRefund | stock and payment facts (except repeats), DeliverOrder, returns |
//! | partially_shipped | ShipOrder, CancelOrderLines, RecordRefund | CancelOrder (`already_shipped`), DeliverOrder, returns |
//! | shipped | DeliverOrder, RecordRefund | ShipOrder, CancelOrder (`already_shipped`), CancelOrderLines, returns |
//! | delivered | RequestReturn, ApproveReturn, RejectReturn, ReceiveReturn, RequestRefund, RecordRefund | everything else (`already_shipped` for CancelOrder) |
//! | cancelled | RecordRefund (when a payment was authorized) | everything else |
//!
//! Rules the table does not show:
//! - **Repeats are no-ops.** The process manager may redeliver a command after a
//!   crash. Recording a stock outcome, a payment authorization or failure, a
//!   confirmation, a cancellation (same reason and author) or a refund (same id and
//!   figures) that is already recorded returns no events, in any state. A
//!   *different* fact in the same place is refused (`stock_already_recorded`,
//!   `payment_already_authorized`, `payment_already_failed`, `refund_id_reused`).
//! - **Stock outcomes are final per line.** An unavailable line keeps the order in
//!   `placed`: it can never become fully reserved, and the process manager is
//!   expected to cancel it (`cancelled_by: system`); `OrderCancelled` lists the
//!   reserved quantities to release.
//! - **One payment.** Payments are recorded only while `awaiting_payment`, for
//!   exactly the order total; after a failure another payment may be tried, but not
//!   the failed one again.
//! - **Quantities per line:** shipped + cancelled ≤ ordered; a shipment or a line
//!   cancellation takes at most the unshipped quantity; returns take at most the
//!   delivered quantity not yet asked back; refund lines at most the ordered
//!   quantity not yet named by a refund.
//! - **Cancelling lines** is for unshipped quantities of a `confirmed` or
//!   `partially_shipped` order. When nothing remains to ship afterwards, a partially
//!   shipped order becomes `shipped`; a confirmed one would have nothing shipped at
//!   all, so that is refused (`would_cancel_whole_order`): cancel the order, which
//!   also gives back the shipping cost.
//! - **Cancelling the order** is possible until the first shipment. The event says
//!   what to release: reserved stock, and `amount_to_release` = the order total
//!   minus cancelled lines, capped at what has not been refunded.
//! - **Refunds** go to the authorized payment only. A requested refund
//!   (`RequestRefund`, and the refund a received return holds) is held at once
//!   against what was captured minus what is refunded or held, so racing refunds
//!   cannot both take the same money; `RecordRefund` completes it. Returned goods
//!   stay `delivered`: a return does not change the state, only the line figures.
//! - **Returns** are asked within the return window after delivery (the window's
//!   length comes in the command), approved or rejected by an admin, and received
//!   with each line's condition; the receipt settles fee, refund and replacements
//!   (an exchange's replacement order, [`replacement_of`], takes the credit).
//! - **Edits** change a confirmed order's lines at once; stock and payment follow
//!   through the process, which settles or reverts the edit.

mod after_sale;
mod aggregate;
mod commands;
mod decide;
mod edits;
mod errors;
mod events;
mod ids;
mod returns;
mod status;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use after_sale::{refund_of, replacement_of};
pub use aggregate::{
    AuthorizedPayment, Cancellation, Order, OrderLine, PlacedOrder, RefundRecord, ReturnRecord,
    StockOutcome,
};
pub use commands::{CancelledBy, LineQuantity, OrderCommand};
pub use errors::OrderError;
pub use events::{
    CancelledLine, OrderEvent, PlacedLine, ReceivedLine, ReturnLine, ShippedLine, EVENT_TYPES,
};
pub use ids::{EditId, RefundId, ReturnId, ShipmentId};
pub use returns::{
    EditedLine, LineCondition, LineEdit, PendingEdit, PendingRefund, RefundFor, Replacement,
    Replaces, ReturnCondition, ReturnReason, ReturnRequestLine, ReturnStatus,
};
pub use status::OrderStatus;
