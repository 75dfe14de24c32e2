//! The payment gateway as the command side sees it. The gateway's decision arrives
//! in the Payment aggregate's commands; the call itself happens here.
//!
//! Only refunds are needed so far (an admin's refund); authorization, capture and
//! void join with the checkout process.

use domain::payment::GatewayReference;
use domain::shared::{Money, PaymentId};
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("the payment gateway refused: {0}")]
    Refused(String),
    #[error("the payment gateway is unreachable: {0}")]
    Unavailable(String),
}

#[async_trait::async_trait]
pub trait PaymentGateway: Send + Sync {
    /// Gives `amount` of a captured payment back; returns the gateway's reference.
    /// `idempotency_key` makes a retried call refund once.
    async fn refund(
        &self,
        payment_id: PaymentId,
        amount: Money,
        idempotency_key: Uuid,
    ) -> Result<GatewayReference, GatewayError>;
}

/// A gateway for development and tests: decides locally, like a card network's
/// test mode, and calls nothing.
#[derive(Debug, Default, Clone)]
pub struct TestGateway;

#[async_trait::async_trait]
impl PaymentGateway for TestGateway {
    async fn refund(
        &self,
        _payment_id: PaymentId,
        _amount: Money,
        idempotency_key: Uuid,
    ) -> Result<GatewayReference, GatewayError> {
        GatewayReference::new(format!("re_{}", idempotency_key.simple()))
            .map_err(|e| GatewayError::Refused(e.to_string()))
    }
}
