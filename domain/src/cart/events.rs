//! What happened to carts. Each event carries the resulting figures (lines, totals,
//! counts), so a read model or the checkout process manager needs nothing else.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use super::{CartDiscounts, CartLine, MergePolicy, QuantityCap};
use crate::pricing::{AppliedDiscount, CouponCode, NotApplied, PricedCart, PromotionId};
use crate::shared::{
    CartId, Currency, CustomerId, Email, LineItem, Money, OrderId, PaymentMethodToken,
    PostalAddress, Quantity, Sku,
};

/// Every event type name, as stored in the event store's `event_type` column.
pub const EVENT_TYPES: &[&str] = &[
    "CartOpened",
    "ItemAdded",
    "ItemQuantityChanged",
    "ItemRemoved",
    "CartAttachedToCustomer",
    "CartLinesMerged",
    "CartMergedInto",
    "PricesRefreshed",
    "CartCheckedOut",
    "CartAbandoned",
    "CouponApplied",
    "CouponRemoved",
    "CartDiscountsChanged",
];

/// A unit price that moved between the cart's snapshot and the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceChange {
    pub sku: Sku,
    pub old_price: Money,
    pub new_price: Money,
}

// `CartCheckedOut` carries an address and is much larger than the rest; events are
// built once per command and stored, so boxing it would buy nothing but noise.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CartEvent {
    CartOpened {
        cart_id: CartId,
        currency: Currency,
        customer_id: Option<CustomerId>,
        opened_at: DateTime<Utc>,
    },
    /// A new line, or more units of a line already there (which then took the new
    /// catalog snapshot).
    ItemAdded {
        /// The line after adding.
        line: CartLine,
        quantity_added: Quantity,
        subtotal: Money,
        item_count: u32,
        /// The cart's discounts after this change, when they moved (v2; `None`:
        /// as before). Folded into the line event so that a cart change under
        /// promotions stays one event.
        discounts: Option<CartDiscounts>,
    },
    ItemQuantityChanged {
        /// The line after the change.
        line: CartLine,
        previous_quantity: Quantity,
        subtotal: Money,
        item_count: u32,
        /// The cart's discounts after this change, when they moved (v2; `None`:
        /// as before). Folded into the line event so that a cart change under
        /// promotions stays one event.
        discounts: Option<CartDiscounts>,
    },
    ItemRemoved {
        /// The line as it was before it was removed.
        line: CartLine,
        subtotal: Money,
        item_count: u32,
        /// The cart's discounts after this change, when they moved (v2; `None`:
        /// as before). Folded into the line event so that a cart change under
        /// promotions stays one event.
        discounts: Option<CartDiscounts>,
    },
    CartAttachedToCustomer {
        customer_id: CustomerId,
    },
    /// This (target) cart took another cart's lines according to `policy`.
    CartLinesMerged {
        source_cart_id: CartId,
        policy: MergePolicy,
        /// Every line of the cart after the merge.
        lines: Vec<CartLine>,
        capped_quantities: Vec<QuantityCap>,
        dropped_skus: Vec<Sku>,
        subtotal: Money,
        item_count: u32,
    },
    /// This (source) cart's lines went into `target_cart_id`; it is closed.
    CartMergedInto {
        target_cart_id: CartId,
    },
    PricesRefreshed {
        changes: Vec<PriceChange>,
        /// Every line of the cart after the refresh.
        lines: Vec<CartLine>,
        subtotal: Money,
        item_count: u32,
    },
    /// The checkout process manager places the order and starts the payment from
    /// this event alone.
    CartCheckedOut {
        cart_id: CartId,
        order_id: OrderId,
        customer_id: Option<CustomerId>,
        lines: Vec<LineItem>,
        line_totals: BTreeMap<Sku, Money>,
        subtotal: Money,
        item_count: u32,
        currency: Currency,
        email: Email,
        shipping_address: PostalAddress,
        payment_token: PaymentMethodToken,
        checked_out_at: DateTime<Utc>,
        /// The cart priced at checkout: discounts, shipping, tax, total (v2; `None`
        /// for checkouts before pricing existed, and when the command side sent
        /// no pricing).
        pricing: Option<PricedCart>,
    },
    CartAbandoned {
        customer_id: Option<CustomerId>,
        subtotal: Money,
        item_count: u32,
        abandoned_at: DateTime<Utc>,
    },
    CouponApplied {
        code: CouponCode,
        promotion_id: PromotionId,
    },
    CouponRemoved {
        code: CouponCode,
    },
    /// The cart's discounts moved (its lines, its coupons or the promotions
    /// changed): every discount, and the coupons on it that do not apply.
    CartDiscountsChanged {
        discounts: Vec<AppliedDiscount>,
        not_applied: Vec<NotApplied>,
        subtotal: Money,
        discount_total: Money,
        /// The subtotal after discounts.
        total: Money,
    },
}

impl DomainEvent for CartEvent {
    fn event_type(&self) -> String {
        let name = match self {
            CartEvent::CartOpened { .. } => "CartOpened",
            CartEvent::ItemAdded { .. } => "ItemAdded",
            CartEvent::ItemQuantityChanged { .. } => "ItemQuantityChanged",
            CartEvent::ItemRemoved { .. } => "ItemRemoved",
            CartEvent::CartAttachedToCustomer { .. } => "CartAttachedToCustomer",
            CartEvent::CartLinesMerged { .. } => "CartLinesMerged",
            CartEvent::CartMergedInto { .. } => "CartMergedInto",
            CartEvent::PricesRefreshed { .. } => "PricesRefreshed",
            CartEvent::CartCheckedOut { .. } => "CartCheckedOut",
            CartEvent::CartAbandoned { .. } => "CartAbandoned",
            CartEvent::CouponApplied { .. } => "CouponApplied",
            CartEvent::CouponRemoved { .. } => "CouponRemoved",
            CartEvent::CartDiscountsChanged { .. } => "CartDiscountsChanged",
        };
        name.to_owned()
    }

    fn event_version(&self) -> String {
        match self {
            // Version 3: an applied discount's part of a line is minor units.
            // Version 2: priced checkouts, line changes that carry their discounts.
            CartEvent::CartCheckedOut { .. }
            | CartEvent::ItemAdded { .. }
            | CartEvent::ItemQuantityChanged { .. }
            | CartEvent::ItemRemoved { .. } => "3",
            CartEvent::CartDiscountsChanged { .. } => "2",
            _ => "1",
        }
        .to_owned()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::super::fixtures::*;
    use super::*;

    fn one_of_each() -> Vec<CartEvent> {
        let totals = (eur_cents(100), 1);
        vec![
            opened(),
            CartEvent::ItemAdded {
                line: line("A", 100, 1),
                quantity_added: qty(1),
                subtotal: totals.0,
                item_count: totals.1,
                discounts: None,
            },
            CartEvent::ItemQuantityChanged {
                line: line("A", 100, 1),
                previous_quantity: qty(2),
                subtotal: totals.0,
                item_count: totals.1,
                discounts: None,
            },
            CartEvent::ItemRemoved {
                line: line("B", 100, 1),
                subtotal: totals.0,
                item_count: totals.1,
                discounts: None,
            },
            CartEvent::CartAttachedToCustomer {
                customer_id: customer(),
            },
            CartEvent::CartLinesMerged {
                source_cart_id: other_cart_id(),
                policy: MergePolicy::Merge,
                lines: vec![line("A", 100, 1)],
                capped_quantities: vec![],
                dropped_skus: vec![],
                subtotal: totals.0,
                item_count: totals.1,
            },
            CartEvent::CartMergedInto {
                target_cart_id: other_cart_id(),
            },
            CartEvent::PricesRefreshed {
                changes: vec![],
                lines: vec![line("A", 100, 1)],
                subtotal: totals.0,
                item_count: totals.1,
            },
            CartEvent::CartCheckedOut {
                cart_id: cart_id(),
                order_id: order_id(),
                customer_id: None,
                lines: vec![item("A", 100, 1)],
                line_totals: prices(&[("A", 100)]),
                subtotal: totals.0,
                item_count: totals.1,
                currency: eur(),
                email: email(),
                shipping_address: address(),
                payment_token: token(),
                checked_out_at: at(),
                pricing: None,
            },
            CartEvent::CartAbandoned {
                customer_id: None,
                subtotal: totals.0,
                item_count: totals.1,
                abandoned_at: at(),
            },
            CartEvent::CouponApplied {
                code: crate::pricing::CouponCode::new("WINTER").unwrap(),
                promotion_id: crate::pricing::PromotionId::new(uuid::Uuid::nil()),
            },
            CartEvent::CouponRemoved {
                code: crate::pricing::CouponCode::new("WINTER").unwrap(),
            },
            CartEvent::CartDiscountsChanged {
                discounts: vec![],
                not_applied: vec![],
                subtotal: totals.0,
                discount_total: eur_cents(0),
                total: totals.0,
            },
        ]
    }

    #[test]
    fn event_types_lists_every_variant_exactly_once() {
        let samples = one_of_each();
        let names: BTreeSet<String> = samples.iter().map(DomainEvent::event_type).collect();
        let listed: BTreeSet<String> = EVENT_TYPES.iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(names.len(), samples.len(), "a variant is sampled twice");
        assert_eq!(
            listed.len(),
            EVENT_TYPES.len(),
            "EVENT_TYPES has a duplicate"
        );
        assert_eq!(names, listed);
    }

    #[test]
    fn every_event_round_trips_through_json_under_its_type_name() {
        for event in one_of_each() {
            let expected = match event.event_type().as_str() {
                "CartCheckedOut" | "ItemAdded" | "ItemQuantityChanged" | "ItemRemoved" => "3",
                "CartDiscountsChanged" => "2",
                _ => "1",
            };
            assert_eq!(event.event_version(), expected);
            let json = serde_json::to_value(&event).unwrap();
            let tag = json.as_object().unwrap().keys().next().unwrap().clone();
            assert_eq!(tag, event.event_type());
            assert_eq!(serde_json::from_value::<CartEvent>(json).unwrap(), event);
        }
    }
}
