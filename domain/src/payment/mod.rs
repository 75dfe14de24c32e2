//! The Payment aggregate: the payment of one order through a card gateway, kept as
//! an append-only transaction log (initiation, the gateway's decision, captures, a
//! void, refunds, each with the gateway's reference) from which its status and
//! figures derive.
//!
//! The gateway call itself lives in `commands/`; its answer (synchronous or by
//! webhook) arrives here as a command carrying the decision. Never holds a card
//! number: only the gateway's token ([`crate::shared::PaymentMethodToken`], which
//! refuses card-number shapes) and, at most, the brand and last four digits
//! ([`CardSummary`]).
//!
//! Rules:
//! - the initiated amount is greater than zero; every later amount is greater
//!   than zero and in the same currency;
//! - the authorization is at most the initiated amount;
//! - captures: total captured ≤ authorized; capturing ends with a void or with
//!   the first refund (the uncaptured rest is released);
//! - void: only before any capture (afterwards: refund);
//! - refunds: total refunded ≤ captured;
//! - a gateway report already recorded (same kind, same reference, same amount) is
//!   a no-op; the same reference with another amount is refused;
//! - declined, failed, voided and refunded are final. A failed payment is not
//!   retried: the checkout initiates a new one.
//!
//! State machine (status after each command; anything else is refused and the
//! refusal names the current status):
//!
//! | from | command | to |
//! | --- | --- | --- |
//! | (none) | InitiatePayment | pending |
//! | pending, action_required | RecordActionRequired | action_required |
//! | pending, action_required | RecordAuthorization | authorized |
//! | pending, action_required | RecordDecline | declined |
//! | pending, action_required | RecordFailure | failed |
//! | action_required, authorized | Void | voided |
//! | authorized, partially_captured | Capture | partially_captured or captured (all authorized) |
//! | partially_captured, captured, partially_refunded | Refund | partially_refunded or refunded (all captured) |
//!
//! ```text
//! pending ──┬──► action_required ──┬──► authorized
//!           │    (⟲ asks again)    ├──► declined | failed
//!           │                      └──► voided
//!           ├──► authorized
//!           └──► declined | failed
//!
//! authorized ──┬──► voided
//!              └─capture─► partially_captured ─capture─► captured
//!                  (all: captured)  │                        │
//!                                 refund                   refund
//!                                   ▼                        ▼
//!                          partially_refunded ───refund───► refunded
//! ```

mod aggregate;
mod card_summary;
mod commands;
mod decide;
mod errors;
mod events;
mod gateway_reference;
mod next_action;
mod status;

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;

pub use aggregate::Payment;
pub use card_summary::{CardSummary, CardSummaryError, CardSummaryFields};
pub use commands::PaymentCommand;
pub use errors::{PaymentError, TransactionKind};
pub use events::{PaymentEvent, PaymentFigures, EVENT_TYPES};
pub use gateway_reference::{GatewayReference, GatewayReferenceError};
pub use next_action::{NextAction, NextActionError, NextActionFields};
pub use status::PaymentStatus;
