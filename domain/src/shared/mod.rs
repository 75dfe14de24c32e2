//! Value types every aggregate shares. Each validates at construction (and when
//! deserialized), so an invalid value cannot exist.

mod ids;
mod money;
mod quantity;
mod sku;

pub use ids::{CartId, CustomerId, OrderId, PaymentId, ProductId};
pub use money::{Currency, Money, MoneyError};
pub use quantity::{Quantity, QuantityError};
pub use sku::{Sku, SkuError};
