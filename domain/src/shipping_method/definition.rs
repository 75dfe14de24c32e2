//! A shipping method's definition and the limits it must keep.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::ShippingMethodError;
use crate::shared::{is_country_code, Money};

pub const MAX_SHIPPING_METHOD_NAME_CHARS: usize = 100;
/// At most this many destination countries per method.
pub const MAX_COUNTRIES: usize = 250;

/// Everything an admin states about a shipping method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShippingMethodDefinition {
    pub name: String,
    pub price: Money,
    /// Free when the subtotal after discounts reaches it.
    #[serde(default)]
    pub free_above: Option<Money>,
    /// ISO 3166-1 alpha-2 codes.
    pub countries: BTreeSet<String>,
}

impl ShippingMethodDefinition {
    /// Checks every limit; the first one broken is the refusal.
    pub fn validate(&self) -> Result<(), ShippingMethodError> {
        let invalid = |reason: &str| {
            Err(ShippingMethodError::Invalid {
                reason: reason.to_owned(),
            })
        };
        let name = self.name.chars().count();
        if self.name.trim().is_empty()
            || name > MAX_SHIPPING_METHOD_NAME_CHARS
            || self.name.chars().any(char::is_control)
        {
            return invalid("name must be 1 to 100 characters, not blank, no control characters");
        }
        if self.price.is_negative() {
            return invalid("price must not be negative");
        }
        if let Some(threshold) = &self.free_above {
            if threshold.currency() != self.price.currency() {
                return invalid("free_above must be in the price's currency");
            }
            if threshold.amount() <= 0 {
                return invalid("free_above must be positive");
            }
        }
        if self.countries.is_empty() || self.countries.len() > MAX_COUNTRIES {
            return invalid("countries must name 1 to 250 countries");
        }
        if let Some(bad) = self.countries.iter().find(|c| !is_country_code(c)) {
            return Err(ShippingMethodError::Invalid {
                reason: format!("{bad:?} is not an ISO 3166-1 alpha-2 country code"),
            });
        }
        Ok(())
    }
}
