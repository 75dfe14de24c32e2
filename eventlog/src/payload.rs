//! The one decoder of stored payloads: the write side loading an aggregate, the
//! read models folding views, replay folding past states and the checkout process
//! all read events through it, so an event shape that changed is upcast in one
//! place ([`domain::upcasting`]) for every reader.

use serde::de::DeserializeOwned;

use crate::{Error, RecordedEvent};

/// `payload`, stored as `event_type` at `event_version`, as today's event enum.
/// Older shapes go through [`domain::upcasting::upcast`] first; payloads no
/// upcaster applies to (nearly all) are parsed straight from the text, skipping
/// the generic JSON tree.
pub fn decode_payload<E: DeserializeOwned>(
    event_type: &str,
    event_version: &str,
    payload: &str,
) -> Result<E, serde_json::Error> {
    let needs_upcasting = domain::upcasting::UPCASTERS
        .iter()
        .any(|step| step.event_type == event_type && step.from_version == event_version);
    if !needs_upcasting {
        return serde_json::from_str(payload);
    }
    let stored: serde_json::Value = serde_json::from_str(payload)?;
    let (_, current) = domain::upcasting::upcast(event_type, event_version, stored);
    serde_json::from_value(current)
}

/// The payload of `event` as today's event enum, or an error naming the event.
pub fn decode<E: DeserializeOwned>(event: &RecordedEvent) -> Result<E, Error> {
    decode_payload(&event.event_type, &event.event_version, &event.payload).map_err(|source| {
        Error::Decode {
            global_position: event.global_position,
            event_type: event.event_type.clone(),
            source,
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::TransactionId;

    fn recorded(event_type: &str, event_version: &str, payload: &str) -> RecordedEvent {
        RecordedEvent {
            global_position: 101,
            transaction_id: TransactionId(7),
            event_id: uuid::Uuid::nil(),
            aggregate_type: "Product".into(),
            aggregate_id: "00000000-0000-0000-0000-000000000001".into(),
            sequence: 1,
            event_type: event_type.into(),
            event_version: event_version.into(),
            payload: payload.into(),
            metadata: "{}".into(),
            recorded_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn old_payloads_are_upcast_before_they_are_decoded() {
        let event = recorded(
            "ProductCreated",
            "1",
            r#"{"ProductCreated": {"product_id": "00000000-0000-0000-0000-000000000001",
            "sku": "MUG-1", "name": "Mug", "description": "", "category": "Kitchen",
            "brand": "Acme", "price": {"amount": 1200, "currency": "EUR"}}}"#,
        );
        let decoded: domain::product::ProductEvent = decode(&event).unwrap();
        assert!(matches!(
            decoded,
            domain::product::ProductEvent::ProductCreated { attributes, .. } if attributes.is_empty()
        ));
    }

    #[test]
    fn a_payload_of_the_wrong_shape_names_its_event_and_keeps_the_cause() {
        let event = recorded("ProductPublished", "1", r#"{"Nonsense": 1}"#);
        let error = decode::<domain::product::ProductEvent>(&event).unwrap_err();
        assert!(matches!(
            &error,
            Error::Decode { global_position: 101, event_type, .. } if event_type == "ProductPublished"
        ));
        assert!(std::error::Error::source(&error).is_some());
    }
}
