//! Edits of a confirmed order before it ships: a line's quantity changed, or a
//! line added. The edit is recorded at once (`OrderEdited`); the checkout process
//! then holds the stock and moves the payment's authorization to the new value,
//! and settles it, or reverts it when stock or payment cannot follow. Until then
//! the order neither ships nor cancels (`edit_pending`), so nothing acts on lines
//! whose stock is not held yet.

use std::collections::BTreeSet;

use super::aggregate::PlacedOrder;
use super::decide::{acceptable_text, check_reason, money_error, same_currency, Decision};
use super::{EditId, EditedLine, LineEdit, OrderError, OrderEvent, OrderStatus};
use crate::shared::Money;

const MAX_NAME_CHARS: usize = 200;

impl PlacedOrder {
    pub(super) fn edit(
        &self,
        edit_id: EditId,
        changes: Vec<LineEdit>,
        reason: String,
        edited_by: String,
    ) -> Decision {
        if self.status != OrderStatus::Confirmed {
            return Err(self.illegal("edit"));
        }
        self.no_edit_pending()?;
        if self.priced_beyond_unit_prices {
            return Err(OrderError::DiscountedOrderNotEditable);
        }
        if self.settled_edits.contains(&edit_id) {
            return Ok(vec![]);
        }
        check_reason(&reason)?;
        let payment = self
            .payment
            .as_ref()
            .ok_or(OrderError::PaymentNotAuthorized { state: self.status })?;
        if changes.is_empty() {
            return Err(OrderError::EmptyEdit);
        }
        let mut seen = BTreeSet::new();
        let mut lines = Vec::with_capacity(changes.len());
        let mut delta: i64 = 0;
        for change in changes {
            let edited = match change {
                LineEdit::SetQuantity { sku, quantity } => {
                    let line = self.line(&sku)?;
                    let requested = quantity.get();
                    if requested <= line.cancelled || requested == line.ordered.get() {
                        return Err(OrderError::InvalidEditQuantity {
                            sku,
                            requested,
                            ordered: line.ordered.get(),
                            cancelled: line.cancelled,
                        });
                    }
                    EditedLine {
                        sku,
                        name: line.name.clone(),
                        unit_price: line.unit_price,
                        ordered_before: line.ordered.get(),
                        ordered_after: requested,
                    }
                }
                LineEdit::AddLine {
                    sku,
                    name,
                    unit_price,
                    quantity,
                } => {
                    if self.line(&sku).is_ok() {
                        return Err(OrderError::LineExists { sku });
                    }
                    same_currency(self.currency, &unit_price)?;
                    if unit_price.is_negative() {
                        return Err(OrderError::NegativePrice { sku });
                    }
                    if !acceptable_text(&name, MAX_NAME_CHARS) {
                        return Err(OrderError::InvalidReplacement { sku });
                    }
                    EditedLine {
                        sku,
                        name,
                        unit_price,
                        ordered_before: 0,
                        ordered_after: quantity.get(),
                    }
                }
            };
            if !seen.insert(edited.sku.clone()) {
                return Err(OrderError::DuplicateSku { sku: edited.sku });
            }
            let units = i64::from(edited.ordered_after) - i64::from(edited.ordered_before);
            let worth = edited
                .unit_price
                .amount()
                .checked_mul(units)
                .ok_or(OrderError::AmountTooLarge)?;
            delta = delta.checked_add(worth).ok_or(OrderError::AmountTooLarge)?;
            lines.push(edited);
        }
        let total_before = self.total_after_cancellations;
        let total_after = total_before
            .checked_add(&Money::new(delta, self.currency))
            .map_err(money_error)?;
        Ok(vec![OrderEvent::OrderEdited {
            order_id: self.order_id,
            customer_id: self.customer_id,
            edit_id,
            edited_by,
            reason,
            lines,
            total_before,
            total_after,
            payment_id: payment.payment_id,
        }])
    }

    fn pending(&self, edit_id: EditId) -> Result<&super::PendingEdit, OrderError> {
        self.pending_edit
            .as_ref()
            .filter(|edit| edit.edit_id == edit_id)
            .ok_or(OrderError::UnknownEdit { edit_id })
    }

    pub(super) fn settle_edit(&self, edit_id: EditId) -> Decision {
        if self.settled_edits.contains(&edit_id) {
            return Ok(vec![]);
        }
        let edit = self.pending(edit_id)?;
        Ok(vec![OrderEvent::OrderEditSettled {
            order_id: self.order_id,
            customer_id: self.customer_id,
            edit_id,
            amount_authorized: edit.total_after,
        }])
    }

    pub(super) fn revert_edit(&self, edit_id: EditId, reason: String) -> Decision {
        let edit = self.pending(edit_id)?;
        check_reason(&reason)?;
        Ok(vec![OrderEvent::OrderEditReverted {
            order_id: self.order_id,
            customer_id: self.customer_id,
            edit_id,
            reason,
            lines: edit
                .lines
                .iter()
                .map(|line| EditedLine {
                    ordered_after: line.ordered_before,
                    ordered_before: line.ordered_after,
                    ..line.clone()
                })
                .collect(),
            total_after: edit.total_before,
        }])
    }
}
