//! A cart line and the limits every line obeys, with the checks and sums that
//! decisions share. Totals are computed here and only here, then carried in events,
//! so readers never multiply or add prices themselves.

use serde::{Deserialize, Serialize};

use super::CartError;
use crate::shared::{Currency, LineItem, Money, Quantity, Sku};

/// At most this many distinct SKUs in one cart.
pub const MAX_LINES: usize = 100;
/// At most this many units of one SKU in one cart (orders of more go through sales).
pub const MAX_LINE_QUANTITY: u32 = 999;
/// Product names longer than this do not fit the storefront, the order e-mail or
/// the packing slip.
pub const MAX_NAME_CHARS: usize = 200;

/// One SKU in a cart: the catalog snapshot it was added with, how many, and what
/// that comes to. Events carry whole lines, so a read model is kept from events alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine {
    pub sku: Sku,
    /// The product name when the price was taken, shown as the customer saw it.
    pub name: String,
    /// The catalog price the customer agreed to; checkout compares it with the
    /// current catalog price.
    pub unit_price: Money,
    pub quantity: Quantity,
    /// `unit_price × quantity`.
    pub line_total: Money,
    /// A price refresh changed `unit_price` and the customer has not acted on the
    /// line since (added to it, changed it, checked out): the storefront shows
    /// "the price changed since you added this".
    pub price_changed: bool,
}

impl CartLine {
    pub(crate) fn new(
        sku: Sku,
        name: String,
        unit_price: Money,
        quantity: Quantity,
        price_changed: bool,
    ) -> Result<Self, CartError> {
        let line_total = unit_price
            .checked_mul(quantity.get())
            .map_err(|_| CartError::AmountOutOfRange)?;
        Ok(CartLine {
            sku,
            name,
            unit_price,
            quantity,
            line_total,
            price_changed,
        })
    }

    /// The same line with another quantity; the customer acted on it, so the
    /// price-changed flag is cleared.
    pub(crate) fn with_quantity(&self, quantity: Quantity) -> Result<Self, CartError> {
        CartLine::new(
            self.sku.clone(),
            self.name.clone(),
            self.unit_price,
            quantity,
            false,
        )
    }

    /// The line as an order takes it (no flag, no total).
    pub fn to_line_item(&self) -> LineItem {
        LineItem {
            sku: self.sku.clone(),
            name: self.name.clone(),
            unit_price: self.unit_price,
            quantity: self.quantity,
        }
    }
}

/// Product names are shown to customers and printed on documents: 1 to 200
/// characters, not blank, no control characters.
pub(crate) fn check_product_name(name: &str) -> Result<(), CartError> {
    let chars = name.chars().count();
    let reason = if name.trim().is_empty() {
        Some("must not be empty or blank")
    } else if chars > MAX_NAME_CHARS {
        Some("must be at most 200 characters long")
    } else if name.chars().any(char::is_control) {
        Some("must not contain control characters")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(CartError::InvalidProductName { reason }),
        None => Ok(()),
    }
}

/// A unit price a cart can hold: in the cart's currency and not negative (zero is
/// a free item).
pub(crate) fn check_unit_price(
    sku: &Sku,
    unit_price: &Money,
    cart_currency: Currency,
) -> Result<(), CartError> {
    if unit_price.currency() != cart_currency {
        return Err(CartError::CurrencyMismatch {
            sku: sku.clone(),
            cart_currency,
            price_currency: unit_price.currency(),
        });
    }
    if unit_price.is_negative() {
        return Err(CartError::NegativeUnitPrice {
            sku: sku.clone(),
            unit_price: *unit_price,
        });
    }
    Ok(())
}

/// `requested` units of `sku` as a line quantity, or a refusal above the cart limit.
pub(crate) fn line_quantity(sku: &Sku, requested: u32) -> Result<Quantity, CartError> {
    let too_many = || CartError::QuantityLimitExceeded {
        sku: sku.clone(),
        requested,
        max: MAX_LINE_QUANTITY,
    };
    if requested > MAX_LINE_QUANTITY {
        return Err(too_many());
    }
    Quantity::new(requested).map_err(|_| too_many())
}

/// What the lines come to: the subtotal and the number of units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Totals {
    pub subtotal: Money,
    pub item_count: u32,
}

pub(crate) fn totals(currency: Currency, lines: &[CartLine]) -> Result<Totals, CartError> {
    let subtotal = Money::sum(currency, lines.iter().map(|line| &line.line_total))
        .map_err(|_| CartError::AmountOutOfRange)?;
    // At most 100 lines of at most 999 units never come near u32::MAX; saturating
    // all the same, so no input can make this panic.
    let item_count = lines
        .iter()
        .map(|line| line.quantity.get())
        .fold(0u32, u32::saturating_add);
    Ok(Totals {
        subtotal,
        item_count,
    })
}
