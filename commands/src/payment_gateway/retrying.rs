//! Timeouts and bounded retries around any gateway: a gateway that hangs costs one
//! caller at most `attempts × timeout`, never the other orders. Retrying is safe
//! because every call carries its idempotency key.

use std::time::Duration;

use domain::payment::GatewayReference;
use domain::shared::{Money, PaymentId, PaymentMethodToken};
use uuid::Uuid;

use super::{Authorization, GatewayError, PaymentGateway};

pub struct RetryingGateway<G> {
    inner: G,
    timeout: Duration,
    attempts: u32,
}

impl<G: PaymentGateway> RetryingGateway<G> {
    pub fn new(inner: G, timeout: Duration, attempts: u32) -> Self {
        RetryingGateway {
            inner,
            timeout,
            attempts: attempts.max(1),
        }
    }

    async fn call<T, F, Fut>(&self, call: F) -> Result<T, GatewayError>
    where
        F: Fn() -> Fut + Send + Sync,
        Fut: std::future::Future<Output = Result<T, GatewayError>> + Send,
        T: Send,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = match tokio::time::timeout(self.timeout, call()).await {
                Ok(outcome) => outcome,
                Err(_) => Err(GatewayError::Timeout),
            };
            match outcome {
                Err(error) if error.is_transient() && attempt < self.attempts => {
                    tokio::time::sleep(Duration::from_millis(100 << attempt.min(5))).await;
                }
                other => return other,
            }
        }
    }
}

#[async_trait::async_trait]
impl<G: PaymentGateway> PaymentGateway for RetryingGateway<G> {
    async fn authorize(
        &self,
        payment_id: PaymentId,
        amount: Money,
        method: &PaymentMethodToken,
        key: Uuid,
    ) -> Result<Authorization, GatewayError> {
        self.call(|| self.inner.authorize(payment_id, amount, method, key))
            .await
    }

    async fn capture(
        &self,
        payment_id: PaymentId,
        amount: Money,
        key: Uuid,
    ) -> Result<GatewayReference, GatewayError> {
        self.call(|| self.inner.capture(payment_id, amount, key))
            .await
    }

    async fn void(
        &self,
        payment_id: PaymentId,
        key: Uuid,
    ) -> Result<GatewayReference, GatewayError> {
        self.call(|| self.inner.void(payment_id, key)).await
    }

    async fn increase(
        &self,
        payment_id: PaymentId,
        amount: Money,
        key: Uuid,
    ) -> Result<GatewayReference, GatewayError> {
        self.call(|| self.inner.increase(payment_id, amount, key))
            .await
    }

    async fn release(
        &self,
        payment_id: PaymentId,
        amount: Money,
        key: Uuid,
    ) -> Result<GatewayReference, GatewayError> {
        self.call(|| self.inner.release(payment_id, amount, key))
            .await
    }

    async fn refund(
        &self,
        payment_id: PaymentId,
        amount: Money,
        key: Uuid,
    ) -> Result<GatewayReference, GatewayError> {
        self.call(|| self.inner.refund(payment_id, amount, key))
            .await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use domain::shared::Currency;

    use super::*;
    use crate::payment_gateway::TestGateway;

    /// Times out `failures` times, then answers like the test gateway.
    struct Flaky {
        failures: u32,
        calls: AtomicU32,
    }

    #[async_trait::async_trait]
    impl PaymentGateway for Flaky {
        async fn authorize(
            &self,
            payment_id: PaymentId,
            amount: Money,
            method: &PaymentMethodToken,
            key: Uuid,
        ) -> Result<Authorization, GatewayError> {
            if self.calls.fetch_add(1, Ordering::SeqCst) < self.failures {
                std::future::pending::<()>().await;
            }
            TestGateway::default()
                .authorize(payment_id, amount, method, key)
                .await
        }
        async fn capture(
            &self,
            _: PaymentId,
            _: Money,
            _: Uuid,
        ) -> Result<GatewayReference, GatewayError> {
            Err(GatewayError::Unavailable("down".into()))
        }
        async fn void(&self, _: PaymentId, _: Uuid) -> Result<GatewayReference, GatewayError> {
            Err(GatewayError::Refused("no".into()))
        }
        async fn release(
            &self,
            _: PaymentId,
            _: Money,
            _: Uuid,
        ) -> Result<GatewayReference, GatewayError> {
            Err(GatewayError::Refused("no".into()))
        }
        async fn increase(
            &self,
            _: PaymentId,
            _: Money,
            _: Uuid,
        ) -> Result<GatewayReference, GatewayError> {
            Err(GatewayError::Refused("no".into()))
        }
        async fn refund(
            &self,
            _: PaymentId,
            _: Money,
            _: Uuid,
        ) -> Result<GatewayReference, GatewayError> {
            Err(GatewayError::Unavailable("down".into()))
        }
    }

    fn flaky(failures: u32) -> RetryingGateway<Flaky> {
        RetryingGateway::new(
            Flaky {
                failures,
                calls: AtomicU32::new(0),
            },
            Duration::from_millis(20),
            3,
        )
    }

    fn args() -> (PaymentId, Money, PaymentMethodToken) {
        (
            PaymentId::new(Uuid::from_u128(1)),
            Money::new(100, Currency::new("EUR").unwrap()),
            PaymentMethodToken::new("tok_visa").unwrap(),
        )
    }

    #[tokio::test]
    async fn a_hanging_gateway_is_asked_again_with_the_same_key() {
        let (payment, amount, token) = args();
        let gateway = flaky(2);
        let answer = gateway
            .authorize(payment, amount, &token, Uuid::from_u128(5))
            .await;
        assert!(
            matches!(answer, Ok(Authorization::Authorized { .. })),
            "{answer:?}"
        );
        assert_eq!(gateway.inner.calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn retries_are_bounded_and_refusals_are_not_retried() {
        let (payment, amount, token) = args();
        let gateway = flaky(10);
        let answer = gateway
            .authorize(payment, amount, &token, Uuid::from_u128(5))
            .await;
        assert!(matches!(answer, Err(GatewayError::Timeout)));
        assert_eq!(gateway.inner.calls.load(Ordering::SeqCst), 3);
        assert!(matches!(
            gateway.void(payment, Uuid::from_u128(6)).await,
            Err(GatewayError::Refused(_))
        ));
    }
}
