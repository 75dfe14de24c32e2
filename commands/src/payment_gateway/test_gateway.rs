//! A gateway for development and tests: decides by the payment method token, like
//! a card network's test mode, and calls nothing. References are derived from the
//! idempotency key, so a repeated call answers as the first one did.

use std::time::Duration;

use domain::payment::{CardSummary, GatewayReference, NextAction};
use domain::shared::{Money, PaymentId, PaymentMethodToken};
use uuid::Uuid;

use super::{Authorization, GatewayError, PaymentGateway};

/// `tok_visa` authorizes; `tok_decline` declines; `tok_insufficient_funds`
/// declines with that reason; `tok_timeout` answers nothing for `timeout_delay`,
/// then fails; `tok_async` asks the customer to confirm and completes by webhook.
/// Any other token is declined as unknown.
#[derive(Debug, Clone)]
pub struct TestGateway {
    pub timeout_delay: Duration,
}

impl Default for TestGateway {
    fn default() -> Self {
        TestGateway {
            timeout_delay: Duration::from_secs(2),
        }
    }
}

fn reference(prefix: &str, key: Uuid) -> Result<GatewayReference, GatewayError> {
    GatewayReference::new(format!("{prefix}_{}", key.simple()))
        .map_err(|e| GatewayError::Refused(e.to_string()))
}

#[async_trait::async_trait]
impl PaymentGateway for TestGateway {
    async fn authorize(
        &self,
        _payment_id: PaymentId,
        amount: Money,
        method: &PaymentMethodToken,
        idempotency_key: Uuid,
    ) -> Result<Authorization, GatewayError> {
        let declined = |reason_code: &str, message: &str| {
            Ok(Authorization::Declined {
                reason_code: reason_code.to_owned(),
                message: message.to_owned(),
            })
        };
        match method.as_str() {
            "tok_visa" => Ok(Authorization::Authorized {
                reference: reference("auth", idempotency_key)?,
                amount,
                card: CardSummary::new("visa", "4242").ok(),
            }),
            "tok_decline" => declined("card_declined", "The card was declined."),
            "tok_insufficient_funds" => {
                declined("insufficient_funds", "The card has insufficient funds.")
            }
            "tok_timeout" => {
                tokio::time::sleep(self.timeout_delay).await;
                Err(GatewayError::Timeout)
            }
            "tok_async" => Ok(Authorization::Pending {
                reference: reference("pi", idempotency_key)?,
                next_action: NextAction::redirect_to_url(format!(
                    "https://gateway.test/3ds/{}",
                    idempotency_key.simple()
                ))
                .map_err(|e| GatewayError::Refused(e.to_string()))?,
            }),
            _ => declined(
                "unknown_token",
                "The payment method is not known to the gateway.",
            ),
        }
    }

    async fn capture(
        &self,
        _payment_id: PaymentId,
        _amount: Money,
        idempotency_key: Uuid,
    ) -> Result<GatewayReference, GatewayError> {
        reference("cap", idempotency_key)
    }

    async fn void(
        &self,
        _payment_id: PaymentId,
        idempotency_key: Uuid,
    ) -> Result<GatewayReference, GatewayError> {
        reference("void", idempotency_key)
    }

    async fn increase(
        &self,
        _payment_id: PaymentId,
        _amount: Money,
        idempotency_key: Uuid,
    ) -> Result<GatewayReference, GatewayError> {
        reference("inc", idempotency_key)
    }

    async fn release(
        &self,
        _payment_id: PaymentId,
        _amount: Money,
        idempotency_key: Uuid,
    ) -> Result<GatewayReference, GatewayError> {
        reference("rel", idempotency_key)
    }

    async fn refund(
        &self,
        _payment_id: PaymentId,
        _amount: Money,
        idempotency_key: Uuid,
    ) -> Result<GatewayReference, GatewayError> {
        reference("re", idempotency_key)
    }
}

#[cfg(test)]
mod tests {
    use domain::shared::Currency;

    use super::*;

    fn eur(amount: i64) -> Money {
        Money::new(amount, Currency::new("EUR").unwrap())
    }

    async fn authorize(token: &str, key: Uuid) -> Result<Authorization, GatewayError> {
        let gateway = TestGateway {
            timeout_delay: Duration::from_millis(10),
        };
        gateway
            .authorize(
                PaymentId::new(Uuid::from_u128(1)),
                eur(500),
                &PaymentMethodToken::new(token).unwrap(),
                key,
            )
            .await
    }

    #[tokio::test]
    async fn decides_by_the_test_token() {
        let key = Uuid::from_u128(7);
        assert!(matches!(
            authorize("tok_visa", key).await,
            Ok(Authorization::Authorized { amount, .. }) if amount == eur(500)
        ));
        assert!(matches!(
            authorize("tok_insufficient_funds", key).await,
            Ok(Authorization::Declined { reason_code, .. }) if reason_code == "insufficient_funds"
        ));
        assert!(matches!(
            authorize("tok_decline", key).await,
            Ok(Authorization::Declined { .. })
        ));
        assert!(matches!(
            authorize("tok_async", key).await,
            Ok(Authorization::Pending { .. })
        ));
        assert!(matches!(
            authorize("tok_timeout", key).await,
            Err(GatewayError::Timeout)
        ));
        assert!(matches!(
            authorize("tok_whatever", key).await,
            Ok(Authorization::Declined { reason_code, .. }) if reason_code == "unknown_token"
        ));
    }

    #[tokio::test]
    async fn a_repeated_key_gets_the_same_reference() {
        let key = Uuid::from_u128(9);
        assert_eq!(
            authorize("tok_visa", key).await.unwrap(),
            authorize("tok_visa", key).await.unwrap()
        );
        assert_ne!(
            authorize("tok_visa", key).await.unwrap(),
            authorize("tok_visa", Uuid::from_u128(10)).await.unwrap()
        );
    }
}
