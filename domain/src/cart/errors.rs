//! Why a cart refuses a command. Each refusal has a stable `code` (the API answers
//! 422 with it) and a message written for the customer's client (the `detail`).

use super::PriceChange;
use crate::pricing::{CouponCode, Ineligible};
use crate::shared::{CartId, Currency, Money, OrderId, Sku};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CartError {
    #[error("the cart does not exist; open it first")]
    NotFound,
    #[error("the cart already exists")]
    AlreadyExists,
    #[error("the cart is checked out (order {order_id}); it cannot change any more")]
    CheckedOut { order_id: OrderId },
    #[error("the cart is abandoned; it cannot change any more")]
    Abandoned,
    #[error("the cart is merged into cart {target_cart_id}; it cannot change any more")]
    Merged { target_cart_id: CartId },
    #[error("the product name {reason}")]
    InvalidProductName { reason: &'static str },
    #[error("{sku} is priced in {price_currency} but the cart is in {cart_currency}; a cart holds one currency")]
    CurrencyMismatch {
        sku: Sku,
        cart_currency: Currency,
        price_currency: Currency,
    },
    #[error("{sku} has a negative unit price ({unit_price})")]
    NegativeUnitPrice { sku: Sku, unit_price: Money },
    #[error("a cart holds at most {max} different products")]
    TooManyLines { max: usize },
    #[error("a cart holds at most {max} of {sku}; {requested} requested")]
    QuantityLimitExceeded { sku: Sku, requested: u32, max: u32 },
    #[error("{sku} is not in the cart")]
    LineNotFound { sku: Sku },
    #[error("the cart belongs to another customer")]
    AttachedToAnotherCustomer,
    #[error("a cart cannot be merged into itself")]
    CannotMergeIntoItself,
    #[error("an empty cart cannot be checked out")]
    EmptyCart,
    #[error("no longer available: {}; take these out of the cart to check out", list_skus(.skus))]
    ProductUnavailable { skus: Vec<Sku> },
    #[error("prices changed since they were added to the cart: {}; confirm the new prices and check out again", list_changes(.changes))]
    PricesChanged { changes: Vec<PriceChange> },
    #[error("the cart's total would be larger than any amount the system can hold")]
    AmountOutOfRange,
    #[error("the cart's discounts changed since they were shown (from {before} off to {after} off): a promotion changed or ended; confirm the new total and check out again")]
    DiscountsChanged { before: Money, after: Money },
    #[error("no promotion has the coupon code {code}")]
    CouponUnknown { code: CouponCode },
    #[error("the coupon {code} has expired")]
    CouponExpired { code: CouponCode },
    #[error("the coupon {code} has no use left")]
    CouponExhausted { code: CouponCode },
    #[error("the coupon {code} does not apply to this cart: {reason}")]
    CouponNotApplicable {
        code: CouponCode,
        reason: Ineligible,
    },
    #[error("the coupon {code} is not on the cart")]
    CouponNotOnCart { code: CouponCode },
    #[error("a cart holds at most {max} coupons")]
    TooManyCoupons { max: usize },
    #[error("{reason}")]
    ShippingUnavailable { reason: String },
}

impl CartError {
    /// The stable, machine-readable reason, sent to API clients as `code`.
    pub fn code(&self) -> &'static str {
        match self {
            CartError::NotFound => "not_found",
            CartError::AlreadyExists => "already_exists",
            CartError::CheckedOut { .. } => "cart_checked_out",
            CartError::Abandoned => "cart_abandoned",
            CartError::Merged { .. } => "cart_merged",
            CartError::InvalidProductName { .. } => "invalid_product_name",
            CartError::CurrencyMismatch { .. } => "currency_mismatch",
            CartError::NegativeUnitPrice { .. } => "invalid_unit_price",
            CartError::TooManyLines { .. } => "too_many_lines",
            CartError::QuantityLimitExceeded { .. } => "quantity_limit_exceeded",
            CartError::LineNotFound { .. } => "line_not_found",
            CartError::AttachedToAnotherCustomer => "attached_to_another_customer",
            CartError::CannotMergeIntoItself => "cannot_merge_into_itself",
            CartError::EmptyCart => "empty_cart",
            CartError::ProductUnavailable { .. } => "product_unavailable",
            CartError::PricesChanged { .. } => "prices_changed",
            CartError::AmountOutOfRange => "amount_out_of_range",
            CartError::DiscountsChanged { .. } => "prices_changed",
            CartError::CouponUnknown { .. } => "coupon_unknown",
            CartError::CouponExpired { .. } => "coupon_expired",
            CartError::CouponExhausted { .. } => "coupon_exhausted",
            CartError::CouponNotApplicable { .. } => "coupon_not_applicable",
            CartError::CouponNotOnCart { .. } => "coupon_not_on_cart",
            CartError::TooManyCoupons { .. } => "too_many_coupons",
            CartError::ShippingUnavailable { .. } => "shipping_method_unavailable",
        }
    }
}

fn list_skus(skus: &[Sku]) -> String {
    skus.iter().map(Sku::as_str).collect::<Vec<_>>().join(", ")
}

fn list_changes(changes: &[PriceChange]) -> String {
    changes
        .iter()
        .map(|c| format!("{} from {} to {}", c.sku, c.old_price, c.new_price))
        .collect::<Vec<_>>()
        .join(", ")
}
