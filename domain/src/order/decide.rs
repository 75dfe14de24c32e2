//! The order's rules: each command checked against the state, and turned into the
//! events that record it, or refused. Nothing here changes the state; events do,
//! when applied.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use super::aggregate::{OrderLine, PlacedOrder, StockOutcome};
use super::events::{PlacedLine, ShippedLine};
use super::{
    CancelledBy, LineQuantity, Order, OrderCommand, OrderError, OrderEvent, OrderStatus, Replaces,
    ShipmentId,
};
use crate::pricing::PricedCart;
use crate::shared::{
    CartId, Currency, CustomerId, Email, LineItem, Money, MoneyError, OrderId, PaymentId,
    PostalAddress, Quantity, Sku,
};

pub(super) const MAX_REASON_CHARS: usize = 500;
const MAX_LABEL_CHARS: usize = 100;

pub(super) type Decision = Result<Vec<OrderEvent>, OrderError>;

impl Order {
    /// Decides a command: the events that record it (none for a repeat of a fact
    /// already recorded), or the reason it is refused.
    pub fn decide(&self, command: OrderCommand) -> Decision {
        match (&self.placed, command) {
            (
                None,
                OrderCommand::PlaceOrder {
                    order_id,
                    cart_id,
                    customer_id,
                    email,
                    shipping_address,
                    lines,
                    shipping_cost,
                    placed_at,
                    replaces,
                    pricing,
                },
            ) => place(Placement {
                order_id,
                cart_id,
                customer_id,
                email,
                shipping_address,
                lines,
                shipping_cost,
                placed_at,
                replaces,
                pricing,
            }),
            (Some(_), OrderCommand::PlaceOrder { .. }) => Err(OrderError::AlreadyExists),
            (None, _) => Err(OrderError::NotFound),
            (Some(order), command) => order.decide(command),
        }
    }
}

/// The fields of `PlaceOrder`, gathered to keep `place` readable.
struct Placement {
    order_id: OrderId,
    cart_id: CartId,
    customer_id: Option<CustomerId>,
    email: Email,
    shipping_address: PostalAddress,
    lines: Vec<LineItem>,
    shipping_cost: Money,
    placed_at: DateTime<Utc>,
    replaces: Option<Replaces>,
    pricing: Option<PricedCart>,
}

fn place(placement: Placement) -> Decision {
    let currency = placement
        .lines
        .first()
        .map(|line| line.unit_price.currency())
        .ok_or(OrderError::EmptyOrder)?;
    let mut seen = BTreeSet::new();
    let mut lines = Vec::with_capacity(placement.lines.len());
    for line in placement.lines {
        if !seen.insert(line.sku.clone()) {
            return Err(OrderError::DuplicateSku { sku: line.sku });
        }
        same_currency(currency, &line.unit_price)?;
        if line.unit_price.is_negative() {
            return Err(OrderError::NegativePrice { sku: line.sku });
        }
        let line_total = line.line_total().map_err(money_error)?;
        lines.push(PlacedLine {
            sku: line.sku,
            name: line.name,
            unit_price: line.unit_price,
            quantity: line.quantity,
            line_total,
        });
    }
    let shipping_cost = match &placement.pricing {
        Some(pricing) => {
            check_pricing(pricing, &lines, currency)?;
            // A cart priced without a destination ships at the flat cost.
            pricing
                .shipping
                .as_ref()
                .map_or(placement.shipping_cost, |s| s.amount)
        }
        None => placement.shipping_cost,
    };
    same_currency(currency, &shipping_cost)?;
    if shipping_cost.is_negative() {
        return Err(OrderError::NegativeShippingCost);
    }
    let subtotal =
        Money::sum(currency, lines.iter().map(|line| &line.line_total)).map_err(money_error)?;
    let before_credit = match &placement.pricing {
        Some(pricing) if pricing.shipping.is_some() => pricing.total,
        Some(pricing) => pricing
            .total
            .checked_add(&shipping_cost)
            .map_err(money_error)?,
        None => subtotal.checked_add(&shipping_cost).map_err(money_error)?,
    };
    let total = match &placement.replaces {
        None => before_credit,
        Some(replaces) => {
            same_currency(currency, &replaces.credit)?;
            if replaces.credit.is_negative() || replaces.credit.amount() > before_credit.amount() {
                return Err(OrderError::InvalidCredit {
                    credit: replaces.credit,
                    total: before_credit,
                });
            }
            before_credit
                .checked_sub(&replaces.credit)
                .map_err(money_error)?
        }
    };
    Ok(vec![OrderEvent::OrderPlaced {
        order_id: placement.order_id,
        cart_id: placement.cart_id,
        customer_id: placement.customer_id,
        email: placement.email,
        shipping_address: placement.shipping_address,
        lines,
        currency,
        subtotal,
        shipping_cost,
        total,
        placed_at: placement.placed_at,
        replaces: placement.replaces,
        pricing: placement.pricing,
    }])
}

/// A priced cart fits the order when it prices exactly its lines, in its
/// currency, and its figures add up.
fn check_pricing(
    pricing: &PricedCart,
    lines: &[PlacedLine],
    currency: Currency,
) -> Result<(), OrderError> {
    let same_lines = pricing.lines.len() == lines.len()
        && pricing.lines.iter().zip(lines).all(|(priced, line)| {
            priced.sku == line.sku
                && priced.quantity == line.quantity.get()
                && priced.unit_price == line.unit_price
                && priced.gross == line.line_total
                && priced.net.amount() >= 0
        });
    let added_tax = pricing.added_tax();
    let shipping = pricing.shipping.as_ref().map_or(0, |s| s.amount.amount());
    let adds_up =
        pricing.subtotal_after_discounts.amount() + shipping + added_tax == pricing.total.amount();
    if pricing.currency != currency || !same_lines || !adds_up || pricing.total.is_negative() {
        return Err(OrderError::PricingMismatch);
    }
    Ok(())
}

pub(super) fn same_currency(expected: Currency, amount: &Money) -> Result<(), OrderError> {
    if amount.currency() == expected {
        Ok(())
    } else {
        Err(OrderError::CurrencyMismatch {
            expected,
            found: amount.currency(),
        })
    }
}

pub(super) fn money_error(error: MoneyError) -> OrderError {
    match error {
        MoneyError::CurrencyMismatch { left, right } => OrderError::CurrencyMismatch {
            expected: left,
            found: right,
        },
        MoneyError::Overflow | MoneyError::InvalidCurrency(_) => OrderError::AmountTooLarge,
    }
}

/// Free text a person wrote: not blank, not too long for a list or a label.
pub(super) fn acceptable_text(text: &str, max_chars: usize) -> bool {
    !text.trim().is_empty() && text.chars().count() <= max_chars
}

pub(super) fn check_reason(reason: &str) -> Result<(), OrderError> {
    if acceptable_text(reason, MAX_REASON_CHARS) {
        Ok(())
    } else {
        Err(OrderError::InvalidReason)
    }
}

/// Carrier names and tracking numbers are printed on labels and put in links.
fn acceptable_label(label: &str) -> bool {
    acceptable_text(label, MAX_LABEL_CHARS) && !label.chars().any(char::is_control)
}

impl PlacedOrder {
    fn decide(&self, command: OrderCommand) -> Decision {
        match command {
            OrderCommand::PlaceOrder { .. } => Err(OrderError::AlreadyExists),
            OrderCommand::RecordStockReserved { sku } => {
                self.record_stock(sku, StockOutcome::Reserved)
            }
            OrderCommand::RecordStockUnavailable { sku } => {
                self.record_stock(sku, StockOutcome::Unavailable)
            }
            OrderCommand::RecordPaymentAuthorized { payment_id, amount } => {
                self.record_payment_authorized(payment_id, amount)
            }
            OrderCommand::RecordPaymentFailed { payment_id, reason } => {
                self.record_payment_failed(payment_id, reason)
            }
            OrderCommand::ConfirmOrder {} => self.confirm(),
            OrderCommand::ShipOrder {
                shipment_id,
                lines,
                carrier,
                tracking_number,
                shipped_at,
            } => {
                self.no_edit_pending()?;
                self.ship(shipment_id, &lines, carrier, tracking_number, shipped_at)
            }
            OrderCommand::DeliverOrder { delivered_at } => self.deliver(delivered_at),
            OrderCommand::CancelOrder {
                reason,
                cancelled_by,
            } => {
                self.no_edit_pending()?;
                self.cancel(reason, cancelled_by)
            }
            OrderCommand::CancelOrderLines {
                lines,
                reason,
                cancelled_by,
            } => {
                self.no_edit_pending()?;
                self.cancel_lines(&lines, reason, cancelled_by)
            }
            OrderCommand::RequestReturn {
                return_id,
                lines,
                requested_at,
                return_window_days,
            } => self.request_return(return_id, lines, requested_at, return_window_days),
            OrderCommand::ApproveReturn { return_id } => self.approve_return(return_id),
            OrderCommand::RejectReturn { return_id, reason } => {
                self.reject_return(return_id, reason)
            }
            OrderCommand::ReceiveReturn {
                return_id,
                conditions,
                restocking_fee,
            } => self.receive_return(return_id, &conditions, restocking_fee),
            OrderCommand::RecordPaymentCaptured {
                payment_id,
                gateway_reference,
                amount,
            } => self.record_capture(payment_id, gateway_reference, amount),
            OrderCommand::EditOrder {
                edit_id,
                changes,
                reason,
                edited_by,
            } => self.edit(edit_id, changes, reason, edited_by),
            OrderCommand::RecordEditSettled { edit_id } => self.settle_edit(edit_id),
            OrderCommand::RevertEdit { edit_id, reason } => self.revert_edit(edit_id, reason),
            OrderCommand::RequestRefund {
                refund_id,
                amount,
                lines,
                reason,
                for_what,
            } => self.request_refund(refund_id, amount, lines, reason, for_what),
            OrderCommand::RecordRefund {
                refund_id,
                payment_id,
                amount,
                lines,
                for_what,
            } => self.record_refund(refund_id, payment_id, amount, lines, for_what),
            OrderCommand::EraseGuestData { erased_at } => {
                if self.customer_id.is_some() {
                    return Err(OrderError::OrderHasCustomer);
                }
                if self.guest_data_erased {
                    return Ok(Vec::new());
                }
                Ok(vec![OrderEvent::OrderGuestDataErased {
                    order_id: self.order_id,
                    erased_at,
                }])
            }
        }
    }

    /// Stock and payment of a pending edit are on their way: shipping or
    /// cancelling now would act on lines not yet held.
    pub(super) fn no_edit_pending(&self) -> Result<(), OrderError> {
        match &self.pending_edit {
            Some(edit) => Err(OrderError::EditPending {
                edit_id: edit.edit_id,
            }),
            None => Ok(()),
        }
    }

    pub(super) fn illegal(&self, action: &'static str) -> OrderError {
        OrderError::IllegalTransition {
            state: self.status,
            action,
        }
    }

    pub(super) fn line(&self, sku: &Sku) -> Result<&OrderLine, OrderError> {
        self.lines
            .iter()
            .find(|line| &line.sku == sku)
            .ok_or_else(|| OrderError::UnknownSku { sku: sku.clone() })
    }

    /// Resolves the lines a command names: each SKU once, a line of this order, and
    /// a quantity within what `available` allows for it.
    pub(super) fn take_lines(
        &self,
        requested: &[LineQuantity],
        available: fn(&OrderLine) -> u32,
        too_many: fn(Sku, u32, u32) -> OrderError,
    ) -> Result<Vec<(&OrderLine, Quantity)>, OrderError> {
        let mut seen = BTreeSet::new();
        let mut taken = Vec::with_capacity(requested.len());
        for wanted in requested {
            if !seen.insert(&wanted.sku) {
                return Err(OrderError::DuplicateSku {
                    sku: wanted.sku.clone(),
                });
            }
            let line = self.line(&wanted.sku)?;
            let limit = available(line);
            if wanted.quantity.get() > limit {
                return Err(too_many(wanted.sku.clone(), wanted.quantity.get(), limit));
            }
            taken.push((line, wanted.quantity));
        }
        Ok(taken)
    }

    /// What `quantity` units of `line` are worth to a refund: their share of
    /// what was paid for the line (rounded half up), else their unit price.
    pub(super) fn value_of(line: &OrderLine, quantity: Quantity) -> Result<Money, OrderError> {
        match line.paid {
            Some(paid) => {
                let ordered = i128::from(line.ordered.get()).max(1);
                let share = (i128::from(paid.amount()) * i128::from(quantity.get()) * 2 + ordered)
                    / (2 * ordered);
                let share = i64::try_from(share).map_err(|_| OrderError::AmountTooLarge)?;
                Ok(Money::new(share, paid.currency()))
            }
            None => line
                .unit_price
                .checked_mul(quantity.get())
                .map_err(money_error),
        }
    }

    fn record_stock(&self, sku: Sku, outcome: StockOutcome) -> Decision {
        let line = self.line(&sku)?;
        if line.stock == outcome {
            return Ok(vec![]);
        }
        if line.stock != StockOutcome::Pending {
            return Err(OrderError::StockAlreadyRecorded {
                sku,
                recorded: line.stock.as_str(),
            });
        }
        if self.status != OrderStatus::Placed {
            return Err(self.illegal("record stock for"));
        }
        let quantity = line.ordered;
        if outcome == StockOutcome::Unavailable {
            return Ok(vec![OrderEvent::OrderStockUnavailable {
                order_id: self.order_id,
                customer_id: self.customer_id,
                sku,
                quantity,
            }]);
        }
        let not_reserved = self
            .lines
            .iter()
            .filter(|other| other.sku != sku && other.stock != StockOutcome::Reserved)
            .count();
        let lines_awaiting_stock = u32::try_from(not_reserved).unwrap_or(u32::MAX);
        let mut events = vec![OrderEvent::OrderStockReserved {
            order_id: self.order_id,
            customer_id: self.customer_id,
            sku,
            quantity,
            lines_awaiting_stock,
        }];
        if lines_awaiting_stock == 0 {
            events.push(OrderEvent::OrderFullyReserved {
                order_id: self.order_id,
                customer_id: self.customer_id,
                total: self.total,
            });
        }
        Ok(events)
    }

    fn record_payment_authorized(&self, payment_id: PaymentId, amount: Money) -> Decision {
        if let Some(payment) = &self.payment {
            if payment.payment_id == payment_id && payment.amount == amount {
                return Ok(vec![]);
            }
        }
        if self.failed_payments.contains(&payment_id) {
            return Err(OrderError::PaymentAlreadyFailed { payment_id });
        }
        if self.status != OrderStatus::AwaitingPayment {
            return Err(self.illegal("record a payment authorization for"));
        }
        if let Some(payment) = &self.payment {
            return Err(OrderError::PaymentAlreadyAuthorized {
                payment_id: payment.payment_id,
            });
        }
        if amount != self.total {
            return Err(OrderError::PaymentAmountMismatch {
                expected: self.total,
                authorized: amount,
            });
        }
        Ok(vec![OrderEvent::OrderPaymentAuthorized {
            order_id: self.order_id,
            customer_id: self.customer_id,
            payment_id,
            amount,
        }])
    }

    fn record_payment_failed(&self, payment_id: PaymentId, reason: String) -> Decision {
        if self.failed_payments.contains(&payment_id) {
            return Ok(vec![]);
        }
        if let Some(payment) = &self.payment {
            if payment.payment_id == payment_id {
                return Err(OrderError::PaymentAlreadyAuthorized { payment_id });
            }
        }
        if self.status != OrderStatus::AwaitingPayment {
            return Err(self.illegal("record a payment failure for"));
        }
        if let Some(payment) = &self.payment {
            return Err(OrderError::PaymentAlreadyAuthorized {
                payment_id: payment.payment_id,
            });
        }
        Ok(vec![OrderEvent::OrderPaymentFailed {
            order_id: self.order_id,
            customer_id: self.customer_id,
            payment_id,
            reason,
        }])
    }

    fn confirm(&self) -> Decision {
        match (self.status, &self.payment) {
            (
                OrderStatus::Confirmed
                | OrderStatus::PartiallyShipped
                | OrderStatus::Shipped
                | OrderStatus::Delivered,
                _,
            ) => Ok(vec![]),
            (OrderStatus::AwaitingPayment, Some(payment)) => Ok(vec![OrderEvent::OrderConfirmed {
                order_id: self.order_id,
                customer_id: self.customer_id,
                payment_id: Some(payment.payment_id),
                total: self.total,
            }]),
            // Nothing to pay (a replacement its return paid for): no payment needed.
            (OrderStatus::AwaitingPayment, None) if self.total.amount() == 0 => {
                Ok(vec![OrderEvent::OrderConfirmed {
                    order_id: self.order_id,
                    customer_id: self.customer_id,
                    payment_id: None,
                    total: self.total,
                }])
            }
            (OrderStatus::AwaitingPayment, None) => {
                Err(OrderError::PaymentNotAuthorized { state: self.status })
            }
            (OrderStatus::Placed | OrderStatus::Cancelled, _) => Err(self.illegal("confirm")),
        }
    }

    fn ship(
        &self,
        shipment_id: ShipmentId,
        requested: &[LineQuantity],
        carrier: String,
        tracking_number: String,
        shipped_at: DateTime<Utc>,
    ) -> Decision {
        if !matches!(
            self.status,
            OrderStatus::Confirmed | OrderStatus::PartiallyShipped
        ) {
            return Err(self.illegal("ship"));
        }
        if self.shipments.contains(&shipment_id) {
            return Err(OrderError::ShipmentIdReused { shipment_id });
        }
        if requested.is_empty() {
            return Err(OrderError::EmptyShipment);
        }
        if !acceptable_label(&carrier) {
            return Err(OrderError::InvalidCarrier);
        }
        if !acceptable_label(&tracking_number) {
            return Err(OrderError::InvalidTrackingNumber);
        }
        let taken = self.take_lines(requested, OrderLine::unshipped, exceeds_unshipped)?;
        let lines: Vec<ShippedLine> = taken
            .iter()
            .map(|(line, quantity)| ShippedLine {
                sku: line.sku.clone(),
                name: line.name.clone(),
                quantity: *quantity,
                shipped_after: line.shipped + quantity.get(),
                remaining_to_ship: line.unshipped() - quantity.get(),
            })
            .collect();
        let fully_shipped = self.remaining_after(&taken) == 0;
        Ok(vec![OrderEvent::OrderShipped {
            order_id: self.order_id,
            customer_id: self.customer_id,
            shipment_id,
            lines,
            carrier,
            tracking_number,
            shipped_at,
            fully_shipped,
            status_after: if fully_shipped {
                OrderStatus::Shipped
            } else {
                OrderStatus::PartiallyShipped
            },
        }])
    }

    /// Units left to ship in the whole order once `taken` is shipped or cancelled.
    pub(super) fn remaining_after(&self, taken: &[(&OrderLine, Quantity)]) -> u64 {
        let unshipped: u64 = self.lines.iter().map(|l| u64::from(l.unshipped())).sum();
        let taken: u64 = taken.iter().map(|(_, q)| u64::from(q.get())).sum();
        unshipped.saturating_sub(taken)
    }

    fn deliver(&self, delivered_at: DateTime<Utc>) -> Decision {
        if self.status != OrderStatus::Shipped {
            return Err(self.illegal("deliver"));
        }
        let lines = self
            .lines
            .iter()
            .filter_map(|line| {
                Quantity::new(line.shipped)
                    .ok()
                    .map(|quantity| LineQuantity {
                        sku: line.sku.clone(),
                        quantity,
                    })
            })
            .collect();
        Ok(vec![OrderEvent::OrderDelivered {
            order_id: self.order_id,
            customer_id: self.customer_id,
            lines,
            delivered_at,
        }])
    }

    pub(super) fn cancel(&self, reason: String, cancelled_by: CancelledBy) -> Decision {
        match self.status {
            OrderStatus::Placed | OrderStatus::AwaitingPayment | OrderStatus::Confirmed => {}
            OrderStatus::Cancelled => {
                let repeat = self
                    .cancellation
                    .as_ref()
                    .is_some_and(|done| done.reason == reason && done.cancelled_by == cancelled_by);
                return if repeat {
                    Ok(vec![])
                } else {
                    Err(self.illegal("cancel"))
                };
            }
            OrderStatus::PartiallyShipped | OrderStatus::Shipped | OrderStatus::Delivered => {
                return Err(OrderError::AlreadyShipped { state: self.status })
            }
        }
        check_reason(&reason)?;
        // Nothing has shipped, so a reserved line holds its ordered quantity minus
        // what line cancellations already gave back.
        let release_stock = self
            .lines
            .iter()
            .filter(|line| line.stock == StockOutcome::Reserved)
            .filter_map(|line| {
                Quantity::new(line.unshipped())
                    .ok()
                    .map(|quantity| LineQuantity {
                        sku: line.sku.clone(),
                        quantity,
                    })
            })
            .collect();
        let amount_to_release = match &self.payment {
            Some(payment) => {
                let unrefunded = payment
                    .amount
                    .checked_sub(&self.refunded_total)
                    .map_err(money_error)?;
                // Cancelled lines announced their own refund; do not promise it twice.
                let owed = unrefunded
                    .amount()
                    .min(self.total_after_cancellations.amount())
                    .max(0);
                Money::new(owed, self.currency)
            }
            None => Money::zero(self.currency),
        };
        Ok(vec![OrderEvent::OrderCancelled {
            order_id: self.order_id,
            customer_id: self.customer_id,
            reason,
            cancelled_by,
            status_before: self.status,
            release_stock,
            payment_id: self.payment.as_ref().map(|p| p.payment_id),
            amount_authorized: self.payment.as_ref().map(|p| p.amount),
            amount_to_release,
        }])
    }
}

pub(super) fn exceeds_unshipped(sku: Sku, requested: u32, unshipped: u32) -> OrderError {
    OrderError::ExceedsUnshipped {
        sku,
        requested,
        unshipped,
    }
}
