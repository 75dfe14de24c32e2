//! Value types every aggregate shares. Each validates at construction (and when
//! deserialized), so an invalid value cannot exist.

mod contact;
pub(crate) mod ids;
mod line_item;
mod money;
mod payment_token;
mod quantity;
mod sku;

pub use contact::{
    is_country_code, ContactError, Email, PersonName, PostalAddress, PostalAddressFields,
};
pub use ids::{CartId, CustomerId, OrderId, PaymentId, ProductId};
pub use line_item::LineItem;
pub use money::{Currency, Money, MoneyError};
pub use payment_token::{PaymentMethodToken, PaymentTokenError};
pub use quantity::{Quantity, QuantityError};
pub use sku::{Sku, SkuError};
