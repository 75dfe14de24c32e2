//! The checkout's timeouts, as ordinary commands so the log says why: reservations
//! past their expiry are released (`ExpireReservations` on every SKU holding
//! some), and orders still waiting for their payment after `payment_timeout` are
//! cancelled. Candidates come from the read models; the aggregates decide, so a
//! candidate that moved on meanwhile is refused and nothing happens.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::inventory::{Inventory, InventoryCommand};
use domain::order::{CancelledBy, Order, OrderCommand};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::error::{CommandError, StoreError};
use crate::execute::{execute, CommandOptions};
use crate::metadata::CommandMetadata;
use crate::store::AggregateStore;

pub struct CheckoutScheduler {
    pub pool: PgPool,
    pub inventory: Arc<AggregateStore<Inventory>>,
    pub orders: Arc<AggregateStore<Order>>,
    /// How long an order may wait for its payment.
    pub payment_timeout: Duration,
}

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pass {
    pub skus_with_expired_reservations: usize,
    pub orders_cancelled: usize,
}

fn metadata(command: &str) -> CommandMetadata {
    // Nothing in the log caused a timeout: the scheduler's own call is the cause.
    let call = Uuid::new_v4();
    CommandMetadata {
        actor: "checkout-scheduler".to_owned(),
        actor_role: "system".to_owned(),
        correlation_id: call,
        causation_id: Some(call),
        request_id: call,
        command: command.to_owned(),
    }
}

impl CheckoutScheduler {
    /// Runs a pass every `every` until `cancel`.
    pub async fn run(self, every: Duration, cancel: CancellationToken) {
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
            if let Err(error) = self.pass(Utc::now()).await {
                tracing::warn!(%error, "checkout scheduler pass failed; next pass retries");
            }
        }
    }

    /// One pass as of `now`.
    pub async fn pass(&self, now: DateTime<Utc>) -> Result<Pass, StoreError> {
        let mut pass = Pass::default();
        let skus: Vec<String> = sqlx::query_scalar(
            "SELECT sku FROM read_inventory WHERE (doc->>'reserved')::bigint > 0",
        )
        .fetch_all(&self.pool)
        .await?;
        for sku in skus {
            let expire = InventoryCommand::ExpireReservations { now };
            match execute(
                &self.inventory,
                &sku,
                expire,
                &metadata("expire-reservations"),
                CommandOptions::default(),
                None,
            )
            .await
            {
                Ok(executed) if executed.appended > 0 => pass.skus_with_expired_reservations += 1,
                Ok(_) | Err(CommandError::Refused(_)) => {}
                Err(CommandError::Store(error)) => return Err(error),
                Err(other) => tracing::warn!(%sku, error = %other, "could not expire reservations"),
            }
        }
        let timeout = chrono::Duration::from_std(self.payment_timeout)
            .unwrap_or(chrono::Duration::minutes(30));
        let waiting: Vec<Uuid> = sqlx::query_scalar(
            "SELECT order_id FROM read_orders
              WHERE status IN ('placed', 'awaiting_payment') AND placed_at < $1",
        )
        .bind(now - timeout)
        .fetch_all(&self.pool)
        .await?;
        let minutes = self.payment_timeout.as_secs() / 60;
        for order_id in waiting {
            let cancel = OrderCommand::CancelOrder {
                reason: format!("the payment was not completed within {minutes} minutes"),
                cancelled_by: CancelledBy::System,
            };
            match execute(
                &self.orders,
                &order_id.to_string(),
                cancel,
                &metadata("cancel"),
                CommandOptions::default(),
                None,
            )
            .await
            {
                Ok(executed) if executed.appended > 0 => pass.orders_cancelled += 1,
                Ok(_) | Err(CommandError::Refused(_)) => {}
                Err(CommandError::Store(error)) => return Err(error),
                Err(other) => {
                    tracing::warn!(%order_id, error = %other, "could not cancel a waiting order")
                }
            }
        }
        Ok(pass)
    }
}
