//! One step per event the checkout process follows (see the table in the module
//! above).

use chrono::Duration as ChronoDuration;
use domain::cart::CartEvent;
use domain::inventory::{Inventory, InventoryCommand, InventoryError, ReleaseReason};
use domain::order::{CancelledBy, OrderCommand, OrderEvent};
use domain::payment::{PaymentCommand, PaymentEvent};
use domain::shared::{Money, OrderId, PaymentId, PaymentMethodToken};
use eventlog::decode;
use eventlog::RecordedEvent;
use projections::Error;
use uuid::Uuid;

use super::CheckoutProcess;
use crate::error::CommandError;
use crate::execute::{execute, CommandOptions, Executed};
use crate::metadata::CommandMetadata;
use crate::payment_gateway::{Authorization, GatewayError};
use crate::store::AggregateStore;

/// The order an event belongs to, when the process follows that event.
pub fn order_of(event: &RecordedEvent) -> Result<Option<String>, Error> {
    Ok(
        match (event.aggregate_type.as_str(), event.event_type.as_str()) {
            (
                "Order",
                "OrderPlaced"
                | "OrderFullyReserved"
                | "OrderStockUnavailable"
                | "OrderShipped"
                | "OrderCancelled",
            ) => Some(event.aggregate_id.clone()),
            ("Cart", "CartCheckedOut") => match decode::<CartEvent>(event)? {
                CartEvent::CartCheckedOut { order_id, .. } => Some(order_id.to_string()),
                _ => None,
            },
            ("Payment", "PaymentAuthorized" | "PaymentDeclined" | "PaymentFailed") => {
                match decode::<PaymentEvent>(event)? {
                    PaymentEvent::PaymentAuthorized { order_id, .. }
                    | PaymentEvent::PaymentDeclined { order_id, .. }
                    | PaymentEvent::PaymentFailed { order_id, .. } => Some(order_id.to_string()),
                    _ => None,
                }
            }
            _ => None,
        },
    )
}

/// Who sends the process's commands, and because of what.
fn caused_by(event: &RecordedEvent, command: &str) -> CommandMetadata {
    let correlation_id = serde_json::from_str::<serde_json::Value>(&event.metadata)
        .ok()
        .and_then(|m| {
            m["correlation_id"]
                .as_str()
                .and_then(|c| Uuid::parse_str(c).ok())
        })
        .unwrap_or(event.event_id);
    CommandMetadata {
        actor: super::PROJECTOR.to_owned(),
        actor_role: "system".to_owned(),
        correlation_id,
        causation_id: Some(event.event_id),
        request_id: event.event_id,
        command: command.to_owned(),
    }
}

/// A key for a gateway call, the same every time `event` is handled.
fn gateway_key(event: &RecordedEvent, call: &str) -> Uuid {
    Uuid::new_v5(&event.event_id, call.as_bytes())
}

/// The payment of an order: one per order, so its id follows from the order's.
pub fn payment_of(order_id: OrderId) -> PaymentId {
    PaymentId::new(Uuid::new_v5(&order_id.as_uuid(), b"payment"))
}

fn transient(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
    Error::Downstream {
        source: error.into(),
    }
}

impl CheckoutProcess {
    /// Sends `command`; a refusal is final (sending it again would be refused
    /// again) and is logged, a storage failure is retried with the batch.
    async fn send<A>(
        &self,
        store: &AggregateStore<A>,
        id: &str,
        name: &str,
        command: A::Command,
        event: &RecordedEvent,
    ) -> Result<Option<Executed>, Error>
    where
        A: domain::RegisteredAggregate,
    {
        match execute(
            store,
            id,
            command,
            &caused_by(event, name),
            CommandOptions::default(),
            None,
        )
        .await
        {
            Ok(executed) => Ok(Some(executed)),
            Err(CommandError::Refused(refusal)) => {
                tracing::warn!(command = name, aggregate_id = id, %refusal, cause = %event.event_id, "checkout step refused");
                Ok(None)
            }
            Err(other) => Err(transient(other)),
        }
    }

    async fn order(
        &self,
        order_id: OrderId,
        command: OrderCommand,
        event: &RecordedEvent,
    ) -> Result<(), Error> {
        let name = command.name();
        self.send(
            self.stores.of::<domain::order::Order>(),
            &order_id.to_string(),
            name,
            command,
            event,
        )
        .await
        .map(|_| ())
    }

    async fn payment(
        &self,
        payment_id: PaymentId,
        command: PaymentCommand,
        event: &RecordedEvent,
    ) -> Result<(), Error> {
        let name = command.name();
        self.send(
            self.stores.of::<domain::payment::Payment>(),
            &payment_id.to_string(),
            name,
            command,
            event,
        )
        .await
        .map(|_| ())
    }

    pub(super) async fn handle(&self, event: &RecordedEvent) -> Result<(), Error> {
        match (event.aggregate_type.as_str(), event.event_type.as_str()) {
            ("Cart", "CartCheckedOut") => self.place(event).await,
            ("Order", "OrderPlaced") => self.reserve(event).await,
            ("Order", "OrderFullyReserved") => self.authorize(event).await,
            ("Payment", "PaymentAuthorized") => self.confirm(event).await,
            ("Payment", "PaymentDeclined" | "PaymentFailed") => self.payment_refused(event).await,
            ("Order", "OrderStockUnavailable") => self.out_of_stock(event).await,
            ("Order", "OrderShipped") => self.ship(event).await,
            ("Order", "OrderCancelled") => self.cancelled(event).await,
            _ => Ok(()),
        }
    }

    async fn place(&self, event: &RecordedEvent) -> Result<(), Error> {
        let CartEvent::CartCheckedOut {
            cart_id,
            order_id,
            customer_id,
            lines,
            currency,
            email,
            shipping_address,
            payment_token,
            checked_out_at,
            ..
        } = decode::<CartEvent>(event)?
        else {
            return Ok(());
        };
        sqlx::query(
            "INSERT INTO checkout_payment_methods (order_id, payment_token) VALUES ($1, $2)
             ON CONFLICT (order_id) DO NOTHING",
        )
        .bind(order_id.as_uuid())
        .bind(payment_token.as_str())
        .execute(&self.pool)
        .await?;
        let place = OrderCommand::PlaceOrder {
            order_id,
            cart_id,
            customer_id,
            email,
            shipping_address,
            lines,
            shipping_cost: Money::new(self.settings.shipping_cost_minor, currency),
            placed_at: checked_out_at,
        };
        self.order(order_id, place, event).await
    }

    async fn reserve(&self, event: &RecordedEvent) -> Result<(), Error> {
        let OrderEvent::OrderPlaced {
            order_id, lines, ..
        } = decode::<OrderEvent>(event)?
        else {
            return Ok(());
        };
        // Only orders this process placed from a checkout are its to move on.
        let from_checkout: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM checkout_payment_methods WHERE order_id = $1")
                .bind(order_id.as_uuid())
                .fetch_optional(&self.pool)
                .await?;
        if from_checkout.is_none() {
            return Ok(());
        }
        let ttl = ChronoDuration::from_std(self.settings.reservation_ttl)
            .unwrap_or(ChronoDuration::minutes(15));
        for line in lines {
            let reserve = InventoryCommand::ReserveStock {
                order_id,
                quantity: line.quantity,
                expires_at: event.recorded_at + ttl,
            };
            let outcome = execute::<Inventory>(
                self.stores.of::<domain::inventory::Inventory>(),
                line.sku.as_str(),
                reserve,
                &caused_by(event, "reserve-stock"),
                CommandOptions::default(),
                None,
            )
            .await;
            let recorded = match outcome {
                Ok(_) => OrderCommand::RecordStockReserved { sku: line.sku },
                Err(CommandError::Refused(
                    InventoryError::InsufficientStock { .. } | InventoryError::NotFound,
                )) => OrderCommand::RecordStockUnavailable { sku: line.sku },
                Err(CommandError::Refused(other)) => {
                    tracing::warn!(%order_id, refusal = %other, "stock could not be reserved");
                    OrderCommand::RecordStockUnavailable { sku: line.sku }
                }
                Err(other) => return Err(transient(other)),
            };
            self.order(order_id, recorded, event).await?;
        }
        Ok(())
    }

    async fn authorize(&self, event: &RecordedEvent) -> Result<(), Error> {
        let OrderEvent::OrderFullyReserved {
            order_id,
            customer_id,
            total,
        } = decode::<OrderEvent>(event)?
        else {
            return Ok(());
        };
        let token: Option<String> = sqlx::query_scalar(
            "SELECT payment_token FROM checkout_payment_methods WHERE order_id = $1",
        )
        .bind(order_id.as_uuid())
        .fetch_optional(&self.pool)
        .await?;
        let Some(method) = token.and_then(|t| PaymentMethodToken::new(t).ok()) else {
            return Err(Error::Rejected(format!(
                "no payment method kept for order {order_id}"
            )));
        };
        let payment_id = payment_of(order_id);
        let initiate = PaymentCommand::InitiatePayment {
            payment_id,
            order_id,
            amount: total,
            method: method.clone(),
            customer_id,
        };
        self.payment(payment_id, initiate, event).await?;
        let answer = self
            .gateway
            .authorize(payment_id, total, &method, gateway_key(event, "authorize"))
            .await;
        let record = match answer {
            Ok(Authorization::Authorized {
                reference,
                amount,
                card,
            }) => PaymentCommand::RecordAuthorization {
                gateway_reference: reference,
                amount,
                card,
            },
            Ok(Authorization::Declined {
                reason_code,
                message,
            }) => PaymentCommand::RecordDecline {
                reason_code,
                message,
            },
            Ok(Authorization::Pending {
                reference,
                next_action,
            }) => PaymentCommand::RecordActionRequired {
                gateway_reference: reference,
                next_action,
            },
            Err(
                error @ (GatewayError::Timeout
                | GatewayError::Unavailable(_)
                | GatewayError::Refused(_)),
            ) => PaymentCommand::RecordFailure {
                reason: error.to_string(),
            },
        };
        self.payment(payment_id, record, event).await
    }

    async fn confirm(&self, event: &RecordedEvent) -> Result<(), Error> {
        let PaymentEvent::PaymentAuthorized {
            payment_id,
            order_id,
            amount,
            ..
        } = decode::<PaymentEvent>(event)?
        else {
            return Ok(());
        };
        self.order(
            order_id,
            OrderCommand::RecordPaymentAuthorized { payment_id, amount },
            event,
        )
        .await?;
        self.order(order_id, OrderCommand::ConfirmOrder {}, event)
            .await
    }

    async fn payment_refused(&self, event: &RecordedEvent) -> Result<(), Error> {
        let (payment_id, order_id, reason) = match decode::<PaymentEvent>(event)? {
            PaymentEvent::PaymentDeclined {
                payment_id,
                order_id,
                message,
                ..
            } => (
                payment_id,
                order_id,
                format!("the payment was declined: {message}"),
            ),
            PaymentEvent::PaymentFailed {
                payment_id,
                order_id,
                reason,
                ..
            } => (
                payment_id,
                order_id,
                format!("the payment failed: {reason}"),
            ),
            _ => return Ok(()),
        };
        self.order(
            order_id,
            OrderCommand::RecordPaymentFailed {
                payment_id,
                reason: reason.clone(),
            },
            event,
        )
        .await?;
        self.cancel(order_id, reason, event).await
    }

    async fn out_of_stock(&self, event: &RecordedEvent) -> Result<(), Error> {
        let OrderEvent::OrderStockUnavailable { order_id, sku, .. } = decode::<OrderEvent>(event)?
        else {
            return Ok(());
        };
        self.cancel(order_id, format!("{sku} is out of stock"), event)
            .await
    }

    /// Cancels the order; its OrderCancelled then releases what is held.
    async fn cancel(
        &self,
        order_id: OrderId,
        reason: String,
        event: &RecordedEvent,
    ) -> Result<(), Error> {
        let cancel = OrderCommand::CancelOrder {
            reason,
            cancelled_by: CancelledBy::System,
        };
        self.order(order_id, cancel, event).await
    }

    async fn ship(&self, event: &RecordedEvent) -> Result<(), Error> {
        let OrderEvent::OrderShipped {
            order_id,
            shipment_id,
            lines,
            fully_shipped,
            ..
        } = decode::<OrderEvent>(event)?
        else {
            return Ok(());
        };
        for line in &lines {
            // A partial commit is not idempotent in the domain (it is not keyed by
            // shipment), so a redelivered shipment is recognised here: a commit
            // this very event caused is in the log, by its causation id.
            let committed: Option<i32> = sqlx::query_scalar(
                "SELECT 1 FROM events
                  WHERE causation_id = $1 AND aggregate_type = 'Inventory' AND aggregate_id = $2
                  LIMIT 1",
            )
            .bind(event.event_id.to_string())
            .bind(line.sku.as_str())
            .fetch_optional(&self.pool)
            .await?;
            if committed.is_some() {
                continue;
            }
            let commit = InventoryCommand::CommitReservation {
                order_id,
                quantity: Some(line.quantity),
            };
            self.send(
                self.stores.of::<domain::inventory::Inventory>(),
                line.sku.as_str(),
                "commit-reservation",
                commit,
                event,
            )
            .await?;
        }
        let (order, _) = self
            .stores
            .of::<domain::order::Order>()
            .load(&order_id.to_string())
            .await
            .map_err(transient)?;
        let Some(placed) = order.aggregate.placed().cloned() else {
            return Ok(());
        };
        let Some(paid) = placed.payment else {
            return Ok(());
        };
        let (payment, _) = self
            .stores
            .of::<domain::payment::Payment>()
            .load(&paid.payment_id.to_string())
            .await
            .map_err(transient)?;
        let capturable = payment.aggregate.remaining_capturable();
        // The shipped lines' value; the last shipment takes the rest (shipping).
        let amount = if fully_shipped {
            capturable
        } else {
            let mut value = Money::zero(placed.currency);
            for line in &lines {
                if let Some(ordered) = placed.lines.iter().find(|l| l.sku == line.sku) {
                    let line_value = ordered
                        .unit_price
                        .checked_mul(line.quantity.get())
                        .map_err(|e| Error::Rejected(e.to_string()))?;
                    value = value
                        .checked_add(&line_value)
                        .map_err(|e| Error::Rejected(e.to_string()))?;
                }
            }
            capturable.map(|c| {
                if value.amount() < c.amount() {
                    value
                } else {
                    c
                }
            })
        };
        let Some(amount) = amount.filter(|a| a.amount() > 0) else {
            return Ok(());
        };
        let reference = self
            .gateway
            .capture(
                paid.payment_id,
                amount,
                Uuid::new_v5(&shipment_id.as_uuid(), b"capture"),
            )
            .await
            .map_err(transient)?;
        self.payment(
            paid.payment_id,
            PaymentCommand::Capture {
                gateway_reference: reference,
                amount,
            },
            event,
        )
        .await
    }

    async fn cancelled(&self, event: &RecordedEvent) -> Result<(), Error> {
        let OrderEvent::OrderCancelled {
            order_id,
            release_stock,
            payment_id,
            ..
        } = decode::<OrderEvent>(event)?
        else {
            return Ok(());
        };
        let (order, _) = self
            .stores
            .of::<domain::order::Order>()
            .load(&order_id.to_string())
            .await
            .map_err(transient)?;
        // Every line: a reservation taken but not yet recorded on the order is
        // released too (releasing what is not held is a no-op).
        let mut skus: Vec<_> = release_stock.into_iter().map(|l| l.sku).collect();
        if let Some(placed) = order.aggregate.placed() {
            skus.extend(placed.lines.iter().map(|l| l.sku.clone()));
        }
        skus.sort();
        skus.dedup();
        for sku in skus {
            let release = InventoryCommand::ReleaseReservation {
                order_id,
                reason: ReleaseReason::OrderCancelled,
            };
            self.send(
                self.stores.of::<domain::inventory::Inventory>(),
                sku.as_str(),
                "release-reservation",
                release,
                event,
            )
            .await?;
        }
        let payment_id = payment_id.unwrap_or_else(|| payment_of(order_id));
        let (payment, _) = self
            .stores
            .of::<domain::payment::Payment>()
            .load(&payment_id.to_string())
            .await
            .map_err(transient)?;
        let payment = payment.aggregate;
        if !payment.exists() {
            return Ok(());
        }
        let captured = payment.captured().filter(|c| c.amount() > 0);
        match (captured, payment.refundable().filter(|r| r.amount() > 0)) {
            (None, _) if payment.authorized().is_some_and(|a| a.amount() > 0) => {
                let reference = self
                    .gateway
                    .void(payment_id, gateway_key(event, "void"))
                    .await
                    .map_err(transient)?;
                self.payment(
                    payment_id,
                    PaymentCommand::Void {
                        gateway_reference: reference,
                    },
                    event,
                )
                .await
            }
            (Some(_), Some(refundable)) => {
                let reference = self
                    .gateway
                    .refund(payment_id, refundable, gateway_key(event, "refund"))
                    .await
                    .map_err(transient)?;
                let refund = PaymentCommand::Refund {
                    gateway_reference: reference,
                    amount: refundable,
                    reason: "order cancelled".into(),
                };
                self.payment(payment_id, refund, event).await
            }
            _ => Ok(()),
        }
    }
}
