//! The query side: the projector runtime that drives every sink from the event log
//! (read through [`eventlog`]), and the read models those sinks build.
//!
//! - [`runtime`]: named projectors with checkpoints, one active instance per name,
//!   rebuilds, lag, and stop-or-park on failure.
//! - [`read_models`]: the PostgreSQL read models and their projections.
//! - [`search`]: the tantivy product search, its indexer and its queries.
//! - [`redis_views`]: the hot views in Redis (carts, stock) and their reader.
//! - [`kafka`]: the feed that publishes every event to Kafka for systems downstream.

pub mod error;
pub mod kafka;
pub mod read_models;
pub mod redis_views;
pub mod runtime;
pub mod search;

pub use error::Error;
