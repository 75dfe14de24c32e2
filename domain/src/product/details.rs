//! What a shopper reads about a product, and the limits that keep it printable,
//! indexable and small enough to travel in every event about it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ProductError;

/// The descriptive part of a product: everything but its ids, price and status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductDetails {
    pub name: String,
    pub description: String,
    pub category: String,
    pub brand: String,
    pub attributes: BTreeMap<String, String>,
}

impl ProductDetails {
    pub const MAX_NAME: usize = 200;
    pub const MAX_DESCRIPTION: usize = 10_000;
    pub const MAX_CATEGORY: usize = 100;
    pub const MAX_BRAND: usize = 100;
    pub const MAX_ATTRIBUTES: usize = 50;
    pub const MAX_ATTRIBUTE_KEY: usize = 64;
    pub const MAX_ATTRIBUTE_VALUE: usize = 500;

    /// Checks every limit; the first one broken is the refusal.
    pub fn validate(&self) -> Result<(), ProductError> {
        if !is_filled_within(&self.name, Self::MAX_NAME) {
            return Err(ProductError::InvalidName {
                length: chars(&self.name),
            });
        }
        let description = chars(&self.description);
        if description > Self::MAX_DESCRIPTION {
            return Err(ProductError::DescriptionTooLong {
                length: description,
            });
        }
        if !is_filled_within(&self.category, Self::MAX_CATEGORY) {
            return Err(ProductError::InvalidCategory {
                length: chars(&self.category),
            });
        }
        if !is_filled_within(&self.brand, Self::MAX_BRAND) {
            return Err(ProductError::InvalidBrand {
                length: chars(&self.brand),
            });
        }
        if self.attributes.len() > Self::MAX_ATTRIBUTES {
            return Err(ProductError::TooManyAttributes {
                count: self.attributes.len(),
            });
        }
        for (key, value) in &self.attributes {
            if !is_filled_within(key, Self::MAX_ATTRIBUTE_KEY) {
                return Err(ProductError::InvalidAttributeName { name: key.clone() });
            }
            let length = chars(value);
            if length > Self::MAX_ATTRIBUTE_VALUE {
                return Err(ProductError::AttributeValueTooLong {
                    name: key.clone(),
                    length,
                });
            }
        }
        Ok(())
    }
}

/// Limits are in characters, as a shopper counts them, not UTF-8 bytes.
fn chars(text: &str) -> usize {
    text.chars().count()
}

/// Not blank and at most `max` characters.
fn is_filled_within(text: &str, max: usize) -> bool {
    !text.trim().is_empty() && chars(text) <= max
}
