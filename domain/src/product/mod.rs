//! The Product aggregate: one entry of the catalog, identified by a [`ProductId`]
//! and sold under one [`Sku`]. It holds what a shopper sees (name, description,
//! category, brand, free-form attributes), its price, and whether it may be sold.
//!
//! Rules:
//! - Details are validated on every write: name 1..=200 characters, description at
//!   most 10 000, category and brand 1..=100, at most 50 attributes with names of
//!   1..=64 and values of at most 500 characters. Lengths count characters, not
//!   bytes, and a name, category, brand or attribute name of only spaces counts as
//!   empty.
//! - A price is greater than zero, and a product has one currency for life: a price
//!   change into another currency is refused (`currency_change_not_allowed`),
//!   because carts, orders and read models compare its prices with each other.
//! - `UpdateProductDetails` replaces all details at once (every field required),
//!   so the event records the complete new details and no reader has to merge.
//! - A command whose outcome already holds (publishing a published product,
//!   unpublishing one that is not published, discontinuing a discontinued one,
//!   setting the same price or the same details) is accepted and records nothing:
//!   a retried admin request succeeds without noise in the log.
//! - Discontinued is final: every command but a repeated `DiscontinueProduct` is
//!   refused with `product_discontinued`.
//! - Only a published product is purchasable ([`Product::is_purchasable`]).
//!
//! States (`ProductStatus`) and the commands that move between them:
//!
//! | from \ command | PublishProduct | UnpublishProduct | DiscontinueProduct | details / price |
//! | --- | --- | --- | --- | --- |
//! | (none) | `not_found` | `not_found` | `not_found` | `not_found` |
//! | Draft | → Published | no-op | → Discontinued | allowed |
//! | Published | no-op | → Unpublished | → Discontinued | allowed |
//! | Unpublished | → Published | no-op | → Discontinued | allowed |
//! | Discontinued | `product_discontinued` | `product_discontinued` | no-op | `product_discontinued` |
//!
//! `CreateProduct` makes a Draft; sent again it is refused with `already_exists`.
//!
//! [`ProductId`]: crate::shared::ProductId
//! [`Sku`]: crate::shared::Sku

mod aggregate;
mod commands;
mod details;
mod errors;
mod events;
#[cfg(test)]
mod tests;

pub use aggregate::{Product, ProductStatus};
pub use commands::ProductCommand;
pub use details::ProductDetails;
pub use errors::ProductError;
pub use events::{ProductEvent, EVENT_TYPES};

#[cfg(test)]
pub(crate) use events::samples as event_samples;
