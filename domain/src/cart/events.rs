//! What happened to carts. Each event carries the resulting figures (lines, totals,
//! counts), so a read model or the checkout process manager needs nothing else.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use super::{CartLine, MergePolicy, QuantityCap};
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
];

/// A unit price that moved between the cart's snapshot and the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceChange {
    pub sku: Sku,
    pub old_price: Money,
    pub new_price: Money,
}

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
    },
    ItemQuantityChanged {
        /// The line after the change.
        line: CartLine,
        previous_quantity: Quantity,
        subtotal: Money,
        item_count: u32,
    },
    ItemRemoved {
        /// The line as it was before it was removed.
        line: CartLine,
        subtotal: Money,
        item_count: u32,
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
    },
    CartAbandoned {
        customer_id: Option<CustomerId>,
        subtotal: Money,
        item_count: u32,
        abandoned_at: DateTime<Utc>,
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
        };
        name.to_owned()
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}
