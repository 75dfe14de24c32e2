//! How the Kafka publisher reaches its broker and names its topics.

use std::time::Duration;

/// Everything the publisher needs to know; the API fills it from the command line
/// and the environment (`KAFKA_BROKERS`, `KAFKA_TOPIC_PREFIX`, ...).
#[derive(Debug, Clone)]
pub struct KafkaSettings {
    /// `host:port[,host:port...]` of the bootstrap brokers.
    pub brokers: String,
    /// Topics are `<prefix>.cart`, `<prefix>.order`, ...: several deployments (or
    /// tests) can share a cluster.
    pub topic_prefix: String,
    /// Partitions of each topic created at start; existing topics are left as they
    /// are (a key's partition would move if they were changed).
    pub partitions: i32,
    /// Replicas of each topic created at start.
    pub replication_factor: i32,
    /// How long the producer keeps retrying one message before the batch fails (and
    /// the runtime retries it with backoff).
    pub message_timeout: Duration,
    /// The projector's name: its checkpoint row. Two feeds with different prefixes
    /// from one database need different names.
    pub projector_name: String,
}

impl KafkaSettings {
    /// The defaults for `brokers`: prefix `commerce`, 6 partitions, one replica,
    /// projector `kafka`.
    pub fn new(brokers: impl Into<String>) -> Self {
        KafkaSettings {
            brokers: brokers.into(),
            topic_prefix: "commerce".into(),
            partitions: 6,
            replication_factor: 1,
            message_timeout: Duration::from_secs(30),
            projector_name: "kafka".into(),
        }
    }
}
