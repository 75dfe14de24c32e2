//! The Kafka feed: a side-effect projector that publishes every event of the log
//! to a topic per aggregate type, for systems downstream (see `docs/kafka.md`).
//!
//! What must stay true:
//! - The checkpoint moves only after every message of a batch is acknowledged by
//!   the broker (`acks=all`, idempotent producer): nothing is lost, duplicates are
//!   possible after a crash or a rebuild, and every message carries its `event_id`
//!   so that consumers can drop them.
//! - Within one aggregate (one key, hence one partition) messages go out in
//!   `sequence` order, even when the log reader delivers a stream out of order.

mod message;
mod publisher;
mod settings;
mod stream_order;
mod topics;

pub use message::{header_names, OutgoingMessage};
pub use publisher::KafkaPublisher;
pub use settings::KafkaSettings;
pub use topics::{topic_for, topic_of};
