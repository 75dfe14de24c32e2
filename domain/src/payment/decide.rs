//! The rules: each command either becomes one event, is refused, or (a gateway
//! report already recorded) changes nothing.
//!
//! Everything the gateway says may arrive twice: its synchronous answer and its
//! webhook race, and a crashed worker redelivers. So a report whose gateway
//! reference is already recorded for the same kind of transaction with the same
//! amount is a no-op, whatever the payment's status by now; the same reference
//! with another amount is refused. A decline or a failure arriving again for a
//! payment already declined or failed is a no-op too. That is how a webhook and a
//! client completing the same payment end in one transition, not two.

use super::aggregate::PaymentRecord;
use super::{
    CardSummary, GatewayReference, NextAction, Payment, PaymentCommand, PaymentError, PaymentEvent,
    PaymentStatus, TransactionKind,
};
use crate::order::RefundId;
use crate::shared::{CustomerId, Money, OrderId, PaymentId, PaymentMethodToken};

use PaymentStatus as S;

/// The outcome of a command: `Ok(None)` when it repeats what is recorded. Each
/// rule builds its event with the figures before it; [`Payment::decide`] replaces
/// them with the figures after it, derived from the evolved state.
type Decision = Result<Option<PaymentEvent>, PaymentError>;

impl Payment {
    /// Decides `command` against the current state, without changing it.
    pub fn decide(&self, command: PaymentCommand) -> Decision {
        if let PaymentCommand::InitiatePayment {
            payment_id,
            order_id,
            amount,
            method,
            customer_id,
        } = command
        {
            return self.initiate(payment_id, order_id, amount, method, customer_id);
        }
        let record = self.record.as_ref().ok_or(PaymentError::NotFound)?;
        let event = match command {
            PaymentCommand::InitiatePayment { .. } => return Err(PaymentError::AlreadyExists),
            PaymentCommand::RecordActionRequired {
                gateway_reference,
                next_action,
            } => record_action_required(record, gateway_reference, next_action)?,
            PaymentCommand::RecordAuthorization {
                gateway_reference,
                amount,
                card,
            } => record_authorization(record, gateway_reference, amount, card)?,
            PaymentCommand::RecordDecline {
                reason_code,
                message,
            } => record_decline(record, reason_code, message)?,
            PaymentCommand::RecordFailure { reason } => record_failure(record, reason)?,
            PaymentCommand::Capture {
                gateway_reference,
                amount,
            } => capture(record, gateway_reference, amount)?,
            PaymentCommand::Void { gateway_reference } => void(record, gateway_reference)?,
            PaymentCommand::ReleaseAuthorization {
                gateway_reference,
                amount,
            } => release(record, gateway_reference, amount)?,
            PaymentCommand::RecordAuthorizationIncreased {
                gateway_reference,
                amount,
            } => increase(record, gateway_reference, amount)?,
            PaymentCommand::Refund {
                gateway_reference,
                amount,
                reason,
                refund_id,
            } => refund(record, gateway_reference, amount, reason, refund_id)?,
        };
        Ok(event.map(|event| self.with_figures_after(event)))
    }

    fn initiate(
        &self,
        payment_id: PaymentId,
        order_id: OrderId,
        amount: Money,
        method: PaymentMethodToken,
        customer_id: Option<CustomerId>,
    ) -> Decision {
        if self.record.is_some() {
            return Err(PaymentError::AlreadyExists);
        }
        if amount.amount() <= 0 {
            return Err(PaymentError::NonPositiveAmount { amount });
        }
        let zero = Money::zero(amount.currency());
        let event = PaymentEvent::PaymentInitiated {
            payment_id,
            order_id,
            customer_id,
            amount,
            method,
            after: super::PaymentFigures {
                status: S::Pending,
                authorized_total: zero,
                captured_total: zero,
                refunded_total: zero,
                remaining_capturable: zero,
                refundable: zero,
            },
        };
        Ok(Some(self.with_figures_after(event)))
    }
}

/// The gateway's decision is still open: it may ask the customer to act (again,
/// with a new reference), authorize, decline or fail.
fn awaiting_decision(status: PaymentStatus) -> bool {
    matches!(status, S::Pending | S::ActionRequired)
}

fn record_action_required(
    record: &PaymentRecord,
    gateway_reference: GatewayReference,
    next_action: NextAction,
) -> Decision {
    if record
        .action_requests
        .iter()
        .any(|request| request.gateway_reference == gateway_reference)
    {
        return Ok(None);
    }
    let status = record.status();
    if !awaiting_decision(status) {
        return Err(PaymentError::ActionRequiredNotAllowed { status });
    }
    Ok(Some(PaymentEvent::PaymentActionRequired {
        payment_id: record.payment_id,
        order_id: record.order_id,
        gateway_reference,
        next_action,
        amount: record.amount,
        after: record.figures(),
    }))
}

fn record_authorization(
    record: &PaymentRecord,
    gateway_reference: GatewayReference,
    amount: Money,
    card: Option<CardSummary>,
) -> Decision {
    if let Some(authorization) = &record.authorization {
        if authorization.gateway_reference == gateway_reference {
            return repeated(
                TransactionKind::Authorization,
                gateway_reference,
                authorization.amount,
                amount,
            );
        }
    }
    let status = record.status();
    if !awaiting_decision(status) {
        return Err(PaymentError::AuthorizationNotAllowed { status });
    }
    check_amount(record, amount)?;
    if amount.amount() > record.amount.amount() {
        return Err(PaymentError::AuthorizationExceedsAmount {
            requested: amount,
            initiated: record.amount,
        });
    }
    Ok(Some(PaymentEvent::PaymentAuthorized {
        payment_id: record.payment_id,
        order_id: record.order_id,
        gateway_reference,
        amount,
        card,
        after: record.figures(),
    }))
}

fn record_decline(record: &PaymentRecord, reason_code: String, message: String) -> Decision {
    let status = record.status();
    if status == S::Declined {
        return Ok(None);
    }
    if !awaiting_decision(status) {
        return Err(PaymentError::DeclineNotAllowed { status });
    }
    Ok(Some(PaymentEvent::PaymentDeclined {
        payment_id: record.payment_id,
        order_id: record.order_id,
        reason_code,
        message,
        amount: record.amount,
        after: record.figures(),
    }))
}

fn record_failure(record: &PaymentRecord, reason: String) -> Decision {
    let status = record.status();
    if status == S::Failed {
        return Ok(None);
    }
    if !awaiting_decision(status) {
        return Err(PaymentError::FailureNotAllowed { status });
    }
    Ok(Some(PaymentEvent::PaymentFailed {
        payment_id: record.payment_id,
        order_id: record.order_id,
        reason,
        amount: record.amount,
        after: record.figures(),
    }))
}

fn capture(record: &PaymentRecord, gateway_reference: GatewayReference, amount: Money) -> Decision {
    if let Some(recorded) = find(&record.captures, &gateway_reference) {
        return repeated(
            TransactionKind::Capture,
            gateway_reference,
            recorded,
            amount,
        );
    }
    let figures = record.figures();
    if !matches!(figures.status, S::Authorized | S::PartiallyCaptured) {
        return Err(PaymentError::CaptureNotAllowed {
            status: figures.status,
        });
    }
    check_amount(record, amount)?;
    if amount.amount() > figures.remaining_capturable.amount() {
        return Err(PaymentError::CaptureExceedsAuthorized {
            requested: amount,
            remaining: figures.remaining_capturable,
        });
    }
    Ok(Some(PaymentEvent::PaymentCaptured {
        payment_id: record.payment_id,
        order_id: record.order_id,
        gateway_reference,
        amount,
        after: figures,
    }))
}

fn void(record: &PaymentRecord, gateway_reference: GatewayReference) -> Decision {
    if record
        .void
        .as_ref()
        .is_some_and(|void| void.gateway_reference == gateway_reference)
    {
        return Ok(None);
    }
    let figures = record.figures();
    match figures.status {
        S::Authorized | S::ActionRequired => {}
        S::PartiallyCaptured | S::Captured | S::PartiallyRefunded | S::Refunded => {
            return Err(PaymentError::VoidAfterCapture {
                status: figures.status,
                captured: figures.captured_total,
            })
        }
        status @ (S::Pending | S::Voided | S::Declined | S::Failed) => {
            return Err(PaymentError::VoidNotAllowed { status })
        }
    }
    Ok(Some(PaymentEvent::PaymentVoided {
        payment_id: record.payment_id,
        order_id: record.order_id,
        gateway_reference,
        // Nothing is captured yet, so the whole authorization (if any) is released.
        amount: figures.authorized_total,
        after: figures,
    }))
}

/// A raise of an authorization still capturable from.
fn increase(
    record: &PaymentRecord,
    gateway_reference: GatewayReference,
    amount: Money,
) -> Decision {
    if let Some(recorded) = find(&record.increases, &gateway_reference) {
        return repeated(
            TransactionKind::Increase,
            gateway_reference,
            recorded,
            amount,
        );
    }
    let figures = record.figures();
    if !matches!(figures.status, S::Authorized | S::PartiallyCaptured) {
        return Err(PaymentError::IncreaseNotAllowed {
            status: figures.status,
        });
    }
    check_amount(record, amount)?;
    Ok(Some(PaymentEvent::PaymentAuthorizationIncreased {
        payment_id: record.payment_id,
        order_id: record.order_id,
        gateway_reference,
        amount,
        after: figures,
    }))
}

/// A partial void: at most what is still capturable, and never all of an
/// authorization nothing was captured from (that is a [`void`]).
fn release(record: &PaymentRecord, gateway_reference: GatewayReference, amount: Money) -> Decision {
    if let Some(recorded) = find(&record.releases, &gateway_reference) {
        return repeated(
            TransactionKind::Release,
            gateway_reference,
            recorded,
            amount,
        );
    }
    let figures = record.figures();
    if !matches!(figures.status, S::Authorized | S::PartiallyCaptured) {
        return Err(PaymentError::ReleaseNotAllowed {
            status: figures.status,
        });
    }
    check_amount(record, amount)?;
    if amount.amount() > figures.remaining_capturable.amount() {
        return Err(PaymentError::ReleaseExceedsCapturable {
            requested: amount,
            remaining: figures.remaining_capturable,
        });
    }
    Ok(Some(PaymentEvent::PaymentAuthorizationReleased {
        payment_id: record.payment_id,
        order_id: record.order_id,
        gateway_reference,
        amount,
        after: figures,
    }))
}

fn refund(
    record: &PaymentRecord,
    gateway_reference: GatewayReference,
    amount: Money,
    reason: String,
    refund_id: Option<RefundId>,
) -> Decision {
    if let Some(recorded) = find(&record.refunds, &gateway_reference) {
        return repeated(TransactionKind::Refund, gateway_reference, recorded, amount);
    }
    let figures = record.figures();
    if !matches!(
        figures.status,
        S::PartiallyCaptured | S::Captured | S::PartiallyRefunded
    ) {
        return Err(PaymentError::RefundNotAllowed {
            status: figures.status,
        });
    }
    check_amount(record, amount)?;
    if amount.amount() > figures.refundable.amount() {
        return Err(PaymentError::RefundExceedsCaptured {
            requested: amount,
            refundable: figures.refundable,
        });
    }
    Ok(Some(PaymentEvent::PaymentRefunded {
        payment_id: record.payment_id,
        order_id: record.order_id,
        gateway_reference,
        amount,
        reason,
        refund_id,
        after: figures,
    }))
}

fn find(
    transactions: &[super::aggregate::GatewayTransaction],
    reference: &GatewayReference,
) -> Option<Money> {
    transactions
        .iter()
        .find(|t| &t.gateway_reference == reference)
        .map(|t| t.amount)
}

/// A report for a reference already recorded: a no-op if it says the same,
/// refused if the amount differs.
fn repeated(
    kind: TransactionKind,
    reference: GatewayReference,
    recorded: Money,
    requested: Money,
) -> Decision {
    if recorded == requested {
        Ok(None)
    } else {
        Err(PaymentError::GatewayReferenceConflict {
            kind,
            reference,
            recorded,
            requested,
        })
    }
}

/// An amount must be in the payment's currency and greater than zero.
fn check_amount(record: &PaymentRecord, amount: Money) -> Result<(), PaymentError> {
    if amount.currency() != record.amount.currency() {
        return Err(PaymentError::CurrencyMismatch {
            expected: record.amount.currency(),
            got: amount.currency(),
        });
    }
    if amount.amount() <= 0 {
        return Err(PaymentError::NonPositiveAmount { amount });
    }
    Ok(())
}
