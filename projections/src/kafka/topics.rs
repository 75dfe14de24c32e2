//! The topic of each aggregate type, and creating the missing ones at start.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::ClientConfig;

use domain::AggregateKind;

use super::KafkaSettings;
use crate::Error;

/// `<prefix>.<name>` for a known aggregate type (see [`domain::AggregateKind`]);
/// `None` for any other, which the publisher refuses rather than sending somewhere
/// nobody reads.
pub fn topic_for(prefix: &str, aggregate_type: &str) -> Option<String> {
    AggregateKind::from_type_name(aggregate_type).map(|kind| topic_of(prefix, kind))
}

/// The topic of `kind`'s events.
pub fn topic_of(prefix: &str, kind: AggregateKind) -> String {
    format!("{prefix}.{}", kind.name())
}

/// Creates every topic of the feed that the cluster lacks; existing ones (whatever
/// their partition count) are kept.
pub(crate) async fn ensure_topics(settings: &KafkaSettings) -> Result<(), Error> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &settings.brokers)
        .create()
        .map_err(|source| Error::Kafka {
            context: "cannot create a Kafka admin client".into(),
            transient: true,
            source,
        })?;
    let names: Vec<String> = AggregateKind::ALL
        .iter()
        .map(|kind| topic_of(&settings.topic_prefix, *kind))
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
        .map_err(|source| Error::Kafka {
            context: "cannot create Kafka topics".into(),
            transient: true,
            source,
        })?;
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

    #[test]
    fn every_declared_kind_has_a_topic_of_its_own() {
        let topics: std::collections::BTreeSet<String> = AggregateKind::ALL
            .iter()
            .map(|kind| topic_for("shop", kind.type_name()).unwrap_or_default())
            .collect();
        assert_eq!(topics.len(), AggregateKind::ALL.len());
        assert!(topics.iter().all(|t| t.starts_with("shop.") && t.len() > 5));
    }
}
