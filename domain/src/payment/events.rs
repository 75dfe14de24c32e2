//! The payment's transaction log: what was asked of the gateway and what it
//! answered, each with the gateway's reference. Every event also carries the
//! payment's status and figures after it ([`PaymentFigures`], flattened into the
//! event's JSON), so a read model copies them and never recomputes them.

use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use super::{CardSummary, GatewayReference, NextAction, PaymentStatus};
use crate::order::RefundId;
use crate::shared::{CustomerId, Money, OrderId, PaymentId, PaymentMethodToken};

/// Every event type of the Payment aggregate, as `event_type()` names it.
pub const EVENT_TYPES: &[&str] = &[
    "PaymentInitiated",
    "PaymentActionRequired",
    "PaymentAuthorized",
    "PaymentDeclined",
    "PaymentFailed",
    "PaymentCaptured",
    "PaymentVoided",
    "PaymentAuthorizationReleased",
    "PaymentAuthorizationIncreased",
    "PaymentRefunded",
];

/// Where the payment stands after an event. All amounts are in the payment's
/// currency; before an authorization (and for declined or failed payments) they
/// are zero.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentFigures {
    pub status: PaymentStatus,
    /// What the gateway authorized (kept after a void, for the record).
    pub authorized_total: Money,
    /// The sum of all captures.
    pub captured_total: Money,
    /// The sum of all refunds.
    pub refunded_total: Money,
    /// What may still be captured: zero once voided or refunded from.
    pub remaining_capturable: Money,
    /// What may still be refunded: captured minus refunded.
    pub refundable: Money,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PaymentEvent {
    PaymentInitiated {
        payment_id: PaymentId,
        order_id: OrderId,
        customer_id: Option<CustomerId>,
        amount: Money,
        method: PaymentMethodToken,
        #[serde(flatten)]
        after: PaymentFigures,
    },
    PaymentActionRequired {
        payment_id: PaymentId,
        order_id: OrderId,
        gateway_reference: GatewayReference,
        next_action: NextAction,
        /// The amount awaiting the customer's confirmation.
        amount: Money,
        #[serde(flatten)]
        after: PaymentFigures,
    },
    PaymentAuthorized {
        payment_id: PaymentId,
        order_id: OrderId,
        gateway_reference: GatewayReference,
        amount: Money,
        card: Option<CardSummary>,
        #[serde(flatten)]
        after: PaymentFigures,
    },
    PaymentDeclined {
        payment_id: PaymentId,
        order_id: OrderId,
        reason_code: String,
        message: String,
        /// The amount that was refused.
        amount: Money,
        #[serde(flatten)]
        after: PaymentFigures,
    },
    PaymentFailed {
        payment_id: PaymentId,
        order_id: OrderId,
        reason: String,
        /// The amount that could not be authorized.
        amount: Money,
        #[serde(flatten)]
        after: PaymentFigures,
    },
    PaymentCaptured {
        payment_id: PaymentId,
        order_id: OrderId,
        gateway_reference: GatewayReference,
        amount: Money,
        #[serde(flatten)]
        after: PaymentFigures,
    },
    PaymentVoided {
        payment_id: PaymentId,
        order_id: OrderId,
        gateway_reference: GatewayReference,
        /// The amount released back to the customer (zero when no authorization
        /// was held yet).
        amount: Money,
        #[serde(flatten)]
        after: PaymentFigures,
    },
    /// The authorization was raised by `amount`.
    PaymentAuthorizationIncreased {
        payment_id: PaymentId,
        order_id: OrderId,
        gateway_reference: GatewayReference,
        amount: Money,
        #[serde(flatten)]
        after: PaymentFigures,
    },
    /// Part of the authorization released; the rest stays capturable.
    PaymentAuthorizationReleased {
        payment_id: PaymentId,
        order_id: OrderId,
        gateway_reference: GatewayReference,
        amount: Money,
        #[serde(flatten)]
        after: PaymentFigures,
    },
    PaymentRefunded {
        payment_id: PaymentId,
        order_id: OrderId,
        gateway_reference: GatewayReference,
        amount: Money,
        reason: String,
        /// The order's refund (`OrderRefundRequested`/`OrderRefundRecorded`) this
        /// money went back for; `None` before version 2 and for refunds made
        /// outside an order's decision.
        refund_id: Option<RefundId>,
        #[serde(flatten)]
        after: PaymentFigures,
    },
}

impl PaymentEvent {
    /// The status and figures the payment reached with this event.
    pub fn after(&self) -> &PaymentFigures {
        match self {
            PaymentEvent::PaymentInitiated { after, .. }
            | PaymentEvent::PaymentActionRequired { after, .. }
            | PaymentEvent::PaymentAuthorized { after, .. }
            | PaymentEvent::PaymentDeclined { after, .. }
            | PaymentEvent::PaymentFailed { after, .. }
            | PaymentEvent::PaymentCaptured { after, .. }
            | PaymentEvent::PaymentVoided { after, .. }
            | PaymentEvent::PaymentAuthorizationReleased { after, .. }
            | PaymentEvent::PaymentAuthorizationIncreased { after, .. }
            | PaymentEvent::PaymentRefunded { after, .. } => after,
        }
    }

    pub(super) fn after_mut(&mut self) -> &mut PaymentFigures {
        match self {
            PaymentEvent::PaymentInitiated { after, .. }
            | PaymentEvent::PaymentActionRequired { after, .. }
            | PaymentEvent::PaymentAuthorized { after, .. }
            | PaymentEvent::PaymentDeclined { after, .. }
            | PaymentEvent::PaymentFailed { after, .. }
            | PaymentEvent::PaymentCaptured { after, .. }
            | PaymentEvent::PaymentVoided { after, .. }
            | PaymentEvent::PaymentAuthorizationReleased { after, .. }
            | PaymentEvent::PaymentAuthorizationIncreased { after, .. }
            | PaymentEvent::PaymentRefunded { after, .. } => after,
        }
    }
}

impl DomainEvent for PaymentEvent {
    fn event_type(&self) -> String {
        match self {
            PaymentEvent::PaymentInitiated { .. } => "PaymentInitiated",
            PaymentEvent::PaymentActionRequired { .. } => "PaymentActionRequired",
            PaymentEvent::PaymentAuthorized { .. } => "PaymentAuthorized",
            PaymentEvent::PaymentDeclined { .. } => "PaymentDeclined",
            PaymentEvent::PaymentFailed { .. } => "PaymentFailed",
            PaymentEvent::PaymentCaptured { .. } => "PaymentCaptured",
            PaymentEvent::PaymentVoided { .. } => "PaymentVoided",
            PaymentEvent::PaymentAuthorizationReleased { .. } => "PaymentAuthorizationReleased",
            PaymentEvent::PaymentAuthorizationIncreased { .. } => "PaymentAuthorizationIncreased",
            PaymentEvent::PaymentRefunded { .. } => "PaymentRefunded",
        }
        .to_owned()
    }

    /// Version 2 of `PaymentRefunded` names the order's refund (upcaster in
    /// [`crate::upcasting`]).
    fn event_version(&self) -> String {
        match self {
            PaymentEvent::PaymentRefunded { .. } => "2",
            _ => "1",
        }
        .to_owned()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use uuid::Uuid;

    use super::*;
    use crate::shared::Currency;

    fn eur(amount: i64) -> Money {
        Money::new(amount, Currency::new("EUR").unwrap())
    }

    fn figures(status: PaymentStatus) -> PaymentFigures {
        PaymentFigures {
            status,
            authorized_total: eur(0),
            captured_total: eur(0),
            refunded_total: eur(0),
            remaining_capturable: eur(0),
            refundable: eur(0),
        }
    }

    fn one_of_each() -> Vec<PaymentEvent> {
        let payment_id = PaymentId::new(Uuid::from_u128(1));
        let order_id = OrderId::new(Uuid::from_u128(2));
        let reference = || GatewayReference::new("ref_1").unwrap();
        vec![
            PaymentEvent::PaymentInitiated {
                payment_id,
                order_id,
                customer_id: Some(CustomerId::new(Uuid::from_u128(3))),
                amount: eur(100),
                method: PaymentMethodToken::new("tok_visa").unwrap(),
                after: figures(PaymentStatus::Pending),
            },
            PaymentEvent::PaymentActionRequired {
                payment_id,
                order_id,
                gateway_reference: reference(),
                next_action: NextAction::challenge("chl_1").unwrap(),
                amount: eur(100),
                after: figures(PaymentStatus::ActionRequired),
            },
            PaymentEvent::PaymentAuthorized {
                payment_id,
                order_id,
                gateway_reference: reference(),
                amount: eur(100),
                card: Some(CardSummary::new("visa", "4242").unwrap()),
                after: figures(PaymentStatus::Authorized),
            },
            PaymentEvent::PaymentDeclined {
                payment_id,
                order_id,
                reason_code: "insufficient_funds".into(),
                message: "Insufficient funds".into(),
                amount: eur(100),
                after: figures(PaymentStatus::Declined),
            },
            PaymentEvent::PaymentFailed {
                payment_id,
                order_id,
                reason: "gateway timeout".into(),
                amount: eur(100),
                after: figures(PaymentStatus::Failed),
            },
            PaymentEvent::PaymentCaptured {
                payment_id,
                order_id,
                gateway_reference: reference(),
                amount: eur(100),
                after: figures(PaymentStatus::Captured),
            },
            PaymentEvent::PaymentVoided {
                payment_id,
                order_id,
                gateway_reference: reference(),
                amount: eur(100),
                after: figures(PaymentStatus::Voided),
            },
            PaymentEvent::PaymentAuthorizationReleased {
                payment_id,
                order_id,
                gateway_reference: reference(),
                amount: eur(40),
                after: figures(PaymentStatus::Authorized),
            },
            PaymentEvent::PaymentAuthorizationIncreased {
                payment_id,
                order_id,
                gateway_reference: reference(),
                amount: eur(40),
                after: figures(PaymentStatus::Authorized),
            },
            PaymentEvent::PaymentRefunded {
                payment_id,
                order_id,
                gateway_reference: reference(),
                amount: eur(100),
                reason: "returned".into(),
                refund_id: Some(crate::order::RefundId::new(Uuid::from_u128(3))),
                after: figures(PaymentStatus::Refunded),
            },
        ]
    }

    #[test]
    fn event_types_lists_every_variant_exactly_once() {
        let events = one_of_each();
        let types: BTreeSet<String> = events.iter().map(DomainEvent::event_type).collect();
        let listed: BTreeSet<String> = EVENT_TYPES.iter().map(|t| (*t).to_owned()).collect();
        assert_eq!(types.len(), events.len(), "two samples share an event type");
        assert_eq!(
            listed.len(),
            EVENT_TYPES.len(),
            "EVENT_TYPES has duplicates"
        );
        assert_eq!(types, listed);
    }

    #[test]
    fn every_event_round_trips_through_json_tagged_by_its_type() {
        for event in one_of_each() {
            let expected = if event.event_type() == "PaymentRefunded" {
                "2"
            } else {
                "1"
            };
            assert_eq!(event.event_version(), expected);
            let json = serde_json::to_value(&event).unwrap();
            let tag = json.as_object().unwrap().keys().next().unwrap().clone();
            assert_eq!(tag, event.event_type());
            assert_eq!(serde_json::from_value::<PaymentEvent>(json).unwrap(), event);
        }
    }

    #[test]
    fn figures_are_flat_fields_of_the_event() {
        let event = &one_of_each()[5];
        let json = serde_json::to_value(event).unwrap();
        let body = &json["PaymentCaptured"];
        assert_eq!(body["status"], "captured");
        assert_eq!(
            body["captured_total"],
            serde_json::json!({ "amount": 0, "currency": "EUR" })
        );
        assert!(body.get("after").is_none());
    }
}
