//! The query side: the gap-free reader of the event log, the projector runtime that
//! drives every sink from it, and the read models those sinks build.
//!
//! - [`log`]: reading the global log in a order that never skips an event, waking
//!   tailing readers, and checking the hash chain.
//! - [`runtime`]: named projectors with checkpoints, one active instance per name,
//!   rebuilds, lag, and stop-or-park on failure.
//! - [`read_models`]: the PostgreSQL read models and their projections.
//! - [`kafka`]: the feed that publishes every event to Kafka for systems downstream.

pub mod error;
pub mod kafka;
pub mod log;
pub mod read_models;
pub mod runtime;

pub use error::Error;
