//! Old stored event shapes, brought up to the shapes the code reads today. Events
//! are never rewritten: when an event type changes shape, its `event_version` goes
//! up and an upcaster here turns the older JSON into the newer as it is loaded.
//!
//! One place for both readers of stored events: the command side hands
//! [`upcasters`] to cqrs-es's event store, and projections call [`upcast`] on the
//! payloads they read from the log.
//!
//! Payloads are serde's externally tagged form, `{"EventType": {fields...}}`, so an
//! upcaster edits the object inside the tag and leaves any other shape untouched.
//!
//! To change an event's shape: bump its `event_version()`, add an [`Upcaster`] to
//! [`UPCASTERS`] that maps the previous version's JSON to the new one (after any
//! older upcasters of the same type, which run first, so versions chain 1 → 2 → 3),
//! give it a test (the old JSON, upcast, must deserialize into today's event enum;
//! the current version must pass unchanged), add the event to the
//! `every_chain_ends_at_the_current_version` test, and record both versions in the
//! event catalog, `docs/events.md`.

use cqrs_es::persist::{EventUpcaster, SerializedEvent};
use serde_json::{Map, Value};

/// One step: `event_type` at `from_version` becomes `to_version` through `upcast`.
pub struct Upcaster {
    pub event_type: &'static str,
    pub from_version: &'static str,
    pub to_version: &'static str,
    pub upcast: fn(Value) -> Value,
}

/// Every upcaster, oldest first.
pub static UPCASTERS: &[Upcaster] = &[Upcaster {
    event_type: "ProductCreated",
    from_version: "1",
    to_version: "2",
    upcast: product_created_v1_to_v2,
}];

/// ProductCreated v1 had no `attributes`; a product created then had none.
fn product_created_v1_to_v2(payload: Value) -> Value {
    let mut payload = payload;
    if let Some(Value::Object(fields)) = externally_tagged_mut(&mut payload, "ProductCreated") {
        fields
            .entry("attributes")
            .or_insert_with(|| Value::Object(Map::new()));
    }
    payload
}

/// The fields object inside `{"<tag>": {...}}`, if `payload` has exactly that shape.
fn externally_tagged_mut<'a>(payload: &'a mut Value, tag: &str) -> Option<&'a mut Value> {
    match payload {
        Value::Object(outer) if outer.len() == 1 => outer.get_mut(tag),
        _ => None,
    }
}

/// Brings a stored payload up to date: runs every upcaster that applies, in order.
/// Returns the version reached and the payload in that version's shape.
pub fn upcast(event_type: &str, version: &str, payload: Value) -> (String, Value) {
    let mut version = version.to_owned();
    let mut payload = payload;
    for step in UPCASTERS {
        if step.event_type == event_type && step.from_version == version {
            payload = (step.upcast)(payload);
            version = step.to_version.to_owned();
        }
    }
    (version, payload)
}

impl EventUpcaster for &'static Upcaster {
    fn can_upcast(&self, event_type: &str, event_version: &str) -> bool {
        self.event_type == event_type && self.from_version == event_version
    }

    fn upcast(&self, mut event: SerializedEvent) -> SerializedEvent {
        event.payload = (self.upcast)(event.payload);
        event.event_version = self.to_version.to_owned();
        event
    }
}

/// The upcasters in the form cqrs-es's event stores take.
pub fn upcasters() -> Vec<Box<dyn EventUpcaster>> {
    UPCASTERS
        .iter()
        .map(|step| Box::new(step) as Box<dyn EventUpcaster>)
        .collect()
}

#[cfg(test)]
mod tests {
    use cqrs_es::persist::SerializedEvent;
    use cqrs_es::DomainEvent;
    use serde_json::json;

    use super::*;
    use crate::product::ProductEvent;

    fn product_created_v1() -> Value {
        json!({"ProductCreated": {
            "product_id": "00000000-0000-0000-0000-000000000001",
            "sku": "MUG-1",
            "name": "Mug",
            "description": "A mug.",
            "category": "Kitchen",
            "brand": "Acme",
            "price": {"amount": 1200, "currency": "EUR"}
        }})
    }

    #[test]
    fn product_created_v1_gains_empty_attributes_and_reads_as_today_s_event() {
        let (version, payload) = upcast("ProductCreated", "1", product_created_v1());
        assert_eq!(version, "2");
        assert_eq!(payload["ProductCreated"]["attributes"], json!({}));
        let event: ProductEvent = serde_json::from_value(payload).unwrap();
        let ProductEvent::ProductCreated {
            attributes, name, ..
        } = &event
        else {
            panic!("not a ProductCreated: {event:?}");
        };
        assert!(attributes.is_empty());
        assert_eq!(name, "Mug");
        assert_eq!(event.event_version(), version);
    }

    #[test]
    fn product_created_v1_does_not_deserialize_without_the_upcaster() {
        assert!(serde_json::from_value::<ProductEvent>(product_created_v1()).is_err());
    }

    #[test]
    fn product_created_v2_passes_unchanged() {
        let mut v2 = product_created_v1();
        v2["ProductCreated"]["attributes"] = json!({"colour": "blue"});
        assert_eq!(
            upcast("ProductCreated", "2", v2.clone()),
            ("2".to_owned(), v2.clone())
        );
        // Even if a v2 payload were labelled v1, its attributes would survive.
        assert_eq!(product_created_v1_to_v2(v2.clone()), v2);
    }

    #[test]
    fn other_shapes_are_left_untouched() {
        for odd in [
            json!(null),
            json!("ProductCreated"),
            json!({"ProductCreated": "not an object"}),
            json!({"ProductPublished": {"sku": "MUG-1"}}),
            json!({"ProductCreated": {}, "Extra": {}}),
        ] {
            assert_eq!(product_created_v1_to_v2(odd.clone()), odd);
        }
        let other_type = json!({"ProductPublished": {"sku": "MUG-1"}});
        assert_eq!(
            upcast("ProductPublished", "1", other_type.clone()),
            ("1".to_owned(), other_type)
        );
    }

    #[test]
    fn the_event_store_upcasters_do_the_same() {
        let stored = SerializedEvent {
            aggregate_id: "00000000-0000-0000-0000-000000000001".into(),
            sequence: 1,
            aggregate_type: "Product".into(),
            event_type: "ProductCreated".into(),
            event_version: "1".into(),
            payload: product_created_v1(),
            metadata: json!({}),
        };
        let upcasters = upcasters();
        let step = upcasters
            .iter()
            .find(|u| u.can_upcast("ProductCreated", "1"))
            .unwrap();
        let event = step.upcast(stored);
        assert_eq!(event.event_version, "2");
        assert!(serde_json::from_value::<ProductEvent>(event.payload).is_ok());
        assert!(!upcasters
            .iter()
            .any(|u| u.can_upcast("ProductCreated", "2")));
    }

    /// Every chain of upcasters must end at the version the code writes today.
    #[test]
    fn every_chain_ends_at_the_current_version() {
        let current: Vec<(String, String)> = crate::product::event_samples::one_of_each()
            .iter()
            .map(|e| (e.event_type(), e.event_version()))
            .collect();
        for step in UPCASTERS {
            let (version, _) = upcast(step.event_type, step.from_version, json!(null));
            let today = current
                .iter()
                .find(|(event_type, _)| event_type == step.event_type)
                .map(|(_, version)| version.clone());
            assert_eq!(Some(version), today, "{}", step.event_type);
        }
    }
}
