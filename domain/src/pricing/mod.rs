//! The pricing engine: what a cart costs, explained line by line. Pure and
//! deterministic, so a cart's and an order's totals can be recomputed from the
//! facts their events carry and always come out the same.
//!
//! # The order of the calculation
//!
//! 1. **Lines**: unit price × quantity, the *gross* of each line; their sum is the
//!    subtotal.
//! 2. **Promotions**, in stacking order: ascending `priority`, then promotion id.
//!    Each applies to what the ones before it left of each line (its *net*), and
//!    never takes a line below zero. An `exclusive` promotion applies only when
//!    nothing applied before it, and nothing applies after it.
//! 3. **Shipping**: the chosen method's price; free above its threshold (compared
//!    with the subtotal after discounts) or when a free-shipping promotion applied.
//! 4. **Tax**, per line after discounts, at the rate of the destination (region,
//!    then country) for the line's tax category; shipping at the `standard` rate.
//!    With tax-inclusive prices the tax is the part of the net that is tax; with
//!    tax-exclusive prices it is added on top.
//!
//! # Rounding
//!
//! Money stays integer minor units. Every percentage is in basis points (1/100 of
//! a percent) and rounds half up to the minor unit, once, where it is computed:
//! per line for line discounts and tax, on the order's net for order discounts.
//! An order discount is then split over the lines in proportion to their net by
//! the largest-remainder method, so the parts add up to it exactly and no line
//! takes more than its net (see [`split`]).

mod engine;
mod rules;
mod shipping;
mod split;
mod tax;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use engine::{
    line_discounts, price, AppliedDiscount, CustomerFacts, Delivery, NotApplied, PricedCart,
    PricedLine, PricingError, PricingLine, PricingRequest, ShippingCharge, TaxSummary,
};
pub use rules::{
    Action, Conditions, CouponCode, CouponCodeError, Ineligible, LineFilter, ProductFacts,
    PromotionId, PromotionOffer, PromotionStatus, Stacking, Window, MAX_BASIS_POINTS,
};
pub use shipping::{ShippingMethodId, ShippingOffer};
pub use split::{percent_of, split};
pub use tax::{TaxCategory, TaxCategoryError, TaxRate, TaxTable};
