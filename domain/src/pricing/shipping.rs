//! A shipping method as pricing reads it.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::shared::ids::uuid_id;
use crate::shared::Money;

uuid_id!(
    /// A shipping method an admin defined.
    ShippingMethodId
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingOffer {
    pub id: ShippingMethodId,
    pub name: String,
    pub price: Money,
    /// Free when the subtotal after discounts reaches it.
    pub free_above: Option<Money>,
    /// ISO 3166-1 alpha-2 codes it ships to.
    pub countries: BTreeSet<String>,
}

impl ShippingOffer {
    pub fn ships_to(&self, country: &str) -> bool {
        self.countries.contains(country)
    }
}
