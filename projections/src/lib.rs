//! The query side: the gap-free reader of the event log, the projector runtime that
//! drives every sink from it, and the read models those sinks build.
//!
//! - [`log`]: reading the global log in a order that never skips an event, waking
//!   tailing readers, and checking the hash chain.
//! - [`runtime`]: named projectors with checkpoints, one active instance per name,
//!   rebuilds, lag, and stop-or-park on failure.
//! - [`read_models`]: the PostgreSQL read models and their projections.
//! - [`search`]: the tantivy product search, its indexer and its queries.
//! - [`redis_views`]: the hot views in Redis (carts, stock) and their reader.
//! - [`kafka`]: the feed that publishes every event to Kafka for systems downstream.

pub mod error;
pub mod kafka;
pub mod log;
pub mod read_models;
pub mod redis_views;
pub mod runtime;
pub mod search;

pub use error::Error;
