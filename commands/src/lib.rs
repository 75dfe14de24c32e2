//! The write side: commands become events through cqrs-es over the postgres-es
//! event store, each carrying who sent it, why, and as part of what.

pub mod event_store;
pub mod metadata;

pub use metadata::CommandMetadata;
