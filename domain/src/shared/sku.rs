//! A stock-keeping unit: the id of an Inventory stream and the key of a cart line.

use std::fmt;

use serde::{Deserialize, Serialize};

/// 1 to 64 characters of ASCII letters, digits, `-`, `_` and `.`; kept as given.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sku(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a SKU: 1 to 64 ASCII letters, digits, '-', '_' or '.'")]
pub struct SkuError(pub String);

impl Sku {
    pub const MAX_LEN: usize = 64;

    pub fn new(value: impl Into<String>) -> Result<Self, SkuError> {
        let value = value.into();
        let valid = (1..=Self::MAX_LEN).contains(&value.len())
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if valid {
            Ok(Sku(value))
        } else {
            Err(SkuError(value))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Sku {
    type Error = SkuError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Sku::new(value)
    }
}

impl From<Sku> for String {
    fn from(sku: Sku) -> Self {
        sku.0
    }
}

impl fmt::Display for Sku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn refuses_empty_long_and_odd_characters_even_when_deserializing() {
        for bad in ["", "a b", "sku/1", "ü", &"x".repeat(65)] {
            assert!(Sku::new(bad).is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<Sku>("\"a b\"").is_err());
        assert_eq!(
            Sku::new("TSHIRT-navy_M.1").unwrap().as_str(),
            "TSHIRT-navy_M.1"
        );
    }

    proptest! {
        #[test]
        fn accepts_every_well_formed_sku(s in "[A-Za-z0-9._-]{1,64}") {
            prop_assert!(Sku::new(s).is_ok());
        }
    }
}
