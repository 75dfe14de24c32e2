//! The facts of a product's life. Each carries `product_id` and `sku`, and the
//! creation and details events carry the complete details, so a catalog read model,
//! the search index or a downstream system can act on any one event alone.

use std::collections::BTreeMap;

use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use crate::shared::{Money, ProductId, Sku};

/// Every variant name of [`ProductEvent`], as stored in the `event_type` column.
pub const EVENT_TYPES: &[&str] = &[
    "ProductCreated",
    "ProductDetailsUpdated",
    "ProductPriceChanged",
    "ProductPublished",
    "ProductUnpublished",
    "ProductDiscontinued",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ProductEvent {
    /// Version 2: version 1 had no `attributes` (upcast to an empty map on load).
    ProductCreated {
        product_id: ProductId,
        sku: Sku,
        name: String,
        description: String,
        category: String,
        brand: String,
        price: Money,
        attributes: BTreeMap<String, String>,
    },
    /// The complete new details, not a difference.
    ProductDetailsUpdated {
        product_id: ProductId,
        sku: Sku,
        name: String,
        description: String,
        category: String,
        brand: String,
        attributes: BTreeMap<String, String>,
    },
    ProductPriceChanged {
        product_id: ProductId,
        sku: Sku,
        old_price: Money,
        new_price: Money,
    },
    ProductPublished {
        product_id: ProductId,
        sku: Sku,
    },
    ProductUnpublished {
        product_id: ProductId,
        sku: Sku,
    },
    ProductDiscontinued {
        product_id: ProductId,
        sku: Sku,
    },
}

impl DomainEvent for ProductEvent {
    fn event_type(&self) -> String {
        match self {
            ProductEvent::ProductCreated { .. } => "ProductCreated",
            ProductEvent::ProductDetailsUpdated { .. } => "ProductDetailsUpdated",
            ProductEvent::ProductPriceChanged { .. } => "ProductPriceChanged",
            ProductEvent::ProductPublished { .. } => "ProductPublished",
            ProductEvent::ProductUnpublished { .. } => "ProductUnpublished",
            ProductEvent::ProductDiscontinued { .. } => "ProductDiscontinued",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        match self {
            // Version 2 added `attributes`; see `crate::upcasting`.
            ProductEvent::ProductCreated { .. } => "2",
            ProductEvent::ProductDetailsUpdated { .. }
            | ProductEvent::ProductPriceChanged { .. }
            | ProductEvent::ProductPublished { .. }
            | ProductEvent::ProductUnpublished { .. }
            | ProductEvent::ProductDiscontinued { .. } => "1",
        }
        .to_owned()
    }
}

#[cfg(test)]
pub(crate) mod samples {
    use std::collections::BTreeMap;

    use uuid::Uuid;

    use super::ProductEvent;
    use crate::shared::{Currency, Money, ProductId, Sku};

    /// One event of every variant, for tests that must cover them all.
    pub(crate) fn one_of_each() -> Vec<ProductEvent> {
        let product_id = ProductId::new(Uuid::from_u128(1));
        let sku = Sku::new("MUG-1").unwrap();
        let eur = Currency::new("EUR").unwrap();
        let attributes = BTreeMap::from([("colour".to_owned(), "blue".to_owned())]);
        vec![
            ProductEvent::ProductCreated {
                product_id,
                sku: sku.clone(),
                name: "Mug".into(),
                description: "A mug.".into(),
                category: "Kitchen".into(),
                brand: "Acme".into(),
                price: Money::new(1200, eur),
                attributes: attributes.clone(),
            },
            ProductEvent::ProductDetailsUpdated {
                product_id,
                sku: sku.clone(),
                name: "Big mug".into(),
                description: "A big mug.".into(),
                category: "Kitchen".into(),
                brand: "Acme".into(),
                attributes,
            },
            ProductEvent::ProductPriceChanged {
                product_id,
                sku: sku.clone(),
                old_price: Money::new(1200, eur),
                new_price: Money::new(1500, eur),
            },
            ProductEvent::ProductPublished {
                product_id,
                sku: sku.clone(),
            },
            ProductEvent::ProductUnpublished {
                product_id,
                sku: sku.clone(),
            },
            ProductEvent::ProductDiscontinued { product_id, sku },
        ]
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use cqrs_es::DomainEvent;

    use super::{samples, ProductEvent, EVENT_TYPES};

    #[test]
    fn event_types_lists_every_variant_exactly_once() {
        let samples = samples::one_of_each();
        let types: BTreeSet<String> = samples.iter().map(DomainEvent::event_type).collect();
        let listed: BTreeSet<String> = EVENT_TYPES.iter().map(|t| (*t).to_owned()).collect();
        assert_eq!(types.len(), samples.len(), "a variant is sampled twice");
        assert_eq!(
            listed.len(),
            EVENT_TYPES.len(),
            "EVENT_TYPES has duplicates"
        );
        assert_eq!(types, listed);
    }

    #[test]
    fn events_are_stored_externally_tagged_under_their_event_type() {
        for event in samples::one_of_each() {
            let json = serde_json::to_value(&event).unwrap();
            let object = json.as_object().unwrap();
            assert_eq!(object.len(), 1);
            assert!(object.contains_key(&event.event_type()));
            assert_eq!(serde_json::from_value::<ProductEvent>(json).unwrap(), event);
        }
    }
}
