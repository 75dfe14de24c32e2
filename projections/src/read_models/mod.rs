//! The PostgreSQL read models, one module each, with the projection that builds it
//! and the queries that read it.
//!
//! The document read models (`products`, `inventory`, `carts`, `orders`,
//! `payments`) share one mechanism, [`document::DocumentProjection`]: a view per
//! aggregate, folded in memory from a batch of events and written back in one
//! upsert. Their lists page with opaque keyset cursors ([`pagination`]).

pub mod carts;
pub mod document;
pub mod event_counts;
pub mod inventory;
pub mod orders;
pub mod pagination;
pub mod payments;
pub mod products;
pub mod view_types;

pub use pagination::Page;
