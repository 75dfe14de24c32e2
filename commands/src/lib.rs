//! The write side: commands become events, each carrying who sent it, why, and as
//! part of what. [`store`] and [`execute`] are the path every API command takes;
//! [`event_store`] builds cqrs-es frameworks over the same table for other callers.

pub mod accounts;
pub mod cart_workflows;
pub mod catalog;
pub mod checkout;
pub mod delivery;
pub mod error;
pub mod event_store;
pub mod execute;
pub mod metadata;
pub mod payment_gateway;
pub mod promotions;
pub mod store;
pub mod stores;
pub mod webhooks;

pub use error::{CommandError, StoreError};
pub use execute::{execute, CommandOptions, Executed};
pub use metadata::CommandMetadata;
pub use store::{AggregateStore, AppendHook, Loaded, StoreOptions};
pub use stores::Stores;
