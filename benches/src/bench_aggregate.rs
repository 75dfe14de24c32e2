//! A cart-like aggregate and event rows of realistic size for the benchmarks.

use std::collections::HashMap;

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BenchCart {
    lines: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum BenchCartEvent {
    ItemAdded {
        sku: String,
        quantity: u32,
        unit_price: Value,
    },
}

impl DomainEvent for BenchCartEvent {
    fn event_type(&self) -> String {
        "ItemAdded".into()
    }
    fn event_version(&self) -> String {
        "1.0".into()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("never")]
pub struct Never;

impl Aggregate for BenchCart {
    const TYPE: &'static str = "cart";
    type Command = usize;
    type Event = BenchCartEvent;
    type Error = Never;
    type Services = ();

    async fn handle(&mut self, index: usize, _: &(), sink: &EventSink<Self>) -> Result<(), Never> {
        let event = BenchCartEvent::ItemAdded {
            sku: format!("SKU-{:06}", index % 100_000),
            quantity: (index % 5 + 1) as u32,
            unit_price: json!({ "amount": 1999, "currency": "EUR" }),
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, _: BenchCartEvent) {
        self.lines += 1;
    }
}

pub fn sample_payload(index: usize) -> Value {
    json!({ "ItemAdded": {
        "sku": format!("SKU-{:06}", index % 100_000),
        "quantity": index % 5 + 1,
        "unit_price": { "amount": 1999, "currency": "EUR" },
        "name": "Organic cotton t-shirt, navy, size M",
    }})
}

pub fn metadata_map(index: usize) -> HashMap<String, String> {
    metadata(index).into_map()
}

pub fn metadata(index: usize) -> commands::CommandMetadata {
    commands::CommandMetadata {
        actor: format!("customer-{}", index % 1000),
        actor_role: "customer".into(),
        correlation_id: uuid::Uuid::new_v4(),
        causation_id: None,
        request_id: uuid::Uuid::new_v4(),
        command: "add-item".into(),
    }
}

pub fn sample_metadata(index: usize) -> Value {
    json!(metadata_map(index))
}
