//! One event as a Kafka message: topic, key, value and headers. Pure, so that what
//! consumers receive is checked without a broker.

use std::collections::HashMap;

use rdkafka::message::{Header, OwnedHeaders};

use super::topic_for;
use crate::Error;
use eventlog::RecordedEvent;

/// The header names, as consumers read them (`docs/kafka.md`).
pub mod header_names {
    pub const EVENT_ID: &str = "event_id";
    pub const EVENT_TYPE: &str = "event_type";
    pub const EVENT_VERSION: &str = "event_version";
    pub const AGGREGATE_TYPE: &str = "aggregate_type";
    pub const AGGREGATE_ID: &str = "aggregate_id";
    pub const SEQUENCE: &str = "sequence";
    pub const GLOBAL_POSITION: &str = "global_position";
    pub const CORRELATION_ID: &str = "correlation_id";
    pub const CAUSATION_ID: &str = "causation_id";
    pub const RECORDED_AT: &str = "recorded_at";
}

/// What is sent for one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    pub topic: String,
    /// The aggregate id: one stream, one partition, so its order holds.
    pub key: String,
    /// The event's payload as the log stores (and hashes) it, except that its
    /// personal fields are opened (or erased) as for every reader of the log:
    /// consumers forget a customer on their `CustomerErased`.
    pub value: String,
    /// Header name and UTF-8 value; `correlation_id` and `causation_id` only when
    /// the event's metadata has them.
    pub headers: Vec<(&'static str, String)>,
}

impl OutgoingMessage {
    /// The message for `event`; an aggregate type without a topic is refused.
    pub fn for_event(topic_prefix: &str, event: &RecordedEvent) -> Result<Self, Error> {
        let topic = topic_for(topic_prefix, &event.aggregate_type).ok_or_else(|| {
            Error::Rejected(format!(
                "no Kafka topic for aggregate type {} (event {} at position {})",
                event.aggregate_type, event.event_id, event.global_position
            ))
        })?;
        use header_names::*;
        let mut headers = vec![
            (EVENT_ID, event.event_id.to_string()),
            (EVENT_TYPE, event.event_type.clone()),
            (EVENT_VERSION, event.event_version.clone()),
            (AGGREGATE_TYPE, event.aggregate_type.clone()),
            (AGGREGATE_ID, event.aggregate_id.clone()),
            (SEQUENCE, event.sequence.to_string()),
            (GLOBAL_POSITION, event.global_position.to_string()),
        ];
        // Metadata is a JSON object of strings (cqrs-es's map); anything else simply
        // yields no correlation headers rather than holding the feed back.
        let metadata: HashMap<String, serde_json::Value> =
            serde_json::from_str(&event.metadata).unwrap_or_default();
        for name in [CORRELATION_ID, CAUSATION_ID] {
            if let Some(value) = metadata.get(name).and_then(serde_json::Value::as_str) {
                headers.push((name, value.to_owned()));
            }
        }
        headers.push((
            RECORDED_AT,
            event
                .recorded_at
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        ));
        Ok(OutgoingMessage {
            topic,
            key: event.aggregate_id.clone(),
            value: event.payload.clone(),
            headers,
        })
    }

    pub(crate) fn kafka_headers(&self) -> OwnedHeaders {
        self.headers.iter().fold(
            OwnedHeaders::new_with_capacity(self.headers.len()),
            |headers, (key, value)| {
                headers.insert(Header {
                    key,
                    value: Some(value.as_bytes()),
                })
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use uuid::Uuid;

    use super::*;
    use eventlog::TransactionId;

    fn event(metadata: &str) -> RecordedEvent {
        RecordedEvent {
            global_position: 42,
            transaction_id: TransactionId(7),
            event_id: Uuid::nil(),
            aggregate_type: "Cart".into(),
            aggregate_id: "cart-1".into(),
            sequence: 3,
            event_type: "ItemAdded".into(),
            event_version: "1.0".into(),
            payload: r#"{"ItemAdded":{"sku":"A"}}"#.into(),
            metadata: metadata.into(),
            recorded_at: Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap(),
        }
    }

    fn header<'m>(message: &'m OutgoingMessage, name: &str) -> Option<&'m str> {
        message
            .headers
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_str())
    }

    #[test]
    fn a_message_is_keyed_by_aggregate_and_carries_the_stored_payload() {
        let message = OutgoingMessage::for_event("shop", &event("{}")).unwrap();
        assert_eq!(message.topic, "shop.cart");
        assert_eq!(message.key, "cart-1");
        assert_eq!(message.value, r#"{"ItemAdded":{"sku":"A"}}"#);
        assert_eq!(
            header(&message, "event_id"),
            Some(Uuid::nil().to_string().as_str())
        );
        assert_eq!(header(&message, "sequence"), Some("3"));
        assert_eq!(header(&message, "global_position"), Some("42"));
        assert_eq!(
            header(&message, "recorded_at"),
            Some("2026-01-02T03:04:05.000000Z")
        );
    }

    #[test]
    fn correlation_headers_come_from_metadata_when_present() {
        let with = OutgoingMessage::for_event(
            "shop",
            &event(r#"{"correlation_id":"c-1","causation_id":"e-9","actor":"ada"}"#),
        )
        .unwrap();
        assert_eq!(header(&with, "correlation_id"), Some("c-1"));
        assert_eq!(header(&with, "causation_id"), Some("e-9"));
        let without = OutgoingMessage::for_event("shop", &event(r#"{"actor":"ada"}"#)).unwrap();
        assert_eq!(header(&without, "causation_id"), None);
    }

    #[test]
    fn refuses_an_aggregate_type_without_a_topic() {
        let mut unknown = event("{}");
        unknown.aggregate_type = "Tally".into();
        assert!(matches!(
            OutgoingMessage::for_event("shop", &unknown),
            Err(Error::Rejected(_))
        ));
    }
}
