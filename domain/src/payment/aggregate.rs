//! The payment's state: the transaction log it has recorded, from which its status
//! and figures are derived (never stored apart, so they cannot disagree with it).

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use super::{
    CardSummary, GatewayReference, NextAction, PaymentCommand, PaymentError, PaymentEvent,
    PaymentFigures, PaymentStatus,
};
use crate::shared::{CustomerId, Money, OrderId, PaymentId};

/// A payment of one order. Empty (`record: None`) until `PaymentInitiated`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Payment {
    pub(super) record: Option<PaymentRecord>,
}

/// Everything an initiated payment has recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct PaymentRecord {
    pub(super) payment_id: PaymentId,
    pub(super) order_id: OrderId,
    pub(super) customer_id: Option<CustomerId>,
    /// The amount initiated: the ceiling of the authorization, and the currency of
    /// every later amount.
    pub(super) amount: Money,
    /// Each time the gateway asked the customer to act (it may ask again).
    pub(super) action_requests: Vec<ActionRequest>,
    pub(super) authorization: Option<Authorization>,
    pub(super) captures: Vec<GatewayTransaction>,
    pub(super) refunds: Vec<GatewayTransaction>,
    /// Parts of the authorization released before capture.
    pub(super) releases: Vec<GatewayTransaction>,
    /// Raises of the authorization.
    pub(super) increases: Vec<GatewayTransaction>,
    pub(super) void: Option<GatewayTransaction>,
    pub(super) decline: Option<Decline>,
    pub(super) failure: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct ActionRequest {
    pub(super) gateway_reference: GatewayReference,
    pub(super) next_action: NextAction,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Authorization {
    pub(super) gateway_reference: GatewayReference,
    pub(super) amount: Money,
    pub(super) card: Option<CardSummary>,
}

/// A capture, a refund or a void, as the gateway confirmed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct GatewayTransaction {
    pub(super) gateway_reference: GatewayReference,
    pub(super) amount: Money,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Decline {
    pub(super) reason_code: String,
    pub(super) message: String,
}

impl Payment {
    /// The order this payment pays; `None` before initiation.
    pub fn order_id(&self) -> Option<OrderId> {
        self.record.as_ref().map(|r| r.order_id)
    }

    pub fn exists(&self) -> bool {
        self.record.is_some()
    }

    /// Derived from the log. A payment not initiated yet reads as pending;
    /// [`Payment::exists`] tells the two apart.
    pub fn status(&self) -> PaymentStatus {
        self.record
            .as_ref()
            .map_or(PaymentStatus::Pending, PaymentRecord::status)
    }

    /// The status and every figure at once; `None` before initiation, when the
    /// payment has no currency yet.
    pub fn figures(&self) -> Option<PaymentFigures> {
        self.record.as_ref().map(PaymentRecord::figures)
    }

    /// The amount asked for when the payment was initiated.
    pub fn amount(&self) -> Option<Money> {
        self.record.as_ref().map(|r| r.amount)
    }

    pub fn authorized(&self) -> Option<Money> {
        self.figures().map(|f| f.authorized_total)
    }

    pub fn captured(&self) -> Option<Money> {
        self.figures().map(|f| f.captured_total)
    }

    pub fn refunded(&self) -> Option<Money> {
        self.figures().map(|f| f.refunded_total)
    }

    pub fn remaining_capturable(&self) -> Option<Money> {
        self.figures().map(|f| f.remaining_capturable)
    }

    pub fn refundable(&self) -> Option<Money> {
        self.figures().map(|f| f.refundable)
    }

    /// Evolves the state by one event. Uses only the event's facts, never its
    /// figures: the figures are derived from the state this builds.
    fn evolve(&mut self, event: PaymentEvent) {
        if let PaymentEvent::PaymentInitiated {
            payment_id,
            order_id,
            customer_id,
            amount,
            ..
        } = event
        {
            self.record = Some(PaymentRecord {
                payment_id,
                order_id,
                customer_id,
                amount,
                action_requests: Vec::new(),
                authorization: None,
                captures: Vec::new(),
                refunds: Vec::new(),
                releases: Vec::new(),
                increases: Vec::new(),
                void: None,
                decline: None,
                failure: None,
            });
            return;
        }
        // Every other event follows a PaymentInitiated in its stream; without one
        // there is nothing to record it in.
        let Some(record) = self.record.as_mut() else {
            return;
        };
        match event {
            PaymentEvent::PaymentInitiated { .. } => {}
            PaymentEvent::PaymentActionRequired {
                gateway_reference,
                next_action,
                ..
            } => record.action_requests.push(ActionRequest {
                gateway_reference,
                next_action,
            }),
            PaymentEvent::PaymentAuthorized {
                gateway_reference,
                amount,
                card,
                ..
            } => {
                record.authorization = Some(Authorization {
                    gateway_reference,
                    amount,
                    card,
                })
            }
            PaymentEvent::PaymentDeclined {
                reason_code,
                message,
                ..
            } => {
                record.decline = Some(Decline {
                    reason_code,
                    message,
                })
            }
            PaymentEvent::PaymentFailed { reason, .. } => record.failure = Some(reason),
            PaymentEvent::PaymentCaptured {
                gateway_reference,
                amount,
                ..
            } => record.captures.push(GatewayTransaction {
                gateway_reference,
                amount,
            }),
            PaymentEvent::PaymentVoided {
                gateway_reference,
                amount,
                ..
            } => {
                record.void = Some(GatewayTransaction {
                    gateway_reference,
                    amount,
                })
            }
            PaymentEvent::PaymentAuthorizationReleased {
                gateway_reference,
                amount,
                ..
            } => record.releases.push(GatewayTransaction {
                gateway_reference,
                amount,
            }),
            PaymentEvent::PaymentAuthorizationIncreased {
                gateway_reference,
                amount,
                ..
            } => record.increases.push(GatewayTransaction {
                gateway_reference,
                amount,
            }),
            PaymentEvent::PaymentRefunded {
                gateway_reference,
                amount,
                ..
            } => record.refunds.push(GatewayTransaction {
                gateway_reference,
                amount,
            }),
        }
    }

    /// Fills in the figures `event` leads to, by evolving a copy of the state:
    /// one definition of the figures serves the state and the events.
    pub(super) fn with_figures_after(&self, mut event: PaymentEvent) -> PaymentEvent {
        let mut next = self.clone();
        next.evolve(event.clone());
        if let Some(figures) = next.figures() {
            *event.after_mut() = figures;
        }
        event
    }
}

impl PaymentRecord {
    pub(super) fn status(&self) -> PaymentStatus {
        if self.decline.is_some() {
            return PaymentStatus::Declined;
        }
        if self.failure.is_some() {
            return PaymentStatus::Failed;
        }
        if self.void.is_some() {
            return PaymentStatus::Voided;
        }
        if self.authorization.is_none() {
            return if self.action_requests.is_empty() {
                PaymentStatus::Pending
            } else {
                PaymentStatus::ActionRequired
            };
        }
        let (captured, refunded) = (self.captured_minor(), self.refunded_minor());
        let held = self
            .authorized_minor()
            .saturating_sub(sum_minor(&self.releases));
        if refunded > 0 {
            if refunded >= captured {
                PaymentStatus::Refunded
            } else {
                PaymentStatus::PartiallyRefunded
            }
        } else if captured > 0 {
            if captured >= held {
                PaymentStatus::Captured
            } else {
                PaymentStatus::PartiallyCaptured
            }
        } else if held <= 0 {
            // Released in parts down to nothing: as good as a void.
            PaymentStatus::Voided
        } else {
            PaymentStatus::Authorized
        }
    }

    pub(super) fn figures(&self) -> PaymentFigures {
        let status = self.status();
        let money = |minor: i64| Money::new(minor, self.amount.currency());
        let authorized = self.authorized_minor();
        let (captured, refunded) = (self.captured_minor(), self.refunded_minor());
        // Capturing ends with a void and with the first refund: what was not
        // captured by then is released.
        let remaining_capturable = match status {
            PaymentStatus::Authorized | PaymentStatus::PartiallyCaptured => authorized
                .saturating_sub(sum_minor(&self.releases))
                .saturating_sub(captured)
                .max(0),
            _ => 0,
        };
        PaymentFigures {
            status,
            authorized_total: money(authorized),
            captured_total: money(captured),
            refunded_total: money(refunded),
            remaining_capturable: money(remaining_capturable),
            refundable: money(captured.saturating_sub(refunded).max(0)),
        }
    }

    /// The authorization with every raise.
    fn authorized_minor(&self) -> i64 {
        self.authorization
            .as_ref()
            .map_or(0, |a| a.amount.amount())
            .saturating_add(sum_minor(&self.increases))
    }

    /// Sums in minor units. The rules keep every sum within the authorized amount;
    /// saturating keeps a corrupted log from panicking.
    fn captured_minor(&self) -> i64 {
        sum_minor(&self.captures)
    }

    fn refunded_minor(&self) -> i64 {
        sum_minor(&self.refunds)
    }
}

fn sum_minor(transactions: &[GatewayTransaction]) -> i64 {
    transactions
        .iter()
        .fold(0i64, |total, t| total.saturating_add(t.amount.amount()))
}

impl Aggregate for Payment {
    const TYPE: &'static str = "Payment";
    type Command = PaymentCommand;
    type Event = PaymentEvent;
    type Error = PaymentError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        if let Some(event) = self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        self.evolve(event);
    }
}
