//! The rules after the sale: cancelling some units, returns (request, approval,
//! receipt, exchanges), captures as the process reports them, and refunds (decided,
//! held, then recorded). Like [`decide`](super::decide), nothing here changes the
//! state.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::aggregate::{OrderLine, PlacedOrder};
use super::decide::{
    acceptable_text, check_reason, exceeds_unshipped, money_error, same_currency, Decision,
    MAX_REASON_CHARS,
};
use super::events::{CancelledLine, ReceivedLine, ReturnLine};
use super::{
    CancelledBy, LineCondition, LineQuantity, OrderError, OrderEvent, OrderStatus, RefundFor,
    RefundId, ReturnId, ReturnRequestLine, ReturnStatus,
};
use crate::payment::GatewayReference;
use crate::shared::{Money, PaymentId};

/// Names of replacement products, as the catalog allows them.
const MAX_NAME_CHARS: usize = 200;

impl PlacedOrder {
    pub(super) fn cancel_lines(
        &self,
        requested: &[LineQuantity],
        reason: String,
        cancelled_by: CancelledBy,
    ) -> Decision {
        if !matches!(
            self.status,
            OrderStatus::Confirmed | OrderStatus::PartiallyShipped
        ) {
            return Err(self.illegal("cancel lines of"));
        }
        let anything_shipped = self.lines.iter().any(|line| line.shipped > 0);
        // A customer changes their mind about goods still in the warehouse only.
        if cancelled_by == CancelledBy::Customer && anything_shipped {
            return Err(OrderError::AlreadyShipped { state: self.status });
        }
        check_reason(&reason)?;
        if requested.is_empty() {
            return Err(OrderError::NoLinesToCancel);
        }
        let taken = self.take_lines(requested, OrderLine::unshipped, exceeds_unshipped)?;
        let nothing_left = self.remaining_after(&taken) == 0;
        if nothing_left && !anything_shipped {
            // Every unit of an order nothing shipped of: that is the order
            // cancelled, shipping cost and all.
            return self.cancel(reason, cancelled_by);
        }
        let mut lines = Vec::with_capacity(taken.len());
        for (line, quantity) in &taken {
            lines.push(CancelledLine {
                sku: line.sku.clone(),
                name: line.name.clone(),
                unit_price: line.unit_price,
                quantity: *quantity,
                amount: Self::value_of(line, *quantity)?,
                cancelled_after: line.cancelled + quantity.get(),
                remaining_to_ship: line.unshipped() - quantity.get(),
            });
        }
        let amount_to_refund =
            Money::sum(self.currency, lines.iter().map(|l| &l.amount)).map_err(money_error)?;
        let order_total_after = self
            .total_after_cancellations
            .checked_sub(&amount_to_refund)
            .map_err(money_error)?;
        Ok(vec![OrderEvent::OrderLinesCancelled {
            order_id: self.order_id,
            customer_id: self.customer_id,
            lines,
            reason,
            cancelled_by,
            payment_id: self.payment.as_ref().map(|p| p.payment_id),
            amount_to_refund,
            order_total_after,
            status_after: if nothing_left {
                OrderStatus::Shipped
            } else {
                self.status
            },
        }])
    }

    pub(super) fn request_return(
        &self,
        return_id: ReturnId,
        requested: Vec<ReturnRequestLine>,
        requested_at: DateTime<Utc>,
        return_window_days: u32,
    ) -> Decision {
        if self.status != OrderStatus::Delivered {
            return Err(self.illegal("request a return for"));
        }
        if self.returns.iter().any(|r| r.return_id == return_id) {
            return Err(OrderError::ReturnIdReused { return_id });
        }
        if requested.is_empty() {
            return Err(OrderError::EmptyReturn);
        }
        let delivered_at = self.delivered_at.unwrap_or(requested_at);
        let closes_at = delivered_at + Duration::days(i64::from(return_window_days));
        if requested_at > closes_at {
            return Err(OrderError::ReturnWindowClosed {
                delivered_at,
                closed_at: closes_at,
            });
        }
        let quantities: Vec<LineQuantity> = requested
            .iter()
            .map(|line| LineQuantity {
                sku: line.sku.clone(),
                quantity: line.quantity,
            })
            .collect();
        let taken = self.take_lines(
            &quantities,
            OrderLine::returnable,
            |sku, requested, returnable| OrderError::ExceedsReturnable {
                sku,
                requested,
                returnable,
            },
        )?;
        let mut lines = Vec::with_capacity(taken.len());
        for ((line, quantity), wanted) in taken.iter().zip(requested) {
            if let Some(note) = &wanted.note {
                if !acceptable_text(note, MAX_REASON_CHARS) {
                    return Err(OrderError::InvalidNote);
                }
            }
            if let Some(replacement) = &wanted.exchange_for {
                same_currency(self.currency, &replacement.unit_price)?;
                if replacement.unit_price.is_negative() {
                    return Err(OrderError::NegativePrice {
                        sku: replacement.sku.clone(),
                    });
                }
                if !acceptable_text(&replacement.name, MAX_NAME_CHARS) {
                    return Err(OrderError::InvalidReplacement {
                        sku: replacement.sku.clone(),
                    });
                }
            }
            lines.push(ReturnLine {
                sku: line.sku.clone(),
                name: line.name.clone(),
                unit_price: line.unit_price,
                quantity: *quantity,
                amount: Self::value_of(line, *quantity)?,
                reason: wanted.reason,
                note: wanted.note,
                exchange_for: wanted.exchange_for,
            });
        }
        let return_value =
            Money::sum(self.currency, lines.iter().map(|l| &l.amount)).map_err(money_error)?;
        Ok(vec![OrderEvent::OrderReturnRequested {
            order_id: self.order_id,
            customer_id: self.customer_id,
            return_id,
            lines,
            return_value,
        }])
    }

    fn return_in(
        &self,
        return_id: ReturnId,
        expected: ReturnStatus,
    ) -> Result<&super::ReturnRecord, OrderError> {
        let record = self
            .returns
            .iter()
            .find(|r| r.return_id == return_id)
            .ok_or(OrderError::UnknownReturn { return_id })?;
        if record.status == expected {
            return Ok(record);
        }
        Err(match record.status {
            ReturnStatus::Received => OrderError::ReturnAlreadyReceived { return_id },
            status => OrderError::ReturnNotInState {
                return_id,
                status: status.as_str(),
                expected: expected.as_str(),
            },
        })
    }

    pub(super) fn approve_return(&self, return_id: ReturnId) -> Decision {
        if self
            .returns
            .iter()
            .any(|r| r.return_id == return_id && r.status == ReturnStatus::Approved)
        {
            return Ok(vec![]);
        }
        self.return_in(return_id, ReturnStatus::Requested)?;
        Ok(vec![OrderEvent::OrderReturnApproved {
            order_id: self.order_id,
            customer_id: self.customer_id,
            return_id,
        }])
    }

    pub(super) fn reject_return(&self, return_id: ReturnId, reason: String) -> Decision {
        check_reason(&reason)?;
        let record = self.return_in(return_id, ReturnStatus::Requested)?;
        Ok(vec![OrderEvent::OrderReturnRejected {
            order_id: self.order_id,
            customer_id: self.customer_id,
            return_id,
            reason,
            lines: record
                .lines
                .iter()
                .map(|l| LineQuantity {
                    sku: l.sku.clone(),
                    quantity: l.quantity,
                })
                .collect(),
        }])
    }

    pub(super) fn receive_return(
        &self,
        return_id: ReturnId,
        conditions: &[LineCondition],
        restocking_fee: Option<Money>,
    ) -> Decision {
        let record = self.return_in(return_id, ReturnStatus::Approved)?;
        let mut seen = BTreeSet::new();
        for given in conditions {
            if !seen.insert(&given.sku) {
                return Err(OrderError::DuplicateSku {
                    sku: given.sku.clone(),
                });
            }
            if !record.lines.iter().any(|l| l.sku == given.sku) {
                return Err(OrderError::UnknownSku {
                    sku: given.sku.clone(),
                });
            }
            if given.condition == super::ReturnCondition::Unrecorded {
                return Err(OrderError::ConditionMissing {
                    sku: given.sku.clone(),
                });
            }
        }
        let mut lines = Vec::with_capacity(record.lines.len());
        for line in &record.lines {
            let condition = conditions
                .iter()
                .find(|c| c.sku == line.sku)
                .map(|c| c.condition)
                .ok_or_else(|| OrderError::ConditionMissing {
                    sku: line.sku.clone(),
                })?;
            lines.push(ReceivedLine {
                sku: line.sku.clone(),
                name: line.name.clone(),
                unit_price: line.unit_price,
                quantity: line.quantity,
                amount: line.amount,
                condition,
            });
        }
        let value = record.return_value;
        let fee = restocking_fee.unwrap_or_else(|| Money::zero(self.currency));
        same_currency(self.currency, &fee)?;
        if fee.is_negative() || fee.amount() > value.amount() {
            return Err(OrderError::InvalidRestockingFee {
                fee,
                return_value: value,
            });
        }
        let net = value.checked_sub(&fee).map_err(money_error)?;
        let replacements: Vec<_> = record
            .lines
            .iter()
            .filter_map(|l| l.exchange_for.clone())
            .collect();
        let replacement_order_id = (!replacements.is_empty()).then(|| replacement_of(return_id));
        let mut replacement_value = Money::zero(self.currency);
        for replacement in &replacements {
            let worth = replacement
                .unit_price
                .checked_mul(replacement.quantity.get())
                .map_err(money_error)?;
            replacement_value = replacement_value.checked_add(&worth).map_err(money_error)?;
        }
        let credit = Money::new(replacement_value.amount().min(net.amount()), self.currency);
        let amount_due = replacement_value
            .checked_sub(&credit)
            .map_err(money_error)?;
        let refund_amount = net.checked_sub(&credit).map_err(money_error)?;
        let payment_id = self.payment.as_ref().map(|p| p.payment_id);
        let refund_id = match payment_id {
            Some(_) if refund_amount.amount() > 0 => {
                let held = self.unrefunded_paid();
                if refund_amount.amount() > held.amount() {
                    return Err(OrderError::RefundExceedsPaid {
                        requested: refund_amount,
                        refundable: held,
                    });
                }
                Some(refund_of(return_id))
            }
            _ => None,
        };
        Ok(vec![OrderEvent::OrderReturnReceived {
            order_id: self.order_id,
            customer_id: self.customer_id,
            return_id,
            lines,
            return_value: value,
            restocking_fee: fee,
            replacements,
            exchange_credit: credit,
            amount_due,
            refund_amount: if refund_id.is_some() {
                refund_amount
            } else {
                Money::zero(self.currency)
            },
            refund_id,
            payment_id: refund_id.and(payment_id),
            replacement_order_id,
        }])
    }

    pub(super) fn record_capture(
        &self,
        payment_id: PaymentId,
        gateway_reference: GatewayReference,
        amount: Money,
    ) -> Decision {
        if self.captures.contains(&gateway_reference) {
            return Ok(vec![]);
        }
        let payment = self
            .payment
            .as_ref()
            .ok_or(OrderError::NoPaymentToRefund { state: self.status })?;
        if payment.payment_id != payment_id {
            return Err(OrderError::UnknownPayment { payment_id });
        }
        self.positive_amount(amount)?;
        let captured_total = self
            .captured_total
            .checked_add(&amount)
            .map_err(money_error)?;
        if captured_total.amount() > payment.amount.amount() {
            return Err(OrderError::CaptureExceedsAuthorized {
                captured: captured_total,
                authorized: payment.amount,
            });
        }
        Ok(vec![OrderEvent::OrderPaymentCaptured {
            order_id: self.order_id,
            customer_id: self.customer_id,
            payment_id,
            gateway_reference,
            amount,
            captured_total,
        }])
    }

    /// Money moved for this order: in its currency and more than zero.
    fn positive_amount(&self, amount: Money) -> Result<(), OrderError> {
        same_currency(self.currency, &amount)?;
        if amount.amount() <= 0 {
            return Err(OrderError::InvalidRefundAmount { amount });
        }
        Ok(())
    }

    /// What a refund decided now may take: captured, minus refunded, minus every
    /// refund held.
    fn refundable_now(&self) -> Money {
        let left = self
            .captured_total
            .amount()
            .saturating_sub(self.refunded_total.amount())
            .saturating_sub(self.pending_refund_total());
        Money::new(left.max(0), self.currency)
    }

    /// The amount paid not yet refunded nor held for a refund.
    fn unrefunded_paid(&self) -> Money {
        let paid = self.payment.as_ref().map_or(0, |p| p.amount.amount());
        let left = paid
            .saturating_sub(self.refunded_total.amount())
            .saturating_sub(self.pending_refund_total());
        Money::new(left.max(0), self.currency)
    }

    pub(super) fn request_refund(
        &self,
        refund_id: RefundId,
        amount: Money,
        lines: Vec<LineQuantity>,
        reason: String,
        for_what: Option<RefundFor>,
    ) -> Decision {
        let known = self
            .pending_refunds
            .iter()
            .map(|p| (p.refund_id, p.amount, &p.lines))
            .chain(
                self.refunds
                    .iter()
                    .map(|r| (r.refund_id, r.amount, &r.lines)),
            )
            .find(|(id, _, _)| *id == refund_id);
        if let Some((_, done_amount, done_lines)) = known {
            return if done_amount == amount && *done_lines == lines {
                Ok(vec![])
            } else {
                Err(OrderError::RefundIdReused { refund_id })
            };
        }
        if matches!(
            self.status,
            OrderStatus::Placed | OrderStatus::AwaitingPayment
        ) {
            return Err(self.illegal("refund"));
        }
        // The payment's first refund ends capturing: refunding now would leave
        // the units still to ship uncaptured.
        if self.status == OrderStatus::PartiallyShipped {
            return Err(OrderError::RefundBeforeFullyShipped);
        }
        let payment = self
            .payment
            .as_ref()
            .ok_or(OrderError::NoPaymentToRefund { state: self.status })?;
        check_reason(&reason)?;
        self.positive_amount(amount)?;
        let refundable = self.refundable_now();
        if amount.amount() > refundable.amount() {
            return Err(OrderError::RefundExceedsCaptured {
                requested: amount,
                refundable,
            });
        }
        self.check_refund_lines(&lines)?;
        let refundable_remaining = refundable.checked_sub(&amount).map_err(money_error)?;
        Ok(vec![OrderEvent::OrderRefundRequested {
            order_id: self.order_id,
            customer_id: self.customer_id,
            refund_id,
            payment_id: payment.payment_id,
            amount,
            lines,
            reason,
            for_what: for_what.unwrap_or(RefundFor::Goodwill),
            refundable_remaining,
        }])
    }

    /// Each SKU once, and no more units than ordered and not yet named by a
    /// refund, recorded or held.
    fn check_refund_lines(&self, lines: &[LineQuantity]) -> Result<(), OrderError> {
        let held = |sku: &crate::shared::Sku| -> u32 {
            self.pending_refunds
                .iter()
                .flat_map(|p| &p.lines)
                .filter(|l| &l.sku == sku)
                .map(|l| l.quantity.get())
                .sum()
        };
        for (line, quantity) in self.take_lines(
            lines,
            OrderLine::refundable_units,
            |sku, requested, refundable| OrderError::ExceedsRefundableQuantity {
                sku,
                requested,
                refundable,
            },
        )? {
            let left = line.refundable_units().saturating_sub(held(&line.sku));
            if quantity.get() > left {
                return Err(OrderError::ExceedsRefundableQuantity {
                    sku: line.sku.clone(),
                    requested: quantity.get(),
                    refundable: left,
                });
            }
        }
        Ok(())
    }

    pub(super) fn record_refund(
        &self,
        refund_id: RefundId,
        payment_id: PaymentId,
        amount: Money,
        lines: Vec<LineQuantity>,
        for_what: Option<RefundFor>,
    ) -> Decision {
        if let Some(done) = self.refunds.iter().find(|r| r.refund_id == refund_id) {
            let repeat =
                done.payment_id == payment_id && done.amount == amount && done.lines == lines;
            return if repeat {
                Ok(vec![])
            } else {
                Err(OrderError::RefundIdReused { refund_id })
            };
        }
        if let Some(held) = self
            .pending_refunds
            .iter()
            .find(|p| p.refund_id == refund_id)
        {
            // The refund decided earlier, now issued: its amount was held for it.
            if held.payment_id != payment_id || held.amount != amount || held.lines != lines {
                return Err(OrderError::RefundIdReused { refund_id });
            }
            return self.refund_recorded(held.clone().into_record());
        }
        if matches!(
            self.status,
            OrderStatus::Placed | OrderStatus::AwaitingPayment
        ) {
            return Err(self.illegal("record a refund for"));
        }
        let payment = self
            .payment
            .as_ref()
            .ok_or(OrderError::NoPaymentToRefund { state: self.status })?;
        if payment.payment_id != payment_id {
            return Err(OrderError::UnknownPayment { payment_id });
        }
        self.positive_amount(amount)?;
        let refundable = self.unrefunded_paid();
        if amount.amount() > refundable.amount() {
            return Err(OrderError::RefundExceedsPaid {
                requested: amount,
                refundable,
            });
        }
        self.check_refund_lines(&lines)?;
        self.refund_recorded(super::RefundRecord {
            refund_id,
            payment_id,
            amount,
            lines,
            for_what: for_what.unwrap_or(RefundFor::Goodwill),
        })
    }

    fn refund_recorded(&self, refund: super::RefundRecord) -> Decision {
        let refunded_total = self
            .refunded_total
            .checked_add(&refund.amount)
            .map_err(money_error)?;
        let paid = self
            .payment
            .as_ref()
            .map_or(Money::zero(self.currency), |p| p.amount);
        let refundable_remaining = Money::new(
            paid.amount().saturating_sub(refunded_total.amount()).max(0),
            self.currency,
        );
        Ok(vec![OrderEvent::OrderRefundRecorded {
            order_id: self.order_id,
            customer_id: self.customer_id,
            refund_id: refund.refund_id,
            payment_id: refund.payment_id,
            amount: refund.amount,
            lines: refund.lines,
            for_what: refund.for_what,
            refunded_total,
            refundable_remaining,
        }])
    }
}

impl super::PendingRefund {
    fn into_record(self) -> super::RefundRecord {
        super::RefundRecord {
            refund_id: self.refund_id,
            payment_id: self.payment_id,
            amount: self.amount,
            lines: self.lines,
            for_what: self.for_what,
        }
    }
}

/// The order that ships a return's replacements: one per return, so a
/// redelivered receipt places it once.
pub fn replacement_of(return_id: ReturnId) -> crate::shared::OrderId {
    crate::shared::OrderId::new(Uuid::new_v5(&return_id.as_uuid(), b"replacement"))
}

/// The refund a received return holds: one per return, so its id follows from the
/// return's, and a redelivered receipt can never issue a second one.
pub fn refund_of(return_id: ReturnId) -> RefundId {
    RefundId::new(Uuid::new_v5(&return_id.as_uuid(), b"refund"))
}
