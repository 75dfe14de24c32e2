//! Shipping methods (aggregate type `ShippingMethod`, id [`ShippingMethodId`]): how
//! a shop ships, to where and for how much. The pricing engine reads a method as a
//! [`ShippingOffer`]; the checkout names one, and its charge is frozen into the
//! order, so a method changed or retired later never changes an order.
//!
//! Event-sourced rather than a settings table because a charge must be explainable:
//! who set which price when is in the log, verified by its hash chain, replayed,
//! exported and published like every other fact.
//!
//! # Rules
//!
//! - A definition: a name (1 to 100 characters, no control characters), a price
//!   (zero or more), an optional threshold above which it is free (positive, in the
//!   price's currency), and the countries it ships to (1 to 250 ISO 3166-1 alpha-2
//!   codes).
//! - A method is defined once, may be changed while it is offered, and is retired
//!   for good; a retired method is offered to no checkout.
//! - A change that changes nothing records nothing.
//!
//! | from | command | to | event |
//! | --- | --- | --- | --- |
//! | (none) | `DefineShippingMethod` | offered | `ShippingMethodDefined` |
//! | offered | `ChangeShippingMethod` | offered | `ShippingMethodChanged` |
//! | offered | `RetireShippingMethod` | retired | `ShippingMethodRetired` |

mod aggregate;
mod commands;
mod definition;
mod errors;
mod events;

#[cfg(test)]
mod tests;

pub use crate::pricing::{ShippingMethodId, ShippingOffer};
pub use aggregate::{ShippingMethod, ShippingMethodState};
pub use commands::ShippingMethodCommand;
pub use definition::{ShippingMethodDefinition, MAX_COUNTRIES, MAX_SHIPPING_METHOD_NAME_CHARS};
pub use errors::ShippingMethodError;
pub use events::{ShippingMethodEvent, EVENT_TYPES};
