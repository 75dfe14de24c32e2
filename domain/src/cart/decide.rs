//! How an opened cart decides each command: the checks in the order they apply,
//! and the events with every resulting figure computed once, here.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::lines::{
    check_product_name, check_unit_price, line_quantity, totals, Totals, MAX_LINES,
};
use super::merge::merge_lines;
use super::{
    CartCommand, CartError, CartEvent, CartLine, CartState, CartStatus, MergePolicy, PriceChange,
    PricingContext,
};
use crate::shared::{
    CartId, CustomerId, Email, LineItem, Money, OrderId, PaymentMethodToken, PostalAddress,
    Quantity, Sku,
};

type Decision = Result<Vec<CartEvent>, CartError>;

/// A checkout's facts other than prices, passed through to `CartCheckedOut`.
struct Checkout {
    order_id: OrderId,
    email: Email,
    shipping_address: PostalAddress,
    payment_token: PaymentMethodToken,
    checked_out_at: DateTime<Utc>,
}

impl CartState {
    pub(super) fn decide(&self, command: CartCommand) -> Decision {
        self.decide_priced(command, None)
    }

    /// Decides `command`; a checkout is priced with `pricing` when there is one.
    fn decide_priced(&self, command: CartCommand, pricing: Option<&PricingContext>) -> Decision {
        match command {
            CartCommand::OpenCart { .. } => Err(CartError::AlreadyExists),
            CartCommand::AddItem {
                sku,
                name,
                unit_price,
                quantity,
            } => self.add_item(sku, name, unit_price, quantity),
            CartCommand::ChangeItemQuantity { sku, quantity } => {
                self.change_quantity(&sku, quantity)
            }
            CartCommand::RemoveItem { sku } => self.remove_item(&sku),
            CartCommand::AttachCartToCustomer { customer_id } => self.attach(customer_id),
            CartCommand::MergeCartLines {
                source_cart_id,
                lines,
                policy,
            } => self.merge(source_cart_id, &lines, policy),
            CartCommand::MarkCartMergedInto { target_cart_id } => {
                self.mark_merged_into(target_cart_id)
            }
            CartCommand::RefreshPrices { current_prices } => self.refresh_prices(&current_prices),
            CartCommand::CheckOutCart {
                order_id,
                current_prices,
                email,
                shipping_address,
                payment_token,
                checked_out_at,
            } => self.check_out(
                &current_prices,
                Checkout {
                    order_id,
                    email,
                    shipping_address,
                    payment_token,
                    checked_out_at,
                },
                pricing,
            ),
            CartCommand::AbandonCart { abandoned_at } => self.abandon(abandoned_at),
            CartCommand::WithPricing { command, pricing } => match *command {
                // These price themselves.
                command @ (CartCommand::WithPricing { .. }
                | CartCommand::ApplyCoupon { .. }
                | CartCommand::RemoveCoupon { .. }) => self.decide(command),
                // A checkout leaves the cart closed: `repriced` adds nothing to it.
                command => {
                    let events = self.decide_priced(command, Some(&pricing))?;
                    self.repriced(events, &pricing)
                }
            },
            CartCommand::ApplyCoupon {
                code,
                promotion,
                pricing,
            } => self.apply_coupon(code, promotion, &pricing),
            CartCommand::RemoveCoupon { code, pricing } => self.remove_coupon(code, &pricing),
        }
    }

    /// Only an open cart changes; the refusal names the final state it is in.
    pub(super) fn ensure_open(&self) -> Result<(), CartError> {
        match self.status {
            CartStatus::Open => Ok(()),
            CartStatus::CheckedOut { order_id } => Err(CartError::CheckedOut { order_id }),
            CartStatus::Abandoned => Err(CartError::Abandoned),
            CartStatus::Merged { target_cart_id } => Err(CartError::Merged { target_cart_id }),
        }
    }

    /// The lines after replacing or appending `line`, and their totals.
    fn with_line(&self, line: &CartLine) -> Result<Totals, CartError> {
        let mut lines = self.lines.clone();
        match lines.iter_mut().find(|l| l.sku == line.sku) {
            Some(existing) => *existing = line.clone(),
            None => lines.push(line.clone()),
        }
        totals(self.currency, &lines)
    }

    fn add_item(&self, sku: Sku, name: String, unit_price: Money, quantity: Quantity) -> Decision {
        self.ensure_open()?;
        check_product_name(&name)?;
        check_unit_price(&sku, &unit_price, self.currency)?;
        let new_quantity = match self.line(&sku) {
            Some(existing) => existing.quantity.get().saturating_add(quantity.get()),
            None if self.lines.len() >= MAX_LINES => {
                return Err(CartError::TooManyLines { max: MAX_LINES })
            }
            None => quantity.get(),
        };
        let new_quantity = line_quantity(&sku, new_quantity)?;
        // The newest snapshot wins: it is the price the storefront just showed, and
        // one line has one price. Adding is acting on the line, so no flag.
        let line = CartLine::new(sku, name, unit_price, new_quantity, false)?;
        let Totals {
            subtotal,
            item_count,
        } = self.with_line(&line)?;
        Ok(vec![CartEvent::ItemAdded {
            line,
            quantity_added: quantity,
            subtotal,
            item_count,
            discounts: None,
        }])
    }

    fn change_quantity(&self, sku: &Sku, quantity: Quantity) -> Decision {
        self.ensure_open()?;
        let existing = self
            .line(sku)
            .ok_or_else(|| CartError::LineNotFound { sku: sku.clone() })?;
        let quantity = line_quantity(sku, quantity.get())?;
        // Same quantity: nothing to record, unless it confirms a changed price.
        if existing.quantity == quantity && !existing.price_changed {
            return Ok(Vec::new());
        }
        let line = existing.with_quantity(quantity)?;
        let Totals {
            subtotal,
            item_count,
        } = self.with_line(&line)?;
        Ok(vec![CartEvent::ItemQuantityChanged {
            line,
            previous_quantity: existing.quantity,
            subtotal,
            item_count,
            discounts: None,
        }])
    }

    fn remove_item(&self, sku: &Sku) -> Decision {
        self.ensure_open()?;
        let line = self
            .line(sku)
            .ok_or_else(|| CartError::LineNotFound { sku: sku.clone() })?;
        let rest: Vec<CartLine> = self
            .lines
            .iter()
            .filter(|l| &l.sku != sku)
            .cloned()
            .collect();
        let Totals {
            subtotal,
            item_count,
        } = totals(self.currency, &rest)?;
        Ok(vec![CartEvent::ItemRemoved {
            line: line.clone(),
            subtotal,
            item_count,
            discounts: None,
        }])
    }

    fn attach(&self, customer_id: CustomerId) -> Decision {
        self.ensure_open()?;
        match self.customer_id {
            None => Ok(vec![CartEvent::CartAttachedToCustomer { customer_id }]),
            Some(current) if current == customer_id => Ok(Vec::new()),
            Some(_) => Err(CartError::AttachedToAnotherCustomer),
        }
    }

    fn merge(
        &self,
        source_cart_id: CartId,
        incoming: &[LineItem],
        policy: MergePolicy,
    ) -> Decision {
        self.ensure_open()?;
        if source_cart_id == self.id {
            return Err(CartError::CannotMergeIntoItself);
        }
        // A retried merge (the source not yet marked) must not add its lines twice.
        if self.merged_sources.contains(&source_cart_id) {
            return Ok(Vec::new());
        }
        let outcome = merge_lines(&self.lines, incoming, policy, self.currency)?;
        let Totals {
            subtotal,
            item_count,
        } = totals(self.currency, &outcome.lines)?;
        Ok(vec![CartEvent::CartLinesMerged {
            source_cart_id,
            policy,
            lines: outcome.lines,
            capped_quantities: outcome.capped_quantities,
            dropped_skus: outcome.dropped_skus,
            subtotal,
            item_count,
        }])
    }

    fn mark_merged_into(&self, target_cart_id: CartId) -> Decision {
        // Marking again into the same target is a retry: nothing to record.
        if self.status == (CartStatus::Merged { target_cart_id }) {
            return Ok(Vec::new());
        }
        self.ensure_open()?;
        if target_cart_id == self.id {
            return Err(CartError::CannotMergeIntoItself);
        }
        Ok(vec![CartEvent::CartMergedInto { target_cart_id }])
    }

    fn refresh_prices(&self, current_prices: &BTreeMap<Sku, Money>) -> Decision {
        self.ensure_open()?;
        let mut changes = Vec::new();
        let mut lines = Vec::with_capacity(self.lines.len());
        for line in &self.lines {
            // A SKU the catalog no longer prices keeps its snapshot; checkout then
            // refuses it as unavailable.
            match current_prices.get(&line.sku) {
                Some(price) if *price != line.unit_price => {
                    check_unit_price(&line.sku, price, self.currency)?;
                    changes.push(PriceChange {
                        sku: line.sku.clone(),
                        old_price: line.unit_price,
                        new_price: *price,
                    });
                    lines.push(CartLine::new(
                        line.sku.clone(),
                        line.name.clone(),
                        *price,
                        line.quantity,
                        true,
                    )?);
                }
                _ => lines.push(line.clone()),
            }
        }
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        let Totals {
            subtotal,
            item_count,
        } = totals(self.currency, &lines)?;
        Ok(vec![CartEvent::PricesRefreshed {
            changes,
            lines,
            subtotal,
            item_count,
        }])
    }

    fn check_out(
        &self,
        current_prices: &BTreeMap<Sku, Money>,
        checkout: Checkout,
        pricing: Option<&PricingContext>,
    ) -> Decision {
        self.ensure_open()?;
        if self.lines.is_empty() {
            return Err(CartError::EmptyCart);
        }
        let unavailable: Vec<Sku> = self
            .lines
            .iter()
            .filter(|line| !current_prices.contains_key(&line.sku))
            .map(|line| line.sku.clone())
            .collect();
        if !unavailable.is_empty() {
            return Err(CartError::ProductUnavailable { skus: unavailable });
        }
        let mut changes = Vec::new();
        for line in &self.lines {
            if let Some(price) = current_prices.get(&line.sku) {
                if price.currency() != self.currency {
                    return Err(CartError::CurrencyMismatch {
                        sku: line.sku.clone(),
                        cart_currency: self.currency,
                        price_currency: price.currency(),
                    });
                }
                if *price != line.unit_price {
                    changes.push(PriceChange {
                        sku: line.sku.clone(),
                        old_price: line.unit_price,
                        new_price: *price,
                    });
                }
            }
        }
        if !changes.is_empty() {
            return Err(CartError::PricesChanged { changes });
        }
        let pricing = match pricing {
            None => None,
            Some(context) => {
                let priced = self.priced(context, &self.coupons, context.delivery.as_ref())?;
                let now = priced.line_discounts();
                let recorded = self.recorded_line_discounts();
                if now != recorded {
                    let sum = |d: &BTreeMap<_, i64>| Money::new(d.values().sum(), self.currency);
                    return Err(CartError::DiscountsChanged {
                        before: sum(&recorded),
                        after: sum(&now),
                    });
                }
                Some(priced)
            }
        };
        let Totals {
            subtotal,
            item_count,
        } = totals(self.currency, &self.lines)?;
        Ok(vec![CartEvent::CartCheckedOut {
            cart_id: self.id,
            order_id: checkout.order_id,
            customer_id: self.customer_id,
            lines: self.lines.iter().map(CartLine::to_line_item).collect(),
            line_totals: self
                .lines
                .iter()
                .map(|line| (line.sku.clone(), line.line_total))
                .collect(),
            subtotal,
            item_count,
            currency: self.currency,
            email: checkout.email,
            shipping_address: checkout.shipping_address,
            payment_token: checkout.payment_token,
            checked_out_at: checkout.checked_out_at,
            pricing,
        }])
    }

    fn abandon(&self, abandoned_at: DateTime<Utc>) -> Decision {
        self.ensure_open()?;
        Ok(vec![CartEvent::CartAbandoned {
            customer_id: self.customer_id,
            subtotal: self.subtotal,
            item_count: self.item_count,
            abandoned_at,
        }])
    }
}
