//! The shopping cart (aggregate type `Cart`, id [`CartId`](crate::shared::CartId)):
//! what a customer or a guest means to buy, at the catalog prices they saw, until
//! it becomes an order.
//!
//! The command side looks up every outside fact and puts it in the command: the
//! catalog's name and price when an item is added (the cart keeps that snapshot),
//! current catalog prices for a refresh or a checkout, the other cart's lines for a
//! merge, the new order id, and the time.
//!
//! # Rules
//!
//! - One currency per cart, fixed when it is opened; an item, a merged line or a
//!   catalog price in another currency is refused (`currency_mismatch`).
//! - Lines are keyed by SKU: at most [`MAX_LINES`] (100) of them, at most
//!   [`MAX_LINE_QUANTITY`] (999) units each. Adding a SKU already in the cart adds
//!   to its quantity and takes the new snapshot (name, price): it is the price the
//!   storefront just showed, and a line has one price.
//! - Product names: 1 to 200 characters, not blank, no control characters. Unit
//!   prices are never negative (zero is a free item).
//! - Prices: `RefreshPrices` updates lines whose catalog price moved and flags them
//!   `price_changed` (no event when nothing moved). The flag is cleared when the
//!   customer adds to or changes that line, or checks out. Checkout is refused with
//!   `prices_changed` while any current price differs from a line's, and with
//!   `product_unavailable` for a SKU without a current price. The intended flow: a
//!   checkout refused with `prices_changed` makes the command side send
//!   `RefreshPrices`, the client shows the new prices, and the customer's next
//!   checkout passes. Flags never block a checkout; they are for display.
//! - Customers: a guest cart (no customer) can be attached to a customer once;
//!   attaching it to the same customer again changes nothing; to another, refused.
//! - Merging, when a guest with a cart signs in and already has one: the target
//!   receives `MergeCartLines` with the source's lines and a [`MergePolicy`], then
//!   the source receives `MarkCartMergedInto`. `merge` caps quantities at 999 and
//!   drops new SKUs beyond 100 lines, reporting both in `CartLinesMerged`. Both
//!   steps are safe to retry: a source already merged, or a cart already marked
//!   merged into the same target, records nothing.
//! - A cart checks out at most once, and nothing changes after checkout,
//!   abandonment or merging: refusals name that state (`cart_checked_out`,
//!   `cart_abandoned`, `cart_merged`).
//!
//! # States
//!
//! | from | command | to | event |
//! | --- | --- | --- | --- |
//! | (none) | `OpenCart` | open | `CartOpened` |
//! | open | `AddItem`, `ChangeItemQuantity`, `RemoveItem`, `AttachCartToCustomer`, `MergeCartLines`, `RefreshPrices` | open | `ItemAdded`, `ItemQuantityChanged`, `ItemRemoved`, `CartAttachedToCustomer`, `CartLinesMerged`, `PricesRefreshed` |
//! | open | `CheckOutCart` | checked_out | `CartCheckedOut` |
//! | open | `AbandonCart` | abandoned | `CartAbandoned` |
//! | open | `MarkCartMergedInto` | merged | `CartMergedInto` |
//! | checked_out, abandoned, merged | anything | (same) | none: refused (`OpenCart` with `already_exists`; `MarkCartMergedInto` to the same target again records nothing) |
//!
//! ```text
//!                   add item, change quantity, remove item,
//!                   attach, merge lines, refresh prices
//!                        ┌───────────┐
//!                        ▼           │
//! (none) ── open ──────► open ───────┘
//!                         ├── check out ─────────► checked_out
//!                         ├── abandon ───────────► abandoned
//!                         └── mark merged into ──► merged
//! ```

mod aggregate;
mod commands;
mod decide;
mod errors;
mod events;
mod lines;
mod merge;
mod pricing;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod pricing_tests;
#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;

pub use aggregate::{Cart, CartState, CartStatus};
pub use commands::CartCommand;
pub use errors::CartError;
pub use events::{CartEvent, PriceChange, EVENT_TYPES};
pub use lines::{CartLine, MAX_LINES, MAX_LINE_QUANTITY, MAX_NAME_CHARS};
pub use merge::{MergePolicy, QuantityCap};
pub use pricing::{CartDiscounts, PricingContext, MAX_COUPONS};
