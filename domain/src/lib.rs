//! The business rules of the commerce backend, and nothing else: the Cart, Order,
//! Inventory, Payment and Product aggregates, their commands, events and refusals,
//! and the value types they share (Money, Sku, Quantity, ids).
//!
//! Pure by design: no I/O, no SQL, no async runtime, no clock and no random ids
//! inside. Time and new ids arrive in commands, so every rule can be tested with
//! given/when/then and no database.

pub mod cart;
pub mod inventory;
pub mod order;
pub mod payment;
pub mod product;
pub mod shared;
pub mod upcasting;
