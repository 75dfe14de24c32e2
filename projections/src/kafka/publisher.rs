//! The publisher projector: sends each batch, waits for every acknowledgement, and
//! only then lets the runtime move the checkpoint.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::ClientConfig;
use sqlx::PgPool;

use super::stream_order::{late_events, send_order};
use super::topics::ensure_topics;
use super::{KafkaSettings, OutgoingMessage};
use crate::runtime::SideEffectSink;
use crate::Error;
use eventlog::RecordedEvent;

/// How long to wait for room in the producer's queue before trying again.
const QUEUE_FULL_PAUSE: Duration = Duration::from_millis(10);

/// Publishes the log to Kafka; a [`SideEffectSink`] of the projector runtime.
pub struct KafkaPublisher {
    settings: KafkaSettings,
    /// Replaced after a failed batch (see [`Self::replace_producer`]).
    producer: Mutex<FutureProducer>,
    /// Reads the events a batch's streams still miss (see `stream_order`).
    pool: PgPool,
    /// Whether the topics are known to exist: checked on the first delivery (a
    /// broker down at start delays the feed, retried with backoff, not the API),
    /// and again after any failure (a broker restarted empty has none).
    topics_ready: AtomicBool,
}

impl KafkaPublisher {
    /// A publisher for `settings`; nothing is sent to the broker until the first
    /// batch. Fails only on settings librdkafka refuses.
    pub fn new(settings: KafkaSettings, pool: PgPool) -> Result<Self, Error> {
        let producer = Mutex::new(producer(&settings)?);
        Ok(KafkaPublisher {
            settings,
            producer,
            pool,
            topics_ready: AtomicBool::new(false),
        })
    }

    pub fn settings(&self) -> &KafkaSettings {
        &self.settings
    }

    /// The producer to send with (a cheap handle to the shared one).
    fn producer(&self) -> Result<FutureProducer, Error> {
        self.producer
            .lock()
            .map(|producer| producer.clone())
            .map_err(|_| Error::SinkUnavailable("the Kafka producer's lock is poisoned".into()))
    }

    /// After a failed batch the producer is replaced, so that the runtime's retry
    /// starts afresh: an idempotent producer whose broker restarted empty (or
    /// that failed fatally) can otherwise time out every message from then on.
    /// Messages the old one still had in flight may then arrive twice.
    fn replace_producer(&self, failed: &FutureProducer) -> Result<(), Error> {
        let fatal = failed.client().fatal_error();
        tracing::warn!(
            projector = self.name(),
            ?fatal,
            "a Kafka batch failed; starting a new producer"
        );
        let fresh = self::producer(&self.settings)?;
        if let Ok(mut current) = self.producer.lock() {
            *current = fresh;
        }
        Ok(())
    }

    /// Enqueues every message in order, then waits for all acknowledgements. A
    /// message's failure fails the batch: the runtime retries it, or isolates the
    /// event at fault.
    async fn send_all(
        &self,
        producer: &FutureProducer,
        messages: &[OutgoingMessage],
    ) -> Result<(), Error> {
        let mut acknowledgements = Vec::with_capacity(messages.len());
        for message in messages {
            let mut record = FutureRecord::to(&message.topic)
                .key(&message.key)
                .payload(&message.value)
                .headers(message.kafka_headers());
            // Strictly one after the other: a message retried later than the next
            // one was queued would break the order of its key.
            loop {
                match producer.send_result(record) {
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

/// An idempotent producer for `settings`; fails only on settings librdkafka refuses.
fn producer(settings: &KafkaSettings) -> Result<FutureProducer, Error> {
    ClientConfig::new()
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
        .map_err(|source| Error::Kafka {
            context: "invalid Kafka producer settings".into(),
            transient: false,
            source,
        })
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
        if !self.topics_ready.load(Ordering::Acquire) {
            ensure_topics(&self.settings).await?;
            self.topics_ready.store(true, Ordering::Release);
        }
        let late = late_events(&self.pool, events).await?;
        let messages = send_order(events, &late)
            .into_iter()
            .map(|event| OutgoingMessage::for_event(&self.settings.topic_prefix, event))
            .collect::<Result<Vec<_>, _>>()?;
        let producer = self.producer()?;
        let sent = self.send_all(&producer, &messages).await;
        if sent.is_err() {
            self.topics_ready.store(false, Ordering::Release);
            self.replace_producer(&producer)?;
        }
        sent
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
        ) => Error::Kafka {
            context: format!("Kafka refused a message for {topic}"),
            transient: false,
            source: error,
        },
        _ => Error::Kafka {
            context: format!("Kafka delivery to {topic} failed"),
            transient: true,
            source: error,
        },
    }
}
