//! Why a product command is refused. Each message reaches API clients as `detail`;
//! each `code` is stable and answered with HTTP 422.

use crate::shared::{Currency, Money, ProductId};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProductError {
    #[error("this product does not exist; create it first")]
    NotFound,
    #[error("product {product_id} already exists")]
    AlreadyExists { product_id: ProductId },
    #[error("a product name must be 1 to 200 characters and not blank; this one has {length}")]
    InvalidName { length: usize },
    #[error("a description may have at most 10000 characters; this one has {length}")]
    DescriptionTooLong { length: usize },
    #[error("a category must be 1 to 100 characters and not blank; this one has {length}")]
    InvalidCategory { length: usize },
    #[error("a brand must be 1 to 100 characters and not blank; this one has {length}")]
    InvalidBrand { length: usize },
    #[error("a product may have at most 50 attributes; this one has {count}")]
    TooManyAttributes { count: usize },
    #[error("attribute name {name:?} is invalid: names must be 1 to 64 characters and not blank")]
    InvalidAttributeName { name: String },
    #[error("attribute {name:?} has a value of {length} characters; at most 500 are allowed")]
    AttributeValueTooLong { name: String, length: usize },
    #[error("a price must be greater than zero; got {price}")]
    PriceNotPositive { price: Money },
    #[error(
        "the product is priced in {current} and cannot change to {requested}; \
         a product keeps one currency for life"
    )]
    CurrencyChangeNotAllowed {
        current: Currency,
        requested: Currency,
    },
    #[error("the product is discontinued, which is final: it can no longer be {action}")]
    Discontinued { action: &'static str },
}

impl ProductError {
    /// The stable, machine-readable reason, sent to clients as `code`.
    pub fn code(&self) -> &'static str {
        match self {
            ProductError::NotFound => "not_found",
            ProductError::AlreadyExists { .. } => "already_exists",
            ProductError::InvalidName { .. } => "invalid_name",
            ProductError::DescriptionTooLong { .. } => "description_too_long",
            ProductError::InvalidCategory { .. } => "invalid_category",
            ProductError::InvalidBrand { .. } => "invalid_brand",
            ProductError::TooManyAttributes { .. } => "too_many_attributes",
            ProductError::InvalidAttributeName { .. } => "invalid_attribute_name",
            ProductError::AttributeValueTooLong { .. } => "attribute_value_too_long",
            ProductError::PriceNotPositive { .. } => "price_not_positive",
            ProductError::CurrencyChangeNotAllowed { .. } => "currency_change_not_allowed",
            ProductError::Discontinued { .. } => "product_discontinued",
        }
    }
}
