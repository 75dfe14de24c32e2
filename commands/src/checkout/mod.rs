//! The checkout process manager: moves an order from checkout to confirmation, and
//! compensates when stock or payment fails, by sending ordinary commands.
//!
//! It is a side-effect projector of the runtime (`checkout_process`): it reads the
//! log from its checkpoint, so it survives restarts and never misses an event, and
//! it is at least once. Every command it sends is safe to send twice, because the
//! aggregates treat a repeated fact as a no-op (a second reservation for the same
//! order, a recorded authorization, a repeated cancellation), and every gateway
//! call carries an idempotency key derived from the event that caused it. So an
//! event handled twice after a crash reserves, charges and cancels once.
//!
//! | event | commands |
//! | --- | --- |
//! | CartCheckedOut | PlaceOrder (and the payment token is kept for later) |
//! | OrderPlaced | ReserveStock per line; then RecordStockReserved or RecordStockUnavailable on the order |
//! | OrderFullyReserved | InitiatePayment, the gateway's authorization, and its answer recorded on the payment |
//! | PaymentAuthorized | RecordPaymentAuthorized and ConfirmOrder |
//! | OrderConfirmed, OrderEditSettled | HoldUntilShipped per line: a paid-for order's stock no longer expires |
//! | PaymentDeclined, PaymentFailed | RecordPaymentFailed, release every reservation, CancelOrder |
//! | OrderStockUnavailable | release every reservation, CancelOrder |
//! | OrderShipped | CommitReservation per shipped line, capture what shipped (Capture on the payment, RecordPaymentCaptured on the order) |
//! | OrderCancelled | release every reservation; void or refund the payment |
//! | OrderLinesCancelled | release the cancelled units' reservations; release their value from the authorization (refund what was captured); capture the rest when nothing remains to ship |
//! | OrderReturnReceived | put resellable units back in stock (`StockAdjusted`, reason `returned`); issue the refund the receipt holds |
//! | OrderRefundRequested | issue the refund: at the gateway (keyed by the refund id), `Refund` on the payment, `RecordRefund` on the order |
//!
//! Every command carries the triggering event's correlation id and, as causation,
//! its event id.

mod scheduler;
mod steps;

pub use scheduler::{CheckoutScheduler, Pass};

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use eventlog::{PayloadsOf, RecordedEvent};
use futures::future::try_join_all;
use projections::runtime::SideEffectSink;
use sqlx::PgPool;

use crate::payment_gateway::PaymentGateway;
use crate::stores::Stores;

pub const PROJECTOR: &str = "checkout_process";

/// What the process manager decides with.
#[derive(Debug, Clone, Copy)]
pub struct CheckoutSettings {
    /// How long stock stays reserved for an order waiting for its payment.
    pub reservation_ttl: Duration,
}

impl Default for CheckoutSettings {
    fn default() -> Self {
        CheckoutSettings {
            reservation_ttl: Duration::from_secs(15 * 60),
        }
    }
}

pub struct CheckoutProcess {
    pub pool: PgPool,
    /// Stores of its own, like another process would have: their caches stay
    /// apart from the API's. Its steps read aggregates with `load_stored`: the
    /// API writes the same streams, so a cached copy may be behind.
    pub stores: Stores,
    pub gateway: Arc<dyn PaymentGateway>,
    pub settings: CheckoutSettings,
}

#[async_trait]
impl SideEffectSink for CheckoutProcess {
    fn name(&self) -> &str {
        PROJECTOR
    }

    /// The events [`steps::order_of`] takes: orders' and payments', and of the
    /// carts' only checkouts.
    fn payloads(&self) -> Option<PayloadsOf> {
        Some(PayloadsOf {
            aggregate_types: vec![
                domain::AggregateKind::Order.type_name(),
                domain::AggregateKind::Payment.type_name(),
            ],
            event_types: vec!["CartCheckedOut"],
        })
    }

    /// Orders move independently: their events are handled concurrently, each
    /// order's in log order, so a slow gateway answer holds back its own order only
    /// (until the batch ends).
    async fn deliver(&self, events: &[RecordedEvent]) -> Result<(), projections::Error> {
        let mut by_order: BTreeMap<String, Vec<&RecordedEvent>> = BTreeMap::new();
        for event in events {
            if let Some(order) = steps::order_of(event)? {
                by_order.entry(order).or_default().push(event);
            }
        }
        try_join_all(by_order.into_values().map(|events| async move {
            for event in events {
                self.handle(event).await?;
            }
            Ok::<(), projections::Error>(())
        }))
        .await?;
        Ok(())
    }

    /// Replaying the whole log would re-run every checkout's side effects at the
    /// gateway; a rebuild of this projector is refused.
    async fn reset(&self) -> Result<(), projections::Error> {
        Err(projections::Error::Rejected(
            "the checkout process is never rebuilt from zero: it would repeat side effects".into(),
        ))
    }
}
