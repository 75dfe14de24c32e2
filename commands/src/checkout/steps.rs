//! One step per event the checkout process follows (see the table in the module
//! above).

use chrono::Duration as ChronoDuration;
use domain::cart::CartEvent;
use domain::inventory::{
    AdjustmentReason, Inventory, InventoryCommand, InventoryError, ReleaseReason,
};
use domain::order::{
    CancelledBy, EditId, LineQuantity, Order, OrderCommand, OrderEvent, OrderStatus, RefundFor,
    RefundId, Replacement, Replaces, ReturnCondition, ReturnId,
};
use domain::payment::{Payment, PaymentCommand, PaymentEvent};
use domain::shared::{LineItem, Money, OrderId, PaymentId, PaymentMethodToken, Quantity, Sku};
use eventlog::decode;
use eventlog::RecordedEvent;
use projections::Error;
use uuid::Uuid;

use super::CheckoutProcess;
use crate::error::CommandError;
use crate::execute::{execute, CommandOptions, Executed};
use crate::metadata::CommandMetadata;
use crate::payment_gateway::{Authorization, GatewayError};
use crate::store::{AggregateStore, Loaded};

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
                | "OrderCancelled"
                | "OrderLinesCancelled"
                | "OrderReturnReceived"
                | "OrderRefundRequested"
                | "OrderEdited"
                | "OrderConfirmed"
                | "OrderEditSettled",
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

/// What a received return asks to send instead of money.
struct Exchange {
    original: OrderId,
    replacement: OrderId,
    return_id: ReturnId,
    replacements: Vec<Replacement>,
    credit: Money,
}

/// A refund the order decided, on its way to the gateway.
struct Refund {
    order_id: OrderId,
    refund_id: RefundId,
    payment_id: PaymentId,
    amount: Money,
    lines: Vec<LineQuantity>,
    reason: String,
    for_what: Option<RefundFor>,
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
            ("Order", "OrderLinesCancelled") => self.lines_cancelled(event).await,
            ("Order", "OrderReturnReceived") => self.return_received(event).await,
            ("Order", "OrderRefundRequested") => self.refund_requested(event).await,
            ("Order", "OrderEdited") => self.edited(event).await,
            ("Order", "OrderConfirmed" | "OrderEditSettled") => self.hold_stock(event).await,
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
            pricing,
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
            // Priced checkouts carry their shipping (the chosen method's charge);
            // those recorded before pricing existed ship for nothing.
            shipping_cost: Money::zero(currency),
            placed_at: checked_out_at,
            replaces: None,
            pricing,
        };
        self.order(order_id, place, event).await
    }

    async fn reserve(&self, event: &RecordedEvent) -> Result<(), Error> {
        let OrderEvent::OrderPlaced {
            order_id,
            lines,
            replaces,
            ..
        } = decode::<OrderEvent>(event)?
        else {
            return Ok(());
        };
        // Only orders this process placed (from a checkout, or replacing a
        // return) are its to move on.
        let from_checkout: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM checkout_payment_methods WHERE order_id = $1")
                .bind(order_id.as_uuid())
                .fetch_optional(&self.pool)
                .await?;
        if from_checkout.is_none() && replaces.is_none() {
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
        if total.amount() == 0 {
            // A replacement its return paid for: nothing to authorize.
            return self
                .order(order_id, OrderCommand::ConfirmOrder {}, event)
                .await;
        }
        let token: Option<String> = sqlx::query_scalar(
            "SELECT payment_token FROM checkout_payment_methods WHERE order_id = $1",
        )
        .bind(order_id.as_uuid())
        .fetch_optional(&self.pool)
        .await?;
        let Some(method) = token.and_then(|t| PaymentMethodToken::new(t).ok()) else {
            // Not placed from a checkout: not this process's to pay for, unless it
            // is a replacement it placed, whose difference nothing can pay.
            let order = self.load_order(order_id).await?;
            if order
                .aggregate
                .placed()
                .is_some_and(|p| p.replaces.is_some())
            {
                let reason = "no payment method is kept to pay the difference".to_owned();
                return self.cancel(order_id, reason, event).await;
            }
            return Ok(());
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
            // A partial commit is not keyed by shipment in the domain: a
            // redelivered shipment is recognised by the commit it caused.
            let commit = InventoryCommand::CommitReservation {
                order_id,
                quantity: Some(line.quantity),
            };
            self.inventory_once(line.sku.as_str(), "commit-reservation", commit, event)
                .await?;
        }
        let order = self.load_order(order_id).await?;
        let Some(placed) = order.aggregate.placed().cloned() else {
            return Ok(());
        };
        let Some(paid) = placed.payment else {
            return Ok(());
        };
        let payment = self.load_payment(paid.payment_id).await?;
        let capturable = payment.remaining_capturable();
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
        self.capture(
            order_id,
            paid.payment_id,
            amount,
            Uuid::new_v5(&shipment_id.as_uuid(), b"capture"),
            event,
        )
        .await
    }

    /// Captures `amount` at the gateway, then records it on the payment and on the
    /// order (whose refunds are decided against what was captured).
    async fn capture(
        &self,
        order_id: OrderId,
        payment_id: PaymentId,
        amount: Money,
        key: Uuid,
        event: &RecordedEvent,
    ) -> Result<(), Error> {
        let reference = self
            .gateway
            .capture(payment_id, amount, key)
            .await
            .map_err(transient)?;
        self.payment(
            payment_id,
            PaymentCommand::Capture {
                gateway_reference: reference.clone(),
                amount,
            },
            event,
        )
        .await?;
        let captured = OrderCommand::RecordPaymentCaptured {
            payment_id,
            gateway_reference: reference,
            amount,
        };
        self.order(order_id, captured, event).await
    }

    /// Whether handling `event` already changed `aggregate_id` of `aggregate_type`:
    /// a redelivered event is told by the causation id in the log.
    async fn already_caused(
        &self,
        event: &RecordedEvent,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<bool, Error> {
        let found: Option<i32> = sqlx::query_scalar(
            "SELECT 1 FROM events
              WHERE causation_id = $1 AND aggregate_type = $2 AND aggregate_id = $3
              LIMIT 1",
        )
        .bind(event.event_id.to_string())
        .bind(aggregate_type)
        .bind(aggregate_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    /// Cancelled units of an order that goes on: their stock goes back, their
    /// value is released from the authorization (refunded where it was captured),
    /// and when nothing remains to ship the rest of the authorization is captured.
    async fn lines_cancelled(&self, event: &RecordedEvent) -> Result<(), Error> {
        let OrderEvent::OrderLinesCancelled {
            order_id,
            lines,
            payment_id,
            amount_to_refund,
            status_after,
            ..
        } = decode::<OrderEvent>(event)?
        else {
            return Ok(());
        };
        for line in &lines {
            let release = InventoryCommand::ReleaseReservation {
                order_id,
                reason: ReleaseReason::LinesCancelled,
                quantity: Some(line.quantity),
            };
            self.inventory_once(line.sku.as_str(), "release-reservation", release, event)
                .await?;
        }
        let Some(payment_id) = payment_id else {
            return Ok(());
        };
        let payment = self.load_payment(payment_id).await?;
        let capturable = payment.remaining_capturable().map_or(0, |m| m.amount());
        let released = amount_to_refund.amount().min(capturable);
        if released > 0 {
            let amount = Money::new(released, amount_to_refund.currency());
            self.release_authorization(payment_id, amount, event)
                .await?;
        }
        let captured_part = amount_to_refund.amount() - released;
        if captured_part > 0 {
            let refund_id = RefundId::new(gateway_key(event, "refund"));
            let amount = Money::new(captured_part, amount_to_refund.currency());
            let refund = Refund {
                order_id,
                refund_id,
                payment_id,
                amount,
                lines: lines
                    .iter()
                    .map(|l| LineQuantity {
                        sku: l.sku.clone(),
                        quantity: l.quantity,
                    })
                    .collect(),
                reason: "cancelled lines".to_owned(),
                for_what: Some(RefundFor::LineCancellation),
            };
            self.refund(refund, event).await?;
        }
        if status_after == OrderStatus::Shipped {
            let payment = self.load_payment(payment_id).await?;
            if let Some(rest) = payment.remaining_capturable().filter(|r| r.amount() > 0) {
                let key = gateway_key(event, "capture");
                self.capture(order_id, payment_id, rest, key, event).await?;
            }
        }
        Ok(())
    }

    /// Places the replacement order of an exchange: to the original order's
    /// customer and address, at no shipping cost, its return's credit off the
    /// total; any difference is paid with the original order's payment method.
    async fn place_replacement(
        &self,
        exchange: Exchange,
        event: &RecordedEvent,
    ) -> Result<(), Error> {
        let original = self.load_order(exchange.original).await?;
        let Some(original) = original.aggregate.placed().cloned() else {
            return Ok(());
        };
        sqlx::query(
            "INSERT INTO checkout_payment_methods (order_id, payment_token)
             SELECT $2, payment_token FROM checkout_payment_methods WHERE order_id = $1
             ON CONFLICT (order_id) DO NOTHING",
        )
        .bind(exchange.original.as_uuid())
        .bind(exchange.replacement.as_uuid())
        .execute(&self.pool)
        .await?;
        // One line per SKU, as an order wants them.
        let mut lines: Vec<LineItem> = Vec::new();
        for wanted in exchange.replacements {
            match lines.iter_mut().find(|l| l.sku == wanted.sku) {
                Some(line) => {
                    let more = line.quantity.get().saturating_add(wanted.quantity.get());
                    line.quantity =
                        Quantity::new(more).map_err(|e| Error::Rejected(e.to_string()))?;
                }
                None => lines.push(LineItem {
                    sku: wanted.sku,
                    name: wanted.name,
                    unit_price: wanted.unit_price,
                    quantity: wanted.quantity,
                }),
            }
        }
        let place = OrderCommand::PlaceOrder {
            order_id: exchange.replacement,
            cart_id: original.cart_id,
            customer_id: original.customer_id,
            email: original.email,
            shipping_address: original.shipping_address,
            lines,
            shipping_cost: Money::zero(original.currency),
            placed_at: event.recorded_at,
            pricing: None,
            replaces: Some(Replaces {
                order_id: exchange.original,
                return_id: exchange.return_id,
                credit: exchange.credit,
            }),
        };
        self.order(exchange.replacement, place, event).await
    }

    /// An edit of a confirmed order: hold the added units, raise the
    /// authorization to the new value, then give back what was taken away; settle
    /// the edit, or revert it (releasing what it held) when stock or the gateway
    /// say no. Raises come before releases, so a revert never has to take back
    /// what was given.
    async fn edited(&self, event: &RecordedEvent) -> Result<(), Error> {
        let OrderEvent::OrderEdited {
            order_id,
            edit_id,
            lines,
            total_before,
            total_after,
            payment_id,
            ..
        } = decode::<OrderEvent>(event)?
        else {
            return Ok(());
        };
        // Redelivered after the edit was settled or reverted: all done already.
        let order = self.load_order(order_id).await?;
        let pending = order
            .aggregate
            .placed()
            .and_then(|p| p.pending_edit.as_ref())
            .is_some_and(|edit| edit.edit_id == edit_id);
        if !pending {
            return Ok(());
        }
        let ttl = ChronoDuration::from_std(self.settings.reservation_ttl)
            .unwrap_or(ChronoDuration::minutes(15));
        let mut held = Vec::new();
        for line in lines.iter().filter(|l| l.ordered_after > l.ordered_before) {
            let added = Quantity::new(line.ordered_after - line.ordered_before)
                .map_err(|e| Error::Rejected(e.to_string()))?;
            if self
                .already_caused(event, "Inventory", line.sku.as_str())
                .await?
            {
                held.push((line.sku.clone(), added));
                continue;
            }
            let hold = if line.ordered_before == 0 {
                InventoryCommand::ReserveStock {
                    order_id,
                    quantity: added,
                    expires_at: event.recorded_at + ttl,
                }
            } else {
                InventoryCommand::ExtendReservation {
                    order_id,
                    quantity: added,
                }
            };
            match execute::<Inventory>(
                self.stores.of::<Inventory>(),
                line.sku.as_str(),
                hold,
                &caused_by(event, "reserve-stock"),
                CommandOptions::default(),
                None,
            )
            .await
            {
                Ok(_) => held.push((line.sku.clone(), added)),
                Err(CommandError::Refused(refusal)) => {
                    let reason = format!("{} could not be reserved: {refusal}", line.sku);
                    return self
                        .revert_edit(order_id, edit_id, &held, reason, event)
                        .await;
                }
                Err(other) => return Err(transient(other)),
            }
        }
        let raise = total_after.amount() - total_before.amount();
        if raise > 0 {
            let amount = Money::new(raise, total_after.currency());
            let key = gateway_key(event, "increase");
            match self.gateway.increase(payment_id, amount, key).await {
                Ok(reference) => {
                    let increased = PaymentCommand::RecordAuthorizationIncreased {
                        gateway_reference: reference,
                        amount,
                    };
                    self.payment(payment_id, increased, event).await?;
                }
                Err(GatewayError::Refused(why)) => {
                    let reason = format!("the payment could not be raised by {amount}: {why}");
                    return self
                        .revert_edit(order_id, edit_id, &held, reason, event)
                        .await;
                }
                Err(other) => return Err(transient(other)),
            }
        }
        for line in lines.iter().filter(|l| l.ordered_after < l.ordered_before) {
            let fewer = Quantity::new(line.ordered_before - line.ordered_after)
                .map_err(|e| Error::Rejected(e.to_string()))?;
            let release = InventoryCommand::ReleaseReservation {
                order_id,
                reason: ReleaseReason::LinesCancelled,
                quantity: Some(fewer),
            };
            self.inventory_once(line.sku.as_str(), "release-reservation", release, event)
                .await?;
        }
        if raise < 0 {
            let amount = Money::new(-raise, total_after.currency());
            self.release_authorization(payment_id, amount, event)
                .await?;
        }
        self.order(order_id, OrderCommand::RecordEditSettled { edit_id }, event)
            .await
    }

    /// A paid-for order's reservations stop expiring: the scheduler releases only
    /// the stock of orders still waiting for their payment.
    async fn hold_stock(&self, event: &RecordedEvent) -> Result<(), Error> {
        let order_id = OrderId::new(
            Uuid::parse_str(&event.aggregate_id).map_err(|e| Error::Rejected(e.to_string()))?,
        );
        let order = self.load_order(order_id).await?;
        let Some(placed) = order.aggregate.placed() else {
            return Ok(());
        };
        for line in &placed.lines {
            let hold = InventoryCommand::HoldUntilShipped { order_id };
            self.inventory(line.sku.as_str(), "hold-reservation", hold, event)
                .await?;
        }
        Ok(())
    }

    /// Gives back what an edit held so far, and turns the edit back.
    async fn revert_edit(
        &self,
        order_id: OrderId,
        edit_id: EditId,
        held: &[(Sku, Quantity)],
        reason: String,
        event: &RecordedEvent,
    ) -> Result<(), Error> {
        // A gateway's message may be long: the order takes 500 characters.
        let reason: String = reason.chars().take(500).collect();
        for (sku, quantity) in held {
            let release = InventoryCommand::ReleaseReservation {
                order_id,
                reason: ReleaseReason::Other,
                quantity: Some(*quantity),
            };
            self.inventory(sku.as_str(), "release-reservation", release, event)
                .await?;
        }
        self.order(
            order_id,
            OrderCommand::RevertEdit { edit_id, reason },
            event,
        )
        .await
    }

    /// Sends an inventory command for `sku` unless handling `event` already
    /// changed that SKU's stock: for commands the domain cannot recognise as
    /// repeats (a partial commit or release, a restock).
    async fn inventory_once(
        &self,
        sku: &str,
        name: &str,
        command: InventoryCommand,
        event: &RecordedEvent,
    ) -> Result<(), Error> {
        if !self.already_caused(event, "Inventory", sku).await? {
            self.inventory(sku, name, command, event).await?;
        }
        Ok(())
    }

    /// Releases `amount` of the authorization at the gateway, then on the payment.
    async fn release_authorization(
        &self,
        payment_id: PaymentId,
        amount: Money,
        event: &RecordedEvent,
    ) -> Result<(), Error> {
        let reference = self
            .gateway
            .release(payment_id, amount, gateway_key(event, "release"))
            .await
            .map_err(transient)?;
        let release = PaymentCommand::ReleaseAuthorization {
            gateway_reference: reference,
            amount,
        };
        self.payment(payment_id, release, event).await
    }

    /// Sends an inventory command for `sku`, as [`Self::send`] does.
    async fn inventory(
        &self,
        sku: &str,
        name: &str,
        command: InventoryCommand,
        event: &RecordedEvent,
    ) -> Result<Option<Executed>, Error> {
        self.send(self.stores.of::<Inventory>(), sku, name, command, event)
            .await
    }

    /// The order as stored now (the API writes it too: no cached copy).
    async fn load_order(&self, order_id: OrderId) -> Result<Loaded<Order>, Error> {
        self.stores
            .of::<Order>()
            .load_stored(&order_id.to_string())
            .await
            .map_err(transient)
    }

    async fn load_payment(&self, payment_id: PaymentId) -> Result<Payment, Error> {
        let payment = self
            .stores
            .of::<Payment>()
            .load_stored(&payment_id.to_string())
            .await
            .map_err(transient)?;
        Ok(payment.aggregate)
    }

    /// Issues a refund the order decided: at the gateway (keyed by the refund id,
    /// so a redelivery after a crash refunds once), on the payment, then on the
    /// order, which releases the amount it held.
    async fn refund(&self, refund: Refund, event: &RecordedEvent) -> Result<(), Error> {
        let reference = self
            .gateway
            .refund(refund.payment_id, refund.amount, refund.refund_id.as_uuid())
            .await
            .map_err(transient)?;
        let on_payment = PaymentCommand::Refund {
            gateway_reference: reference,
            amount: refund.amount,
            reason: refund.reason,
            refund_id: Some(refund.refund_id),
        };
        self.payment(refund.payment_id, on_payment, event).await?;
        let on_order = OrderCommand::RecordRefund {
            refund_id: refund.refund_id,
            payment_id: refund.payment_id,
            amount: refund.amount,
            lines: refund.lines,
            for_what: refund.for_what,
        };
        self.order(refund.order_id, on_order, event).await
    }

    async fn refund_requested(&self, event: &RecordedEvent) -> Result<(), Error> {
        let OrderEvent::OrderRefundRequested {
            order_id,
            refund_id,
            payment_id,
            amount,
            lines,
            reason,
            ..
        } = decode::<OrderEvent>(event)?
        else {
            return Ok(());
        };
        let refund = Refund {
            order_id,
            refund_id,
            payment_id,
            amount,
            lines,
            reason,
            for_what: None,
        };
        self.refund(refund, event).await
    }

    /// A received return: resellable units go back on the shelf (`returned`), the
    /// refund it holds is issued.
    async fn return_received(&self, event: &RecordedEvent) -> Result<(), Error> {
        let OrderEvent::OrderReturnReceived {
            order_id,
            return_id,
            lines,
            refund_amount,
            refund_id,
            payment_id,
            replacements,
            exchange_credit,
            replacement_order_id,
            ..
        } = decode::<OrderEvent>(event)?
        else {
            return Ok(());
        };
        if let Some(replacement) = replacement_order_id {
            let exchange = Exchange {
                original: order_id,
                replacement,
                return_id,
                replacements,
                credit: exchange_credit,
            };
            self.place_replacement(exchange, event).await?;
        }
        for line in lines
            .iter()
            .filter(|l| l.condition == ReturnCondition::Resellable)
        {
            let restock = InventoryCommand::AdjustStock {
                delta: i64::from(line.quantity.get()),
                reason: AdjustmentReason::Returned,
                note: format!("return {return_id} of order {order_id}"),
            };
            self.inventory_once(line.sku.as_str(), "restock-return", restock, event)
                .await?;
        }
        let (Some(refund_id), Some(payment_id)) = (refund_id, payment_id) else {
            return Ok(());
        };
        let refund = Refund {
            order_id,
            refund_id,
            payment_id,
            amount: refund_amount,
            lines: lines
                .iter()
                .map(|l| LineQuantity {
                    sku: l.sku.clone(),
                    quantity: l.quantity,
                })
                .collect(),
            reason: format!("return {return_id} received"),
            for_what: None,
        };
        self.refund(refund, event).await
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
        let order = self.load_order(order_id).await?;
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
                quantity: None,
            };
            self.inventory(sku.as_str(), "release-reservation", release, event)
                .await?;
        }
        // The uses its promotions counted for it are given back (a promotion
        // without limits holds none: nothing is recorded).
        let promotions = order
            .aggregate
            .placed()
            .map(|placed| placed.promotions.clone())
            .unwrap_or_default();
        for promotion_id in promotions {
            let release = domain::promotion::PromotionCommand::ReleaseRedemption { order_id };
            self.send(
                self.stores.of::<domain::promotion::Promotion>(),
                &promotion_id.to_string(),
                "release-redemption",
                release,
                event,
            )
            .await?;
        }
        // A replacement that will not ship gives its credit back: as a refund on
        // the order whose return paid for it.
        if let Some(replaces) = order
            .aggregate
            .placed()
            .and_then(|p| p.replaces.clone())
            .filter(|r| r.credit.amount() > 0)
        {
            let refund = OrderCommand::RequestRefund {
                refund_id: RefundId::new(Uuid::new_v5(&order_id.as_uuid(), b"credit")),
                amount: replaces.credit,
                lines: Vec::new(),
                reason: format!("replacement order {order_id} was cancelled"),
                for_what: Some(RefundFor::Return {
                    return_id: replaces.return_id,
                }),
            };
            self.order(replaces.order_id, refund, event).await?;
        }
        let payment_id = payment_id.unwrap_or_else(|| payment_of(order_id));
        let payment = self.load_payment(payment_id).await?;
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
                    refund_id: None,
                };
                self.payment(payment_id, refund, event).await
            }
            _ => Ok(()),
        }
    }
}
