//! The publisher projector: sends each batch, waits for every acknowledgement, and
//! only then lets the runtime move the checkpoint.

use std::time::Duration;

use async_trait::async_trait;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use sqlx::PgPool;
use tokio::sync::OnceCell;

use super::stream_order::{late_events, send_order};
use super::topics::ensure_topics;
use super::{KafkaSettings, OutgoingMessage};
use crate::log::RecordedEvent;
use crate::runtime::SideEffectSink;
use crate::Error;

/// How long to wait for room in the producer's queue before trying again.
const QUEUE_FULL_PAUSE: Duration = Duration::from_millis(10);

/// Publishes the log to Kafka; a [`SideEffectSink`] of the projector runtime.
pub struct KafkaPublisher {
    settings: KafkaSettings,
    producer: FutureProducer,
    /// Reads the events a batch's streams still miss (see `stream_order`).
    pool: PgPool,
    /// Set once the topics exist: created on the first delivery, so a broker that
    /// is down at start delays the feed (retried with backoff) instead of the API.
    topics_ready: OnceCell<()>,
}

impl KafkaPublisher {
    /// A publisher for `settings`; nothing is sent to the broker until the first
    /// batch. Fails only on settings librdkafka refuses.
    pub fn new(settings: KafkaSettings, pool: PgPool) -> Result<Self, Error> {
        let producer = ClientConfig::new()
            .set("bootstrap.servers", &settings.brokers)
            // No duplicates from the producer's own retries, and per-partition order
            // kept across them; acknowledged only once every in-sync replica has it.
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set(
                "message.timeout.ms",
                settings.message_timeout.as_millis().to_string(),
            )
            // The partitioner of the Java client: every producer of these keys, in
            // any language, picks the same partition for an aggregate.
            .set("partitioner", "murmur2_random")
            .set("linger.ms", "5")
            .create()
            .map_err(|e| Error::Rejected(format!("invalid Kafka producer settings: {e}")))?;
        Ok(KafkaPublisher {
            settings,
            producer,
            pool,
            topics_ready: OnceCell::new(),
        })
    }

    pub fn settings(&self) -> &KafkaSettings {
        &self.settings
    }

    /// Enqueues every message in order, then waits for all acknowledgements. A
    /// message's failure fails the batch: the runtime retries it, or isolates the
    /// event at fault.
    async fn send_all(&self, messages: &[OutgoingMessage]) -> Result<(), Error> {
        let mut acknowledgements = Vec::with_capacity(messages.len());
        for message in messages {
            let mut record = FutureRecord::to(&message.topic)
                .key(&message.key)
                .payload(&message.value)
                .headers(message.kafka_headers());
            // Strictly one after the other: a message retried later than the next
            // one was queued would break the order of its key.
            loop {
                match self.producer.send_result(record) {
                    Ok(acknowledgement) => {
                        acknowledgements.push(acknowledgement);
                        break;
                    }
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        record = back;
                        tokio::time::sleep(QUEUE_FULL_PAUSE).await;
                    }
                    Err((error, _)) => return Err(delivery_error(&message.topic, error)),
                }
            }
        }
        for (acknowledgement, message) in acknowledgements.into_iter().zip(messages) {
            match acknowledgement.await {
                Ok(Ok(_)) => {}
                Ok(Err((error, _))) => return Err(delivery_error(&message.topic, error)),
                Err(_) => {
                    return Err(Error::SinkUnavailable(
                        "the Kafka producer dropped a message before its acknowledgement".into(),
                    ))
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl SideEffectSink for KafkaPublisher {
    fn name(&self) -> &str {
        &self.settings.projector_name
    }

    async fn deliver(&self, events: &[RecordedEvent]) -> Result<(), Error> {
        if events.is_empty() {
            return Ok(());
        }
        self.topics_ready
            .get_or_try_init(|| ensure_topics(&self.settings))
            .await?;
        let late = late_events(&self.pool, events).await?;
        let messages = send_order(events, &late)
            .into_iter()
            .map(|event| OutgoingMessage::for_event(&self.settings.topic_prefix, event))
            .collect::<Result<Vec<_>, _>>()?;
        self.send_all(&messages).await
    }

    /// Nothing to forget: published messages stay in their topics. A rebuild sends
    /// the whole log again, and consumers drop what they have by `event_id`.
    async fn reset(&self) -> Result<(), Error> {
        Ok(())
    }
}

/// A message the broker will never take (too large, say) is the event's fault and
/// stops the feed at it; anything else (broker away, timeouts) is retried.
fn delivery_error(topic: &str, error: KafkaError) -> Error {
    match error.rdkafka_error_code() {
        Some(
            RDKafkaErrorCode::MessageSizeTooLarge
            | RDKafkaErrorCode::InvalidMessageSize
            | RDKafkaErrorCode::InvalidMessage,
        ) => Error::Rejected(format!("Kafka refused a message for {topic}: {error}")),
        _ => Error::SinkUnavailable(format!("Kafka delivery to {topic} failed: {error}")),
    }
}
