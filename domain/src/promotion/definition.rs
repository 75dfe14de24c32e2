//! A promotion's definition and the limits it must keep.

use serde::{Deserialize, Serialize};

use super::PromotionError;
use crate::pricing::{Action, Conditions, CouponCode, Stacking, Window, MAX_BASIS_POINTS};
use crate::shared::Money;

pub const MAX_PROMOTION_NAME_CHARS: usize = 200;
/// At most this many SKUs, categories or brands in a filter.
pub const MAX_FILTER_ENTRIES: usize = 100;

/// Everything an admin states about a promotion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromotionDefinition {
    pub name: String,
    /// `None`: automatic.
    #[serde(default)]
    pub code: Option<CouponCode>,
    #[serde(default)]
    pub conditions: Conditions,
    pub action: Action,
    #[serde(default)]
    pub stacking: Stacking,
    #[serde(default)]
    pub window: Window,
    /// Uses in all; `None`: unlimited.
    #[serde(default)]
    pub usage_limit: Option<u32>,
    /// Uses per customer; `None`: unlimited. Guests are not counted.
    #[serde(default)]
    pub per_customer_limit: Option<u32>,
}

impl PromotionDefinition {
    /// Checks every limit; the first one broken is the refusal.
    pub fn validate(&self) -> Result<(), PromotionError> {
        let invalid = |reason: &str| {
            Err(PromotionError::Invalid {
                reason: reason.to_owned(),
            })
        };
        let name = self.name.chars().count();
        if self.name.trim().is_empty()
            || name > MAX_PROMOTION_NAME_CHARS
            || self.name.chars().any(char::is_control)
        {
            return invalid("name must be 1 to 200 characters, not blank, no control characters");
        }
        let percent = |bp: u32| (1..=MAX_BASIS_POINTS).contains(&bp);
        let positive = |amount: &Money| amount.amount() > 0;
        match &self.action {
            Action::PercentOffOrder { basis_points } | Action::PercentOffLines { basis_points } => {
                if !percent(*basis_points) {
                    return invalid("basis_points must be 1 to 10000");
                }
            }
            Action::FixedOffOrder { amount }
            | Action::FixedOffLines {
                amount_per_unit: amount,
            } => {
                if !positive(amount) {
                    return invalid("an amount off must be greater than zero");
                }
            }
            Action::FreeShipping => {}
            Action::BuyXGetY {
                buy,
                get,
                basis_points,
            } => {
                if *buy == 0 || *get == 0 || *buy > 100 || *get > 100 {
                    return invalid("buy and get must be 1 to 100");
                }
                if !percent(*basis_points) {
                    return invalid("basis_points must be 1 to 10000");
                }
            }
        }
        if let Some(minimum) = &self.conditions.minimum_subtotal {
            if minimum.is_negative() {
                return invalid("minimum_subtotal must not be negative");
            }
            if self
                .action
                .amount()
                .is_some_and(|amount| amount.currency() != minimum.currency())
            {
                return invalid("the amounts of a promotion must be in one currency");
            }
        }
        let filter = &self.conditions.lines;
        if filter.skus.len() > MAX_FILTER_ENTRIES
            || filter.categories.len() > MAX_FILTER_ENTRIES
            || filter.brands.len() > MAX_FILTER_ENTRIES
        {
            return invalid("a filter names at most 100 SKUs, categories and brands each");
        }
        let text_ok = |t: &String| !t.trim().is_empty() && t.chars().count() <= 100;
        if !filter.categories.iter().all(text_ok) || !filter.brands.iter().all(text_ok) {
            return invalid("categories and brands must be 1 to 100 characters and not blank");
        }
        if let (Some(starts), Some(ends)) = (self.window.starts_at, self.window.ends_at) {
            if ends <= starts {
                return invalid("ends_at must be after starts_at");
            }
        }
        if self.usage_limit == Some(0) || self.per_customer_limit == Some(0) {
            return invalid("a usage limit must be at least 1 (leave it out for no limit)");
        }
        Ok(())
    }
}
