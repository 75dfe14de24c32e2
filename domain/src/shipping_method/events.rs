//! What happened to shipping methods. Each event carries the whole definition it
//! leaves, so a reader needs no earlier event to show a method.

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use super::{ShippingMethodDefinition, ShippingMethodId};

/// Every event type name, as stored in the event store's `event_type` column.
pub const EVENT_TYPES: &[&str] = &[
    "ShippingMethodDefined",
    "ShippingMethodChanged",
    "ShippingMethodRetired",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ShippingMethodEvent {
    ShippingMethodDefined {
        method_id: ShippingMethodId,
        definition: ShippingMethodDefinition,
        defined_at: DateTime<Utc>,
    },
    ShippingMethodChanged {
        definition: ShippingMethodDefinition,
    },
    ShippingMethodRetired {
        retired_at: DateTime<Utc>,
    },
}

impl DomainEvent for ShippingMethodEvent {
    fn event_type(&self) -> String {
        let name = match self {
            ShippingMethodEvent::ShippingMethodDefined { .. } => "ShippingMethodDefined",
            ShippingMethodEvent::ShippingMethodChanged { .. } => "ShippingMethodChanged",
            ShippingMethodEvent::ShippingMethodRetired { .. } => "ShippingMethodRetired",
        };
        name.to_owned()
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}
