//! Tax rates as pricing reads them: by destination and product tax category.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How a product is taxed (`standard`, `reduced`, `zero`, ...): 1 to 32 lower-case
/// ASCII letters, digits, `-` or `_`. Products without one are `standard`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TaxCategory(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a tax category: 1 to 32 lower-case ASCII letters, digits, '-' or '_'")]
pub struct TaxCategoryError(pub String);

impl TaxCategory {
    pub const STANDARD: &'static str = "standard";
    pub const MAX_LEN: usize = 32;

    pub fn new(category: impl Into<String>) -> Result<Self, TaxCategoryError> {
        let category = category.into();
        let valid = (1..=Self::MAX_LEN).contains(&category.len())
            && category
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_'));
        if valid {
            Ok(TaxCategory(category))
        } else {
            Err(TaxCategoryError(category))
        }
    }

    pub fn standard() -> Self {
        TaxCategory(Self::STANDARD.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for TaxCategory {
    fn default() -> Self {
        TaxCategory::standard()
    }
}

impl TryFrom<String> for TaxCategory {
    type Error = TaxCategoryError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        TaxCategory::new(value)
    }
}

impl From<TaxCategory> for String {
    fn from(category: TaxCategory) -> Self {
        category.0
    }
}

impl fmt::Display for TaxCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One rate: for a country (ISO 3166-1 alpha-2), optionally one of its regions,
/// and a tax category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxRate {
    pub country: String,
    #[serde(default)]
    pub region: Option<String>,
    pub category: TaxCategory,
    /// 1 900 = 19 %.
    pub basis_points: u32,
}

/// The rates of one destination (or more), as configured when they were read.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TaxTable {
    pub rates: Vec<TaxRate>,
}

impl TaxTable {
    /// The rate for `category` at the destination: the region's own rate, else
    /// the country's. A category without a rate there is taxed at the
    /// destination's `standard` rate (a missing entry must not make goods tax
    /// free); a destination without any rate is not taxed (`None`): the shop does
    /// not collect tax there.
    pub fn rate_for(
        &self,
        country: &str,
        region: Option<&str>,
        category: &TaxCategory,
    ) -> Option<u32> {
        let find = |category: &str| {
            let of_region = region.and_then(|region| {
                self.rates.iter().find(|rate| {
                    rate.country == country
                        && rate.region.as_deref() == Some(region)
                        && rate.category.as_str() == category
                })
            });
            of_region
                .or_else(|| {
                    self.rates.iter().find(|rate| {
                        rate.country == country
                            && rate.region.is_none()
                            && rate.category.as_str() == category
                    })
                })
                .map(|rate| rate.basis_points)
        };
        find(category.as_str()).or_else(|| find(TaxCategory::STANDARD))
    }
}
