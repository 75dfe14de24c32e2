//! The business rules of the commerce backend, and nothing else: the Cart, Order,
//! Inventory, Payment, Product, Promotion, ShippingMethod and TaxRates aggregates, the pricing engine, their commands, events and refusals,
//! and the value types they share (Money, Sku, Quantity, ids).
//!
//! Pure by design: no I/O, no SQL, no async runtime, no clock and no random ids
//! inside. Time and new ids arrive in commands, so every rule can be tested with
//! given/when/then and no database.

pub mod cart;
pub mod customer;
pub mod inventory;
pub mod order;
pub mod payment;
pub mod personal;
pub mod pricing;
pub mod product;
pub mod promotion;
pub mod registry;
pub mod shared;
pub mod shipping_method;
pub mod tax_rates;
pub mod upcasting;

pub use registry::{
    AggregateKind, Family, ForEachAggregate, Make, PerAggregate, RegisteredAggregate,
};

/// A business refusal: every aggregate's error, with the stable code the API
/// answers it with (HTTP 422, `code` in the problem body).
pub trait Refusal: std::error::Error {
    fn code(&self) -> &'static str;
}

macro_rules! refusal {
    ($($error:path),*) => {
        $(impl Refusal for $error {
            fn code(&self) -> &'static str {
                <$error>::code(self)
            }
        })*
    };
}

refusal!(
    cart::CartError,
    customer::CustomerError,
    inventory::InventoryError,
    order::OrderError,
    payment::PaymentError,
    product::ProductError,
    promotion::PromotionError,
    shipping_method::ShippingMethodError,
    tax_rates::TaxRatesError
);
