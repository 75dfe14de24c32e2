//! The cart's state, rebuilt from its events, and its `cqrs_es::Aggregate` impl.
//! `apply` only copies what events say (lines, totals, status); every figure was
//! computed when the command was decided (see `decide.rs`).

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use super::CartDiscounts;
use super::{CartCommand, CartError, CartEvent, CartLine};
use crate::pricing::CouponCode;
use crate::shared::{CartId, Currency, CustomerId, Money, OrderId, Sku};

/// A shopping cart. `None` inside until `CartOpened`: the cart does not exist yet.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cart {
    state: Option<CartState>,
}

/// An opened cart. Public for reading (tools that show a state at a point in
/// time); only events change it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CartState {
    pub id: CartId,
    pub status: CartStatus,
    pub currency: Currency,
    /// `None` while the cart is a guest's.
    pub customer_id: Option<CustomerId>,
    /// In the order they were first added (merged lines after the existing ones).
    pub lines: Vec<CartLine>,
    pub subtotal: Money,
    pub item_count: u32,
    /// Carts already merged into this one, so a retried merge adds nothing twice.
    pub merged_sources: BTreeSet<CartId>,
    pub opened_at: DateTime<Utc>,
    /// Coupons the customer applied (they stay while the cart is open, applying
    /// whenever their conditions hold).
    #[serde(default)]
    pub coupons: BTreeSet<CouponCode>,
    /// As last recorded; `None` before any.
    #[serde(default)]
    pub discounts: Option<CartDiscounts>,
}

/// Where a cart is in its life; every state but `Open` is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum CartStatus {
    Open,
    CheckedOut { order_id: OrderId },
    Abandoned,
    Merged { target_cart_id: CartId },
}

impl fmt::Display for CartStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CartStatus::Open => "open",
            CartStatus::CheckedOut { .. } => "checked_out",
            CartStatus::Abandoned => "abandoned",
            CartStatus::Merged { .. } => "merged",
        })
    }
}

impl Cart {
    /// The opened cart, or `None` before `CartOpened`.
    pub fn state(&self) -> Option<&CartState> {
        self.state.as_ref()
    }

    /// Decides a command: the events it causes (none when it changes nothing), or
    /// why it is refused. Pure; `handle` only writes what this returns.
    pub fn decide(&self, command: CartCommand) -> Result<Vec<CartEvent>, CartError> {
        match (&self.state, command) {
            (
                None,
                CartCommand::OpenCart {
                    cart_id,
                    currency,
                    customer_id,
                    opened_at,
                },
            ) => Ok(vec![CartEvent::CartOpened {
                cart_id,
                currency,
                customer_id,
                opened_at,
            }]),
            (None, _) => Err(CartError::NotFound),
            (Some(state), command) => state.decide(command),
        }
    }
}

impl Aggregate for Cart {
    const TYPE: &'static str = "Cart";
    type Command = CartCommand;
    type Event = CartEvent;
    type Error = CartError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            CartEvent::CartOpened {
                cart_id,
                currency,
                customer_id,
                opened_at,
            } => {
                self.state = Some(CartState {
                    id: cart_id,
                    status: CartStatus::Open,
                    currency,
                    customer_id,
                    lines: Vec::new(),
                    subtotal: Money::zero(currency),
                    item_count: 0,
                    merged_sources: BTreeSet::new(),
                    opened_at,
                    coupons: BTreeSet::new(),
                    discounts: None,
                });
            }
            // Only a cart that exists has further events.
            event => {
                if let Some(state) = self.state.as_mut() {
                    state.apply(event);
                }
            }
        }
    }
}

impl CartState {
    /// The line of `sku`, if the cart has one.
    pub fn line(&self, sku: &Sku) -> Option<&CartLine> {
        self.lines.iter().find(|line| &line.sku == sku)
    }

    fn upsert(&mut self, line: CartLine) {
        match self.lines.iter_mut().find(|l| l.sku == line.sku) {
            Some(existing) => *existing = line,
            None => self.lines.push(line),
        }
    }

    pub(super) fn apply(&mut self, event: CartEvent) {
        match event {
            // Handled by `Cart::apply`; a second one cannot be decided.
            CartEvent::CartOpened { .. } => {}
            CartEvent::ItemAdded {
                line,
                subtotal,
                item_count,
                discounts,
                ..
            }
            | CartEvent::ItemQuantityChanged {
                line,
                subtotal,
                item_count,
                discounts,
                ..
            } => {
                self.upsert(line);
                self.subtotal = subtotal;
                self.item_count = item_count;
                if discounts.is_some() {
                    self.discounts = discounts;
                }
            }
            CartEvent::ItemRemoved {
                line,
                subtotal,
                item_count,
                discounts,
            } => {
                self.lines.retain(|l| l.sku != line.sku);
                self.subtotal = subtotal;
                self.item_count = item_count;
                if discounts.is_some() {
                    self.discounts = discounts;
                }
            }
            CartEvent::CartAttachedToCustomer { customer_id } => {
                self.customer_id = Some(customer_id);
            }
            CartEvent::CartLinesMerged {
                source_cart_id,
                lines,
                subtotal,
                item_count,
                ..
            } => {
                self.merged_sources.insert(source_cart_id);
                self.lines = lines;
                self.subtotal = subtotal;
                self.item_count = item_count;
            }
            CartEvent::CartMergedInto { target_cart_id } => {
                self.status = CartStatus::Merged { target_cart_id };
            }
            CartEvent::PricesRefreshed {
                lines,
                subtotal,
                item_count,
                ..
            } => {
                self.lines = lines;
                self.subtotal = subtotal;
                self.item_count = item_count;
            }
            CartEvent::CartCheckedOut { order_id, .. } => {
                self.status = CartStatus::CheckedOut { order_id };
                // The customer checked out at these prices: nothing is pending.
                for line in &mut self.lines {
                    line.price_changed = false;
                }
            }
            CartEvent::CartAbandoned { .. } => {
                self.status = CartStatus::Abandoned;
            }
            CartEvent::CouponApplied { code, .. } => {
                self.coupons.insert(code);
            }
            CartEvent::CouponRemoved { code } => {
                self.coupons.remove(&code);
            }
            CartEvent::CartDiscountsChanged {
                discounts,
                not_applied,
                discount_total,
                total,
                ..
            } => {
                self.discounts = Some(CartDiscounts {
                    discounts,
                    not_applied,
                    discount_total,
                    total,
                });
            }
        }
    }
}
