//! Why a payment refuses a command. Business refusals only: malformed input (a bad
//! token, reference or card summary) cannot even be built, so it never gets here.
//! Refusals of a transition name the payment's current status.

use std::fmt;

use super::{GatewayReference, PaymentStatus};
use crate::shared::{Currency, Money};

/// The kinds of gateway transaction whose references make a report idempotent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionKind {
    Authorization,
    Capture,
    Release,
    Increase,
    Refund,
}

impl fmt::Display for TransactionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransactionKind::Authorization => "authorization",
            TransactionKind::Capture => "capture",
            TransactionKind::Release => "release",
            TransactionKind::Increase => "increase",
            TransactionKind::Refund => "refund",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    #[error("no payment has been initiated under this id")]
    NotFound,
    #[error("this payment has already been initiated")]
    AlreadyExists,
    #[error("the amount must be greater than zero, got {amount}")]
    NonPositiveAmount { amount: Money },
    #[error("this payment is in {expected}; an amount in {got} cannot be applied to it")]
    CurrencyMismatch { expected: Currency, got: Currency },
    #[error("cannot authorize {requested}: the payment was initiated for {initiated}")]
    AuthorizationExceedsAmount { requested: Money, initiated: Money },
    #[error(
        "cannot capture {requested}: only {remaining} of the authorization remains to be captured"
    )]
    CaptureExceedsAuthorized { requested: Money, remaining: Money },
    #[error("cannot refund {requested}: only {refundable} of the captured amount remains to be refunded")]
    RefundExceedsCaptured { requested: Money, refundable: Money },
    #[error("cannot void {}: {captured} has been captured, and only a refund gives captured money back", .status.a_payment())]
    VoidAfterCapture {
        status: PaymentStatus,
        captured: Money,
    },
    #[error("{kind} {reference} is already recorded for {recorded}; the same reference cannot carry {requested}")]
    GatewayReferenceConflict {
        kind: TransactionKind,
        reference: GatewayReference,
        recorded: Money,
        requested: Money,
    },
    #[error("cannot ask the customer to act on {}", .status.a_payment())]
    ActionRequiredNotAllowed { status: PaymentStatus },
    #[error("cannot authorize {}", .status.a_payment())]
    AuthorizationNotAllowed { status: PaymentStatus },
    #[error("cannot decline {}", .status.a_payment())]
    DeclineNotAllowed { status: PaymentStatus },
    #[error("cannot record a gateway failure on {}", .status.a_payment())]
    FailureNotAllowed { status: PaymentStatus },
    #[error("cannot capture {}", .status.a_payment())]
    CaptureNotAllowed { status: PaymentStatus },
    #[error("cannot void {}", .status.a_payment())]
    VoidNotAllowed { status: PaymentStatus },
    #[error("cannot refund {}", .status.a_payment())]
    RefundNotAllowed { status: PaymentStatus },
    #[error("cannot raise the authorization of {}", .status.a_payment())]
    IncreaseNotAllowed { status: PaymentStatus },
    #[error("cannot release part of the authorization of {}", .status.a_payment())]
    ReleaseNotAllowed { status: PaymentStatus },
    #[error(
        "cannot release {requested}: only {remaining} of the authorization remains capturable"
    )]
    ReleaseExceedsCapturable { requested: Money, remaining: Money },
}

impl PaymentError {
    /// The stable code API clients match on (the HTTP layer answers 422 with it).
    pub fn code(&self) -> &'static str {
        match self {
            PaymentError::NotFound => "not_found",
            PaymentError::AlreadyExists => "already_exists",
            PaymentError::NonPositiveAmount { .. } => "amount_not_positive",
            PaymentError::CurrencyMismatch { .. } => "currency_mismatch",
            PaymentError::AuthorizationExceedsAmount { .. } => "authorization_exceeds_amount",
            PaymentError::CaptureExceedsAuthorized { .. } => "capture_exceeds_authorized",
            PaymentError::RefundExceedsCaptured { .. } => "refund_exceeds_captured",
            PaymentError::VoidAfterCapture { .. } => "void_after_capture",
            PaymentError::GatewayReferenceConflict { .. } => "gateway_reference_conflict",
            PaymentError::ActionRequiredNotAllowed { .. } => "action_required_not_allowed",
            PaymentError::AuthorizationNotAllowed { .. } => "authorization_not_allowed",
            PaymentError::DeclineNotAllowed { .. } => "decline_not_allowed",
            PaymentError::FailureNotAllowed { .. } => "failure_not_allowed",
            PaymentError::CaptureNotAllowed { .. } => "capture_not_allowed",
            PaymentError::VoidNotAllowed { .. } => "void_not_allowed",
            PaymentError::RefundNotAllowed { .. } => "refund_not_allowed",
            PaymentError::ReleaseNotAllowed { .. } => "release_not_allowed",
            PaymentError::IncreaseNotAllowed { .. } => "increase_not_allowed",
            PaymentError::ReleaseExceedsCapturable { .. } => "release_exceeds_capturable",
        }
    }
}
