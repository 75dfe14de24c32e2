//! The Kafka feed's figure: the publisher sending a whole log from zero, under a
//! topic prefix of its own, whose topics are deleted afterwards.

use std::sync::Arc;
use std::time::Duration;

use domain::AggregateKind;
use projections::kafka::{topic_of, KafkaPublisher, KafkaSettings};
use projections::runtime::Projector;
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::ClientConfig;
use sqlx::PgPool;

/// Events/s for publishing the `total` events of `pool`'s log, each acknowledged.
pub async fn publish_from_zero(pool: &PgPool, brokers: &str, total: i64) -> anyhow::Result<f64> {
    let settings = KafkaSettings {
        topic_prefix: format!("bench-{}", uuid::Uuid::new_v4().simple()),
        ..KafkaSettings::new(brokers)
    };
    let topics: Vec<String> = AggregateKind::ALL
        .iter()
        .map(|kind| topic_of(&settings.topic_prefix, *kind))
        .collect();
    let publisher = KafkaPublisher::new(settings, pool.clone())?;
    let rate = crate::rebuild(pool, total, Projector::SideEffect(Arc::new(publisher))).await?;

    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()?;
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    if let Err(error) = admin.delete_topics(&names, &options).await {
        eprintln!("could not delete the bench's topics {names:?}: {error}");
    }
    Ok(rate)
}
