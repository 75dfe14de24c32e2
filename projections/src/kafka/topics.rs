//! The topic of each aggregate type, and creating the missing ones at start.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::ClientConfig;

use super::KafkaSettings;
use crate::Error;

/// The aggregate types of the log (as stored in `events.aggregate_type`) and the
/// suffix of their topic.
pub const AGGREGATE_TOPICS: [(&str, &str); 5] = [
    ("Cart", "cart"),
    ("Order", "order"),
    ("Inventory", "inventory"),
    ("Payment", "payment"),
    ("Product", "product"),
];

/// `<prefix>.<suffix>` for a known aggregate type; `None` for any other, which the
/// publisher refuses rather than sending somewhere nobody reads.
pub fn topic_for(prefix: &str, aggregate_type: &str) -> Option<String> {
    AGGREGATE_TOPICS
        .iter()
        .find(|(known, _)| *known == aggregate_type)
        .map(|(_, suffix)| format!("{prefix}.{suffix}"))
}

/// Creates every topic of the feed that the cluster lacks; existing ones (whatever
/// their partition count) are kept.
pub(crate) async fn ensure_topics(settings: &KafkaSettings) -> Result<(), Error> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &settings.brokers)
        .create()
        .map_err(|e| Error::SinkUnavailable(format!("cannot create a Kafka admin client: {e}")))?;
    let names: Vec<String> = AGGREGATE_TOPICS
        .iter()
        .map(|(_, suffix)| format!("{}.{suffix}", settings.topic_prefix))
        .collect();
    let topics: Vec<NewTopic<'_>> = names
        .iter()
        .map(|name| {
            NewTopic::new(
                name,
                settings.partitions,
                TopicReplication::Fixed(settings.replication_factor),
            )
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let results = admin
        .create_topics(&topics, &options)
        .await
        .map_err(|e| Error::SinkUnavailable(format!("cannot create Kafka topics: {e}")))?;
    for result in results {
        match result {
            Ok(topic) => {
                tracing::info!(%topic, partitions = settings.partitions, "created Kafka topic")
            }
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(Error::SinkUnavailable(format!(
                    "cannot create Kafka topic {topic}: {code}"
                )))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_aggregate_type_has_its_own_topic_under_the_prefix() {
        assert_eq!(topic_for("shop", "Cart").as_deref(), Some("shop.cart"));
        assert_eq!(
            topic_for("shop", "Inventory").as_deref(),
            Some("shop.inventory")
        );
        assert_eq!(topic_for("shop", "Tally"), None);
    }
}
