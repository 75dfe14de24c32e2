//! Old stored event shapes, brought up to the shapes the code reads today. Events
//! are never rewritten: when an event type changes shape, its `event_version` goes
//! up and an upcaster here turns the older JSON into the newer as it is loaded.
//!
//! One place for both readers of stored events: the command side hands
//! [`upcasters`] to cqrs-es's event store, and projections call [`upcast`] on the
//! payloads they read from the log.
//!
//! To change an event's shape: bump its `event_version()`, add an [`Upcaster`] to
//! [`UPCASTERS`] that maps the previous version's JSON to the new one (after any
//! older upcasters of the same type, which run first), give it a test, and record
//! both versions in `docs/events.md`.

use cqrs_es::persist::{EventUpcaster, SerializedEvent};
use serde_json::Value;

/// One step: `event_type` at `from_version` becomes `to_version` through `upcast`.
pub struct Upcaster {
    pub event_type: &'static str,
    pub from_version: &'static str,
    pub to_version: &'static str,
    pub upcast: fn(Value) -> Value,
}

/// Every upcaster, oldest first.
pub static UPCASTERS: &[Upcaster] = &[];

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
