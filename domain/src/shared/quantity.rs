//! A count of units: strictly positive and bounded, so no command can order zero,
//! a negative amount, or enough to overflow a total.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Quantity(u32);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("quantity must be between 1 and {max}, got {got}", max = Quantity::MAX)]
pub struct QuantityError {
    pub got: i64,
}

impl Quantity {
    /// The largest quantity any command may carry.
    pub const MAX: u32 = 1_000_000;

    pub fn new(value: u32) -> Result<Self, QuantityError> {
        if (1..=Self::MAX).contains(&value) {
            Ok(Quantity(value))
        } else {
            Err(QuantityError { got: value.into() })
        }
    }

    pub const fn get(&self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for Quantity {
    type Error = QuantityError;

    fn try_from(value: u32) -> Result<Self, Self::Error> {
        Quantity::new(value)
    }
}

impl From<Quantity> for u32 {
    fn from(quantity: Quantity) -> Self {
        quantity.0
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn refuses_zero_and_too_much_even_when_deserializing() {
        assert!(Quantity::new(0).is_err());
        assert!(Quantity::new(Quantity::MAX + 1).is_err());
        assert!(serde_json::from_str::<Quantity>("0").is_err());
        assert!(serde_json::from_str::<Quantity>("-1").is_err());
        assert_eq!(serde_json::from_str::<Quantity>("3").unwrap().get(), 3);
    }

    proptest! {
        #[test]
        fn exists_only_within_bounds(value in any::<u32>()) {
            prop_assert_eq!(Quantity::new(value).is_ok(), (1..=Quantity::MAX).contains(&value));
        }
    }
}
