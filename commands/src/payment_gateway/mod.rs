//! The payment gateway as the command side sees it. The gateway's decisions arrive
//! in the Payment aggregate's commands; the calls themselves happen here.
//!
//! Every call carries an idempotency key derived from what caused it (the event
//! that made the process ask, or the request's `Idempotency-Key`), so a call
//! repeated after a timeout or a crash authorizes, captures or refunds once: the
//! gateway answers a repeated key with its first answer.

mod retrying;
mod test_gateway;

use domain::payment::{CardSummary, GatewayReference, NextAction};
use domain::shared::{Money, PaymentId, PaymentMethodToken};
use uuid::Uuid;

pub use retrying::RetryingGateway;
pub use test_gateway::TestGateway;

#[derive(Debug, Clone, thiserror::Error)]
pub enum GatewayError {
    /// The gateway said no to a capture, void or refund (not a card decline,
    /// which is an [`Authorization::Declined`]).
    #[error("the payment gateway refused: {0}")]
    Refused(String),
    /// No answer in time; the call may or may not have taken effect, so it is
    /// repeated with the same idempotency key.
    #[error("the payment gateway did not answer in time")]
    Timeout,
    #[error("the payment gateway is unreachable: {0}")]
    Unavailable(String),
}

impl GatewayError {
    /// Worth asking again with the same key.
    pub fn is_transient(&self) -> bool {
        matches!(self, GatewayError::Timeout | GatewayError::Unavailable(_))
    }
}

/// The gateway's answer to an authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorization {
    Authorized {
        reference: GatewayReference,
        amount: Money,
        card: Option<CardSummary>,
    },
    Declined {
        reason_code: String,
        message: String,
    },
    /// The customer must confirm (3-D Secure); the decision comes by webhook.
    Pending {
        reference: GatewayReference,
        next_action: NextAction,
    },
}

#[async_trait::async_trait]
pub trait PaymentGateway: Send + Sync {
    /// Asks to hold `amount` on the customer's payment method.
    async fn authorize(
        &self,
        payment_id: PaymentId,
        amount: Money,
        method: &PaymentMethodToken,
        idempotency_key: Uuid,
    ) -> Result<Authorization, GatewayError>;

    /// Takes `amount` of an authorization.
    async fn capture(
        &self,
        payment_id: PaymentId,
        amount: Money,
        idempotency_key: Uuid,
    ) -> Result<GatewayReference, GatewayError>;

    /// Releases an authorization nothing was captured from.
    async fn void(
        &self,
        payment_id: PaymentId,
        idempotency_key: Uuid,
    ) -> Result<GatewayReference, GatewayError>;

    /// Raises an authorization by `amount` (an incremental authorization). A
    /// gateway that cannot answers `Refused`.
    async fn increase(
        &self,
        payment_id: PaymentId,
        amount: Money,
        idempotency_key: Uuid,
    ) -> Result<GatewayReference, GatewayError>;

    /// Releases `amount` of an authorization and keeps the rest capturable (a
    /// partial void).
    async fn release(
        &self,
        payment_id: PaymentId,
        amount: Money,
        idempotency_key: Uuid,
    ) -> Result<GatewayReference, GatewayError>;

    /// Gives `amount` of a captured payment back.
    async fn refund(
        &self,
        payment_id: PaymentId,
        amount: Money,
        idempotency_key: Uuid,
    ) -> Result<GatewayReference, GatewayError>;
}
