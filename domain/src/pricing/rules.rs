//! What a promotion is, as the engine reads it: when it may apply (conditions, a
//! time window, a status, usage left), what it takes off (its action), and where
//! it stands among others (stacking).

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::TaxCategory;
use crate::shared::ids::uuid_id;
use crate::shared::{Money, Sku};

uuid_id!(
    /// A promotion (aggregate type `Promotion`).
    PromotionId
);

/// 100 % in basis points.
pub const MAX_BASIS_POINTS: u32 = 10_000;

/// A coupon code: 3 to 32 ASCII letters, digits, `-` or `_`, compared without
/// regard to case, so it is kept upper-cased.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CouponCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a coupon code: 3 to 32 ASCII letters, digits, '-' or '_'")]
pub struct CouponCodeError(pub String);

impl CouponCode {
    pub const MIN_LEN: usize = 3;
    pub const MAX_LEN: usize = 32;

    pub fn new(code: impl Into<String>) -> Result<Self, CouponCodeError> {
        let code = code.into();
        let valid = (Self::MIN_LEN..=Self::MAX_LEN).contains(&code.len())
            && code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
        if valid {
            Ok(CouponCode(code.to_ascii_uppercase()))
        } else {
            Err(CouponCodeError(code))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CouponCode {
    type Error = CouponCodeError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        CouponCode::new(value)
    }
}

impl From<CouponCode> for String {
    fn from(code: CouponCode) -> Self {
        code.0
    }
}

impl fmt::Display for CouponCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the catalog says about a product that pricing needs: what a promotion
/// may target and how the product is taxed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ProductFacts {
    pub category: String,
    pub brand: String,
    #[serde(default)]
    pub tax_category: TaxCategory,
}

/// Which lines a promotion looks at. Empty sets match everything; a line
/// matches when it passes every set that is not empty.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineFilter {
    #[serde(default)]
    pub skus: BTreeSet<Sku>,
    #[serde(default)]
    pub categories: BTreeSet<String>,
    #[serde(default)]
    pub brands: BTreeSet<String>,
}

impl LineFilter {
    pub fn is_everything(&self) -> bool {
        self.skus.is_empty() && self.categories.is_empty() && self.brands.is_empty()
    }

    pub fn matches(&self, sku: &Sku, facts: &ProductFacts) -> bool {
        (self.skus.is_empty() || self.skus.contains(sku))
            && (self.categories.is_empty() || self.categories.contains(&facts.category))
            && (self.brands.is_empty() || self.brands.contains(&facts.brand))
    }
}

/// When a promotion may apply, besides its window and status. All must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    /// The cart's subtotal before discounts must reach it (and be in its currency).
    #[serde(default)]
    pub minimum_subtotal: Option<Money>,
    /// The lines the promotion is about: at least one must be in the cart; line
    /// actions and buy-X-get-Y take off these lines only.
    #[serde(default)]
    pub lines: LineFilter,
    /// Only for a customer's first order (never for a guest, whose history is
    /// unknown).
    #[serde(default)]
    pub first_order_only: bool,
}

/// What a promotion takes off. Percentages are basis points (1 500 = 15 %).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", deny_unknown_fields)]
pub enum Action {
    /// A percentage of the order's net, split over its lines.
    PercentOffOrder { basis_points: u32 },
    /// An amount off the order (at most its net), split over its lines.
    FixedOffOrder { amount: Money },
    /// A percentage off each matching line.
    PercentOffLines { basis_points: u32 },
    /// An amount off each unit of the matching lines (at most the line's net).
    FixedOffLines { amount_per_unit: Money },
    /// Shipping at no charge.
    FreeShipping,
    /// Of every `buy + get` units of the matching lines, the `get` cheapest are
    /// discounted by `basis_points` (10 000: free).
    BuyXGetY {
        buy: u32,
        get: u32,
        basis_points: u32,
    },
}

impl Action {
    /// The action's name, as the API and the sales read model show it.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::PercentOffOrder { .. } => "percent_off_order",
            Action::FixedOffOrder { .. } => "fixed_off_order",
            Action::PercentOffLines { .. } => "percent_off_lines",
            Action::FixedOffLines { .. } => "fixed_off_lines",
            Action::FreeShipping => "free_shipping",
            Action::BuyXGetY { .. } => "buy_x_get_y",
        }
    }

    /// The amount it names, if any: it fixes the currency of carts it may apply to.
    pub fn amount(&self) -> Option<&Money> {
        match self {
            Action::FixedOffOrder { amount } => Some(amount),
            Action::FixedOffLines { amount_per_unit } => Some(amount_per_unit),
            _ => None,
        }
    }
}

/// Where a promotion stands among others that apply to the same cart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stacking {
    /// Lower first.
    #[serde(default)]
    pub priority: u32,
    /// Applies alone: only when nothing applied before it, and nothing after it.
    #[serde(default)]
    pub exclusive: bool,
}

/// From when and until when a promotion may apply; open on either side when absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    #[serde(default)]
    pub starts_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub ends_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromotionStatus {
    Active,
    Paused,
    Ended,
}

/// A promotion as pricing sees it at one moment, for one customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromotionOffer {
    pub promotion_id: PromotionId,
    pub name: String,
    /// `None`: automatic, applies wherever its conditions hold.
    pub code: Option<CouponCode>,
    pub conditions: Conditions,
    pub action: Action,
    pub stacking: Stacking,
    pub window: Window,
    pub status: PromotionStatus,
    /// No use left: in total, or for this customer.
    pub exhausted: bool,
}

/// Why a promotion did not apply: a coupon's refusal names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "condition")]
pub enum Ineligible {
    NotStarted {
        starts_at: DateTime<Utc>,
    },
    Ended,
    Paused,
    Exhausted,
    /// Its amounts are in another currency than the cart.
    Currency,
    MinimumSubtotal {
        minimum: Money,
    },
    /// None of the cart's lines is one it is about.
    NoMatchingLines,
    /// Buy-X-get-Y needs this many matching units.
    TooFewUnits {
        needed: u32,
    },
    FirstOrderOnly,
    /// An exclusive promotion applied, or this one is exclusive and another
    /// applied before it.
    NotCombinable,
}

impl Ineligible {
    /// The condition's stable name (`coupon_not_applicable` names it).
    pub fn condition(&self) -> &'static str {
        match self {
            Ineligible::NotStarted { .. } => "not_started",
            Ineligible::Ended => "ended",
            Ineligible::Paused => "paused",
            Ineligible::Exhausted => "exhausted",
            Ineligible::Currency => "currency",
            Ineligible::MinimumSubtotal { .. } => "minimum_subtotal",
            Ineligible::NoMatchingLines => "matching_lines",
            Ineligible::TooFewUnits { .. } => "too_few_units",
            Ineligible::FirstOrderOnly => "first_order_only",
            Ineligible::NotCombinable => "not_combinable",
        }
    }
}

impl fmt::Display for Ineligible {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ineligible::NotStarted { starts_at } => write!(f, "it starts at {starts_at}"),
            Ineligible::Ended => f.write_str("it has ended"),
            Ineligible::Paused => f.write_str("it is paused"),
            Ineligible::Exhausted => f.write_str("it has no use left"),
            Ineligible::Currency => f.write_str("its amounts are in another currency"),
            Ineligible::MinimumSubtotal { minimum } => {
                write!(f, "the subtotal must reach {minimum}")
            }
            Ineligible::NoMatchingLines => f.write_str("no line of the cart is one it is for"),
            Ineligible::TooFewUnits { needed } => {
                write!(f, "it needs {needed} units of the lines it is for")
            }
            Ineligible::FirstOrderOnly => f.write_str("it is for a customer's first order only"),
            Ineligible::NotCombinable => {
                f.write_str("it cannot be combined with a promotion that applies")
            }
        }
    }
}
