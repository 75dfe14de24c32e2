//! A priced line of goods: what a cart checks out and what an order is placed with.
//! Shared so the checkout event and the order carry one shape.

use serde::{Deserialize, Serialize};

use super::{Money, MoneyError, Quantity, Sku};

/// `quantity` units of `sku` at `unit_price`, with the name shown to the customer
/// when the price was taken from the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineItem {
    pub sku: Sku,
    pub name: String,
    pub unit_price: Money,
    pub quantity: Quantity,
}

impl LineItem {
    /// `unit_price × quantity`, or an overflow error.
    pub fn line_total(&self) -> Result<Money, MoneyError> {
        self.unit_price.checked_mul(self.quantity.get())
    }
}
