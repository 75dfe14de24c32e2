//! The payment read model (`read_payments`): one row per payment with its status,
//! figures and transaction log, for the order page and the admins' refund screen.
//!
//! Never holds the payment method token (readers have no use for it) nor anything
//! of a card beyond its brand and last four digits.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use sqlx::PgExecutor;
use utoipa::ToSchema;
use uuid::Uuid;

use domain::payment::{GatewayReference, NextActionFields, PaymentEvent, PaymentFigures};
use domain::shared::Money;

use super::document::{
    self, created_twice, existing, DocumentProjection, EventContext, KeyKind, View,
};
use super::view_types::MoneyView;
use crate::Error;

pub const PROJECTOR: &str = "payments";

/// Builds `read_payments`.
pub type PaymentsProjection = DocumentProjection<PaymentView>;

/// Where a payment stands (see the Payment aggregate's state machine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Pending,
    ActionRequired,
    Authorized,
    PartiallyCaptured,
    Captured,
    PartiallyRefunded,
    Refunded,
    Voided,
    Declined,
    Failed,
}

impl From<domain::payment::PaymentStatus> for PaymentStatus {
    fn from(status: domain::payment::PaymentStatus) -> Self {
        use domain::payment::PaymentStatus as Domain;
        match status {
            Domain::Pending => PaymentStatus::Pending,
            Domain::ActionRequired => PaymentStatus::ActionRequired,
            Domain::Authorized => PaymentStatus::Authorized,
            Domain::PartiallyCaptured => PaymentStatus::PartiallyCaptured,
            Domain::Captured => PaymentStatus::Captured,
            Domain::PartiallyRefunded => PaymentStatus::PartiallyRefunded,
            Domain::Refunded => PaymentStatus::Refunded,
            Domain::Voided => PaymentStatus::Voided,
            Domain::Declined => PaymentStatus::Declined,
            Domain::Failed => PaymentStatus::Failed,
        }
    }
}

/// The card as the gateway reported it after an authorization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CardView {
    pub brand: String,
    pub last4: String,
}

/// What the customer must do before the gateway decides (3-D Secure).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum NextActionView {
    /// Send the customer to this page.
    RedirectToUrl { url: String },
    /// Show the gateway's challenge with this id.
    Challenge { challenge_id: String },
}

/// What one entry of the transaction log records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransactionKind {
    Initiation,
    ActionRequired,
    Authorization,
    Decline,
    Failure,
    Capture,
    Void,
    /// Part of the authorization released (a partial void).
    Release,
    /// The authorization raised.
    Increase,
    Refund,
}

/// One entry of the payment's transaction log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PaymentTransactionView {
    pub kind: TransactionKind,
    /// The gateway's id of the transaction; none for initiations, declines and failures.
    pub gateway_reference: Option<String>,
    pub amount: MoneyView,
    /// A decline's reason code and message, a failure's or a refund's reason.
    pub reason: Option<String>,
    /// For a refund: the order's refund it is (see the order's `refunds`).
    pub refund_id: Option<Uuid>,
    /// When it was recorded.
    pub at: DateTime<Utc>,
}

/// A payment of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PaymentView {
    pub payment_id: Uuid,
    pub order_id: Uuid,
    pub customer_id: Option<Uuid>,
    pub status: PaymentStatus,
    /// What was asked for when the payment was initiated.
    pub amount: MoneyView,
    pub authorized_total: MoneyView,
    pub captured_total: MoneyView,
    pub refunded_total: MoneyView,
    /// What may still be captured.
    pub remaining_capturable: MoneyView,
    /// What may still be refunded.
    pub refundable: MoneyView,
    /// Brand and last four digits, once authorized (if the gateway said).
    pub card: Option<CardView>,
    /// Present while the gateway waits for the customer.
    pub next_action: Option<NextActionView>,
    /// Oldest first.
    pub transactions: Vec<PaymentTransactionView>,
    /// The payment stream's sequence of the last event folded in.
    pub version: i64,
    /// When the payment was initiated.
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl PaymentView {
    fn with_figures(mut self, after: PaymentFigures) -> Self {
        self.status = after.status.into();
        self.authorized_total = after.authorized_total.into();
        self.captured_total = after.captured_total.into();
        self.refunded_total = after.refunded_total.into();
        self.remaining_capturable = after.remaining_capturable.into();
        self.refundable = after.refundable.into();
        if self.status != PaymentStatus::ActionRequired {
            self.next_action = None;
        }
        self
    }
}

/// A transaction log entry before it is stamped with its time.
fn entry(
    kind: TransactionKind,
    gateway_reference: Option<GatewayReference>,
    amount: Money,
    reason: Option<String>,
) -> impl FnOnce(&EventContext) -> PaymentTransactionView {
    move |at| PaymentTransactionView {
        kind,
        gateway_reference: gateway_reference.map(String::from),
        amount: amount.into(),
        reason,
        refund_id: None,
        at: at.recorded_at,
    }
}

impl View for PaymentView {
    const PROJECTOR: &'static str = PROJECTOR;
    const AGGREGATE_TYPE: &'static str = domain::AggregateKind::Payment.type_name();
    const TABLE: &'static str = "read_payments";
    const KEY_COLUMN: &'static str = "payment_id";
    const KEY_KIND: KeyKind = KeyKind::Uuid;
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("order_id", "(doc->>'order_id')::uuid"),
        ("created_at", "(doc->>'created_at')::timestamptz"),
    ];

    type Event = PaymentEvent;

    fn fold(view: Option<Self>, event: PaymentEvent, at: &EventContext) -> Result<Self, String> {
        use TransactionKind as Kind;
        let mut refund_id = None;
        let (view, logged, after) = match event {
            // `method` (the gateway's token) is left out on purpose.
            PaymentEvent::PaymentInitiated {
                payment_id,
                order_id,
                customer_id,
                amount,
                after,
                ..
            } => {
                created_twice(&view, "PaymentInitiated")?;
                let zero = MoneyView::zero(amount.currency().code());
                let created = PaymentView {
                    payment_id: payment_id.as_uuid(),
                    order_id: order_id.as_uuid(),
                    customer_id: customer_id.map(|id| id.as_uuid()),
                    status: after.status.into(),
                    amount: amount.into(),
                    authorized_total: zero.clone(),
                    captured_total: zero.clone(),
                    refunded_total: zero.clone(),
                    remaining_capturable: zero.clone(),
                    refundable: zero,
                    card: None,
                    next_action: None,
                    transactions: Vec::new(),
                    version: 0,
                    created_at: at.recorded_at,
                    updated_at: at.recorded_at,
                };
                (created, entry(Kind::Initiation, None, amount, None), after)
            }
            PaymentEvent::PaymentActionRequired {
                gateway_reference,
                next_action,
                amount,
                after,
                ..
            } => {
                let next_action = match NextActionFields::from(next_action) {
                    NextActionFields::RedirectToUrl { url } => {
                        NextActionView::RedirectToUrl { url }
                    }
                    NextActionFields::Challenge { challenge_id } => {
                        NextActionView::Challenge { challenge_id }
                    }
                };
                let view = PaymentView {
                    next_action: Some(next_action),
                    ..existing(view, "PaymentActionRequired")?
                };
                let logged = entry(Kind::ActionRequired, Some(gateway_reference), amount, None);
                (view, logged, after)
            }
            PaymentEvent::PaymentAuthorized {
                gateway_reference,
                amount,
                card,
                after,
                ..
            } => {
                let card = card.map(|card| CardView {
                    brand: card.brand().to_owned(),
                    last4: card.last4().to_owned(),
                });
                let view = PaymentView {
                    card,
                    ..existing(view, "PaymentAuthorized")?
                };
                let logged = entry(Kind::Authorization, Some(gateway_reference), amount, None);
                (view, logged, after)
            }
            PaymentEvent::PaymentDeclined {
                reason_code,
                message,
                amount,
                after,
                ..
            } => {
                let reason = Some(format!("{reason_code}: {message}"));
                let logged = entry(Kind::Decline, None, amount, reason);
                (existing(view, "PaymentDeclined")?, logged, after)
            }
            PaymentEvent::PaymentFailed {
                reason,
                amount,
                after,
                ..
            } => {
                let logged = entry(Kind::Failure, None, amount, Some(reason));
                (existing(view, "PaymentFailed")?, logged, after)
            }
            PaymentEvent::PaymentCaptured {
                gateway_reference,
                amount,
                after,
                ..
            } => {
                let logged = entry(Kind::Capture, Some(gateway_reference), amount, None);
                (existing(view, "PaymentCaptured")?, logged, after)
            }
            PaymentEvent::PaymentVoided {
                gateway_reference,
                amount,
                after,
                ..
            } => {
                let logged = entry(Kind::Void, Some(gateway_reference), amount, None);
                (existing(view, "PaymentVoided")?, logged, after)
            }
            PaymentEvent::PaymentAuthorizationIncreased {
                gateway_reference,
                amount,
                after,
                ..
            } => {
                let logged = entry(Kind::Increase, Some(gateway_reference), amount, None);
                (
                    existing(view, "PaymentAuthorizationIncreased")?,
                    logged,
                    after,
                )
            }
            PaymentEvent::PaymentAuthorizationReleased {
                gateway_reference,
                amount,
                after,
                ..
            } => {
                let logged = entry(Kind::Release, Some(gateway_reference), amount, None);
                (
                    existing(view, "PaymentAuthorizationReleased")?,
                    logged,
                    after,
                )
            }
            PaymentEvent::PaymentRefunded {
                gateway_reference,
                amount,
                reason,
                refund_id: for_refund,
                after,
                ..
            } => {
                refund_id = for_refund.map(|id| id.as_uuid());
                let logged = entry(Kind::Refund, Some(gateway_reference), amount, Some(reason));
                (existing(view, "PaymentRefunded")?, logged, after)
            }
        };
        let mut view = view.with_figures(after);
        let mut logged = logged(at);
        logged.refund_id = refund_id;
        view.transactions.push(logged);
        view.version = at.sequence;
        view.updated_at = at.recorded_at;
        Ok(view)
    }

    fn version(&self) -> i64 {
        self.version
    }
}

/// The payment `payment_id`, if it was initiated.
pub async fn get<'e>(
    executor: impl PgExecutor<'e>,
    payment_id: Uuid,
) -> Result<Option<PaymentView>, Error> {
    document::get(executor, payment_id).await
}

/// Every payment of `order_id`, oldest first (a failed one, then its successor).
pub async fn list_for_order<'e>(
    executor: impl PgExecutor<'e>,
    order_id: Uuid,
) -> Result<Vec<PaymentView>, Error> {
    let payments: Vec<Json<PaymentView>> = sqlx::query_scalar(
        "SELECT doc FROM read_payments
          WHERE order_id = $1
          ORDER BY created_at, payment_id",
    )
    .bind(order_id)
    .fetch_all(executor)
    .await?;
    Ok(payments.into_iter().map(|Json(payment)| payment).collect())
}
