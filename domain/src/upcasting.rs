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
pub static UPCASTERS: &[Upcaster] = &[
    Upcaster {
        event_type: "ProductCreated",
        from_version: "1",
        to_version: "2",
        upcast: product_created_v1_to_v2,
    },
    Upcaster {
        event_type: "StockReserved",
        from_version: "1",
        to_version: "2",
        upcast: stock_reserved_v1_to_v2,
    },
    Upcaster {
        event_type: "ReservationReleased",
        from_version: "1",
        to_version: "2",
        upcast: reservation_released_v1_to_v2,
    },
    Upcaster {
        event_type: "OrderPlaced",
        from_version: "1",
        to_version: "2",
        upcast: order_placed_v1_to_v2,
    },
    Upcaster {
        event_type: "OrderConfirmed",
        from_version: "1",
        to_version: "2",
        upcast: order_confirmed_v1_to_v2,
    },
    Upcaster {
        event_type: "OrderLinesCancelled",
        from_version: "1",
        to_version: "2",
        upcast: order_lines_cancelled_v1_to_v2,
    },
    Upcaster {
        event_type: "OrderReturnRequested",
        from_version: "1",
        to_version: "2",
        upcast: order_return_requested_v1_to_v2,
    },
    Upcaster {
        event_type: "OrderReturnReceived",
        from_version: "1",
        to_version: "2",
        upcast: order_return_received_v1_to_v2,
    },
    Upcaster {
        event_type: "OrderRefundRecorded",
        from_version: "1",
        to_version: "2",
        upcast: order_refund_recorded_v1_to_v2,
    },
    Upcaster {
        event_type: "PaymentRefunded",
        from_version: "1",
        to_version: "2",
        upcast: payment_refunded_v1_to_v2,
    },
    Upcaster {
        event_type: "CartCheckedOut",
        from_version: "1",
        to_version: "2",
        upcast: cart_checked_out_v1_to_v2,
    },
    Upcaster {
        event_type: "OrderPlaced",
        from_version: "2",
        to_version: "3",
        upcast: order_placed_v2_to_v3,
    },
    Upcaster {
        event_type: "ItemAdded",
        from_version: "1",
        to_version: "2",
        upcast: line_change_v1_to_v2,
    },
    Upcaster {
        event_type: "ItemQuantityChanged",
        from_version: "1",
        to_version: "2",
        upcast: line_change_v1_to_v2,
    },
    Upcaster {
        event_type: "ItemRemoved",
        from_version: "1",
        to_version: "2",
        upcast: line_change_v1_to_v2,
    },
    Upcaster {
        event_type: "ItemAdded",
        from_version: "2",
        to_version: "3",
        upcast: line_change_v2_to_v3,
    },
    Upcaster {
        event_type: "ItemQuantityChanged",
        from_version: "2",
        to_version: "3",
        upcast: line_change_v2_to_v3,
    },
    Upcaster {
        event_type: "ItemRemoved",
        from_version: "2",
        to_version: "3",
        upcast: line_change_v2_to_v3,
    },
    Upcaster {
        event_type: "CartDiscountsChanged",
        from_version: "1",
        to_version: "2",
        upcast: cart_discounts_changed_v1_to_v2,
    },
    Upcaster {
        event_type: "CartCheckedOut",
        from_version: "2",
        to_version: "3",
        upcast: priced_cart_parts,
    },
    Upcaster {
        event_type: "OrderPlaced",
        from_version: "3",
        to_version: "4",
        upcast: priced_cart_parts,
    },
];

/// Applies `edit` to the fields inside `{"<any tag>": {...}}`: for the steps
/// that several event types share (each step runs only on its own type).
fn edit_own_fields(mut payload: Value, edit: impl FnOnce(&mut Map<String, Value>)) -> Value {
    if let Value::Object(outer) = &mut payload {
        if outer.len() == 1 {
            if let Some(Value::Object(fields)) = outer.values_mut().next() {
                edit(fields);
            }
        }
    }
    payload
}

/// Applies `edit` to the fields inside `{"<tag>": {...}}`; other shapes pass.
fn edit_fields(mut payload: Value, tag: &str, edit: impl FnOnce(&mut Map<String, Value>)) -> Value {
    if let Some(Value::Object(fields)) = externally_tagged_mut(&mut payload, tag) {
        edit(fields);
    }
    payload
}

/// Before version 2 an order reserved a SKU once: what it held was the quantity.
fn stock_reserved_v1_to_v2(payload: Value) -> Value {
    edit_fields(payload, "StockReserved", |fields| {
        let quantity = fields.get("quantity").cloned().unwrap_or(Value::Null);
        fields.entry("held_for_order_after").or_insert(quantity);
    })
}

/// Before version 2 a release gave back all the order held.
fn reservation_released_v1_to_v2(payload: Value) -> Value {
    edit_fields(payload, "ReservationReleased", |fields| {
        fields
            .entry("held_for_order_after")
            .or_insert(Value::from(0));
    })
}

/// No order replaced a return before version 2.
fn order_placed_v1_to_v2(payload: Value) -> Value {
    edit_fields(payload, "OrderPlaced", |fields| {
        fields.entry("replaces").or_insert(Value::Null);
    })
}

/// No checkout was priced (discounts, shipping method, tax) before version 2.
fn cart_checked_out_v1_to_v2(payload: Value) -> Value {
    edit_fields(payload, "CartCheckedOut", |fields| {
        fields.entry("pricing").or_insert(Value::Null);
    })
}

/// Before version 2 a line change (`ItemAdded`, `ItemQuantityChanged`,
/// `ItemRemoved`) carried no discounts: any it moved followed it as
/// `CartDiscountsChanged`.
fn line_change_v1_to_v2(payload: Value) -> Value {
    edit_own_fields(payload, |fields| {
        fields.entry("discounts").or_insert(Value::Null);
    })
}

/// An applied discount's part of each line was a full amount before
/// (`{"amount": 63, "currency": "EUR"}`); the discount's own amount names the
/// currency, so a part is now its minor units alone (`63`). `path` leads from
/// the event's fields to its list of discounts.
fn bare_line_parts(payload: Value, path: &[&str]) -> Value {
    edit_own_fields(payload, |fields| {
        let Some((first, rest)) = path.split_first() else {
            return;
        };
        let mut discounts = fields.get_mut(*first);
        for key in rest {
            discounts = discounts.and_then(|d| d.get_mut(*key));
        }
        let Some(Value::Array(discounts)) = discounts else {
            return;
        };
        for discount in discounts {
            if let Some(Value::Object(parts)) = discount.get_mut("lines") {
                for part in parts.values_mut() {
                    if let Some(amount) = part.get("amount").cloned() {
                        *part = amount;
                    }
                }
            }
        }
    })
}

/// The discounts a line change carries (`{"discounts": {"discounts": [...]}}`).
fn line_change_v2_to_v3(payload: Value) -> Value {
    bare_line_parts(payload, &["discounts", "discounts"])
}

fn cart_discounts_changed_v1_to_v2(payload: Value) -> Value {
    bare_line_parts(payload, &["discounts"])
}

/// The discounts of a priced cart (`{"pricing": {"discounts": [...]}}`), in
/// `CartCheckedOut` v2 and `OrderPlaced` v3.
fn priced_cart_parts(payload: Value) -> Value {
    bare_line_parts(payload, &["pricing", "discounts"])
}

/// No order carried a priced cart before version 3.
fn order_placed_v2_to_v3(payload: Value) -> Value {
    edit_fields(payload, "OrderPlaced", |fields| {
        fields.entry("pricing").or_insert(Value::Null);
    })
}

/// Version 1 confirmations always named a payment; version 2 reads the same
/// JSON, and also allows `null`. Nothing to change, but the step keeps the
/// chain whole.
fn order_confirmed_v1_to_v2(payload: Value) -> Value {
    payload
}

/// Only admins could cancel lines before version 2 named who did.
fn order_lines_cancelled_v1_to_v2(payload: Value) -> Value {
    edit_fields(payload, "OrderLinesCancelled", |fields| {
        fields
            .entry("cancelled_by")
            .or_insert_with(|| Value::String("admin".into()));
    })
}

/// Version 1 had one free-text reason for the whole return: it becomes every
/// line's note, under the reason `other`; no line asked for an exchange.
fn order_return_requested_v1_to_v2(payload: Value) -> Value {
    edit_fields(payload, "OrderReturnRequested", |fields| {
        let note = fields.remove("reason").unwrap_or(Value::Null);
        if let Some(Value::Array(lines)) = fields.get_mut("lines") {
            for line in lines {
                if let Value::Object(line) = line {
                    line.entry("reason")
                        .or_insert_with(|| Value::String("other".into()));
                    line.entry("note").or_insert_with(|| note.clone());
                    line.entry("exchange_for").or_insert(Value::Null);
                }
            }
        }
    })
}

/// Version 1 recorded no conditions, fee, refund or replacements: the lines'
/// condition is `unrecorded` and every new amount is zero in the return's currency.
fn order_return_received_v1_to_v2(payload: Value) -> Value {
    edit_fields(payload, "OrderReturnReceived", |fields| {
        if let Some(Value::Array(lines)) = fields.get_mut("lines") {
            for line in lines {
                if let Value::Object(line) = line {
                    line.entry("condition")
                        .or_insert_with(|| Value::String("unrecorded".into()));
                }
            }
        }
        let currency = fields
            .get("return_value")
            .and_then(|v| v.get("currency"))
            .cloned()
            .unwrap_or(Value::Null);
        let zero = serde_json::json!({"amount": 0, "currency": currency});
        for key in [
            "restocking_fee",
            "exchange_credit",
            "amount_due",
            "refund_amount",
        ] {
            fields.entry(key).or_insert_with(|| zero.clone());
        }
        fields
            .entry("replacements")
            .or_insert_with(|| Value::Array(Vec::new()));
        fields.entry("refund_id").or_insert(Value::Null);
        fields.entry("payment_id").or_insert(Value::Null);
        fields.entry("replacement_order_id").or_insert(Value::Null);
    })
}

/// Version 1 refunds did not say what they were for.
fn order_refund_recorded_v1_to_v2(payload: Value) -> Value {
    edit_fields(payload, "OrderRefundRecorded", |fields| {
        fields
            .entry("for_what")
            .or_insert_with(|| serde_json::json!({"kind": "unstated"}));
    })
}

/// Version 1 payment refunds named no order refund.
fn payment_refunded_v1_to_v2(payload: Value) -> Value {
    edit_fields(payload, "PaymentRefunded", |fields| {
        fields.entry("refund_id").or_insert(Value::Null);
    })
}

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

    /// A version-1 payload, upcast, reads as today's event of today's version.
    fn reads_as_today<E: DomainEvent + serde::de::DeserializeOwned>(
        event_type: &str,
        v1: Value,
    ) -> E {
        let (version, payload) = upcast(event_type, "1", v1);
        let event: E = serde_json::from_value(payload.clone())
            .unwrap_or_else(|e| panic!("{event_type} v{version} does not read: {e}: {payload}"));
        assert_eq!(event.event_type(), event_type);
        assert_eq!(
            event.event_version(),
            version,
            "{event_type}: chain ends short"
        );
        event
    }

    fn eur(amount: i64) -> Value {
        json!({"amount": amount, "currency": "EUR"})
    }

    const ORDER: &str = "00000000-0000-0000-0000-00000000000a";
    const ID: &str = "00000000-0000-0000-0000-00000000000b";

    #[test]
    fn inventory_v1_reservations_held_their_quantity_and_releases_left_nothing() {
        use crate::inventory::InventoryEvent;
        let levels = json!({"on_hand_after": 10, "reserved_after": 4, "available_after": 6});
        let mut reserved = json!({"sku": "MUG-1", "order_id": ORDER, "quantity": 4,
            "expires_at": "2024-01-01T00:00:00Z"});
        let mut released = json!({"sku": "MUG-1", "order_id": ORDER, "quantity": 4,
            "reason": "expired"});
        for (key, value) in levels.as_object().unwrap() {
            reserved[key] = value.clone();
            released[key] = value.clone();
        }
        let InventoryEvent::StockReserved {
            held_for_order_after,
            ..
        } = reads_as_today::<InventoryEvent>("StockReserved", json!({ "StockReserved": reserved }))
        else {
            panic!("another event");
        };
        assert_eq!(held_for_order_after, 4);
        let InventoryEvent::ReservationReleased {
            held_for_order_after,
            ..
        } = reads_as_today::<InventoryEvent>(
            "ReservationReleased",
            json!({ "ReservationReleased": released }),
        )
        else {
            panic!("another event");
        };
        assert_eq!(held_for_order_after, 0);
    }

    #[test]
    fn order_placed_v1_replaces_nothing_and_confirmed_v1_keeps_its_payment() {
        use crate::order::OrderEvent;
        let v1 = json!({"OrderPlaced": {
            "order_id": ORDER, "cart_id": ID, "customer_id": null, "email": "a@b.co",
            "shipping_address": {"name": "A", "line1": "B", "line2": null, "city": "C",
                "postal_code": "D", "region": null, "country": "DE"},
            "lines": [], "currency": "EUR", "subtotal": eur(100), "shipping_cost": eur(0),
            "total": eur(100), "placed_at": "2024-01-01T00:00:00Z"}});
        let OrderEvent::OrderPlaced { replaces, .. } =
            reads_as_today::<OrderEvent>("OrderPlaced", v1)
        else {
            panic!("another event");
        };
        assert_eq!(replaces, None);
        let v2 = json!({"OrderPlaced": {
            "order_id": ORDER, "cart_id": ID, "customer_id": null, "email": "a@b.co",
            "shipping_address": {"name": "A", "line1": "B", "line2": null, "city": "C",
                "postal_code": "D", "region": null, "country": "DE"},
            "lines": [], "currency": "EUR", "subtotal": eur(100), "shipping_cost": eur(0),
            "total": eur(100), "placed_at": "2024-01-01T00:00:00Z", "replaces": null}});
        let (version, upcast_v2) = upcast("OrderPlaced", "2", v2);
        assert_eq!(version, "4");
        let OrderEvent::OrderPlaced { pricing, .. } =
            serde_json::from_value::<OrderEvent>(upcast_v2).unwrap()
        else {
            panic!("another event");
        };
        assert_eq!(pricing, None, "a v2 order was not priced");
        let v1 = json!({"OrderConfirmed": {
            "order_id": ORDER, "customer_id": null, "payment_id": ID, "total": eur(100)}});
        let OrderEvent::OrderConfirmed { payment_id, .. } =
            reads_as_today::<OrderEvent>("OrderConfirmed", v1)
        else {
            panic!("another event");
        };
        assert_eq!(payment_id.map(|p| p.to_string()), Some(ID.to_owned()));
    }

    #[test]
    fn cart_checked_out_v1_reads_as_an_unpriced_checkout() {
        use crate::cart::CartEvent;
        let v1 = json!({"CartCheckedOut": {
            "cart_id": ID, "order_id": ORDER, "customer_id": null, "lines": [],
            "line_totals": {}, "subtotal": eur(100), "item_count": 1, "currency": "EUR",
            "email": "a@b.co",
            "shipping_address": {"name": "A", "line1": "B", "city": "C",
                "postal_code": "D", "country": "DE"},
            "payment_token": "tok_visa", "checked_out_at": "2024-01-01T00:00:00Z"}});
        let CartEvent::CartCheckedOut { pricing, .. } =
            reads_as_today::<CartEvent>("CartCheckedOut", v1)
        else {
            panic!("another event");
        };
        assert_eq!(pricing, None);
    }

    #[test]
    fn cart_line_changes_v1_read_as_changes_that_moved_no_discount() {
        use crate::cart::CartEvent;
        let line = json!({"sku": "MUG-1", "name": "Mug", "unit_price": eur(100),
            "quantity": 2, "line_total": eur(200), "price_changed": false});
        let added = json!({"ItemAdded": {"line": line, "quantity_added": 1,
            "subtotal": eur(200), "item_count": 2}});
        let changed = json!({"ItemQuantityChanged": {"line": line, "previous_quantity": 1,
            "subtotal": eur(200), "item_count": 2}});
        let removed = json!({"ItemRemoved": {"line": line, "subtotal": eur(0),
            "item_count": 0}});
        for (event_type, v1) in [
            ("ItemAdded", added),
            ("ItemQuantityChanged", changed),
            ("ItemRemoved", removed),
        ] {
            let discounts = match reads_as_today::<CartEvent>(event_type, v1) {
                CartEvent::ItemAdded { discounts, .. }
                | CartEvent::ItemQuantityChanged { discounts, .. }
                | CartEvent::ItemRemoved { discounts, .. } => discounts,
                other => panic!("another event: {other:?}"),
            };
            assert_eq!(discounts, None, "{event_type}");
        }
    }

    /// A discount as recorded before its parts of the lines were minor units.
    fn discount_with_full_parts() -> Value {
        json!({"promotion_id": ID, "name": "Winter", "code": null,
            "action": "percent_off_order", "amount": eur(63),
            "lines": {"MUG-1": eur(63)}, "shipping": eur(0)})
    }

    fn part_of_mug(discounts: &[crate::pricing::AppliedDiscount]) -> i64 {
        let sku = crate::shared::Sku::new("MUG-1").unwrap();
        assert_eq!(discounts.len(), 1);
        let part = discounts[0].lines[&sku];
        assert_eq!(part.currency().code(), "EUR");
        part.amount()
    }

    /// Upcasts `payload` of `version` and reads it as today's event.
    fn from_version<E: DomainEvent + serde::de::DeserializeOwned>(
        event_type: &str,
        version: &str,
        payload: Value,
    ) -> E {
        let (upcast_to, payload) = upcast(event_type, version, payload);
        let event: E = serde_json::from_value(payload.clone())
            .unwrap_or_else(|e| panic!("{event_type} v{upcast_to} does not read: {e}: {payload}"));
        assert_eq!(
            event.event_version(),
            upcast_to,
            "{event_type}: chain ends short"
        );
        event
    }

    #[test]
    fn discounts_recorded_with_full_line_parts_read_as_minor_units_of_their_currency() {
        use crate::cart::CartEvent;
        use crate::order::OrderEvent;
        let line = json!({"sku": "MUG-1", "name": "Mug", "unit_price": eur(100),
            "quantity": 1, "line_total": eur(100), "price_changed": false});
        let cart_discounts = json!({"discounts": [discount_with_full_parts()],
            "not_applied": [], "discount_total": eur(63), "total": eur(37)});
        let line_changes = [
            (
                "ItemAdded",
                json!({"ItemAdded": {"line": line, "quantity_added": 1,
                "subtotal": eur(100), "item_count": 1, "discounts": cart_discounts}}),
            ),
            (
                "ItemQuantityChanged",
                json!({"ItemQuantityChanged": {"line": line,
                "previous_quantity": 2, "subtotal": eur(100), "item_count": 1,
                "discounts": cart_discounts}}),
            ),
            (
                "ItemRemoved",
                json!({"ItemRemoved": {"line": line, "subtotal": eur(0),
                "item_count": 0, "discounts": cart_discounts}}),
            ),
        ];
        for (event_type, v2) in line_changes {
            let discounts = match from_version::<CartEvent>(event_type, "2", v2) {
                CartEvent::ItemAdded { discounts, .. }
                | CartEvent::ItemQuantityChanged { discounts, .. }
                | CartEvent::ItemRemoved { discounts, .. } => discounts,
                other => panic!("another event: {other:?}"),
            };
            assert_eq!(
                part_of_mug(&discounts.unwrap().discounts),
                63,
                "{event_type}"
            );
        }
        let changed = json!({"CartDiscountsChanged": {"discounts": [discount_with_full_parts()],
            "not_applied": [], "subtotal": eur(100), "discount_total": eur(63),
            "total": eur(37)}});
        let CartEvent::CartDiscountsChanged { discounts, .. } =
            from_version::<CartEvent>("CartDiscountsChanged", "1", changed)
        else {
            panic!("another event");
        };
        assert_eq!(part_of_mug(&discounts), 63);

        let pricing = json!({"currency": "EUR", "lines": [],
            "discounts": [discount_with_full_parts()], "not_applied": [],
            "subtotal": eur(100), "discount_total": eur(63),
            "subtotal_after_discounts": eur(37), "shipping": null, "tax": null,
            "total": eur(37)});
        let checked_out = json!({"CartCheckedOut": {
            "cart_id": ID, "order_id": ORDER, "customer_id": null, "lines": [],
            "line_totals": {}, "subtotal": eur(100), "item_count": 1, "currency": "EUR",
            "email": "a@b.co",
            "shipping_address": {"name": "A", "line1": "B", "city": "C",
                "postal_code": "D", "country": "DE"},
            "payment_token": "tok_visa", "checked_out_at": "2024-01-01T00:00:00Z",
            "pricing": pricing}});
        let CartEvent::CartCheckedOut {
            pricing: Some(priced),
            ..
        } = from_version::<CartEvent>("CartCheckedOut", "2", checked_out)
        else {
            panic!("another event, or unpriced");
        };
        assert_eq!(part_of_mug(&priced.discounts), 63);
        let placed = json!({"OrderPlaced": {
            "order_id": ORDER, "cart_id": ID, "customer_id": null, "email": "a@b.co",
            "shipping_address": {"name": "A", "line1": "B", "line2": null, "city": "C",
                "postal_code": "D", "region": null, "country": "DE"},
            "lines": [], "currency": "EUR", "subtotal": eur(100), "shipping_cost": eur(0),
            "total": eur(37), "placed_at": "2024-01-01T00:00:00Z", "replaces": null,
            "pricing": pricing}});
        let OrderEvent::OrderPlaced {
            pricing: Some(priced),
            ..
        } = from_version::<OrderEvent>("OrderPlaced", "3", placed)
        else {
            panic!("another event, or unpriced");
        };
        assert_eq!(part_of_mug(&priced.discounts), 63);
    }

    #[test]
    fn order_lines_cancelled_v1_reads_as_cancelled_by_an_admin() {
        use crate::order::{CancelledBy, OrderEvent};
        let v1 = json!({"OrderLinesCancelled": {
            "order_id": ORDER, "customer_id": null, "lines": [], "reason": "r",
            "payment_id": null, "amount_to_refund": eur(100),
            "order_total_after": eur(900), "status_after": "confirmed"}});
        assert!(serde_json::from_value::<OrderEvent>(v1.clone()).is_err());
        let OrderEvent::OrderLinesCancelled { cancelled_by, .. } =
            reads_as_today::<OrderEvent>("OrderLinesCancelled", v1)
        else {
            panic!("another event");
        };
        assert_eq!(cancelled_by, CancelledBy::Admin);
    }

    #[test]
    fn order_return_requested_v1_gives_its_reason_to_every_line() {
        use crate::order::{OrderEvent, ReturnReason};
        let line = json!({"sku": "MUG-1", "name": "Mug", "unit_price": eur(100),
            "quantity": 1, "amount": eur(100)});
        let v1 = json!({"OrderReturnRequested": {
            "order_id": ORDER, "customer_id": null, "return_id": ID,
            "lines": [line.clone(), line], "reason": "too small", "return_value": eur(200)}});
        assert!(serde_json::from_value::<OrderEvent>(v1.clone()).is_err());
        let OrderEvent::OrderReturnRequested { lines, .. } =
            reads_as_today::<OrderEvent>("OrderReturnRequested", v1)
        else {
            panic!("another event");
        };
        assert_eq!(lines.len(), 2);
        for line in lines {
            assert_eq!(line.reason, ReturnReason::Other);
            assert_eq!(line.note.as_deref(), Some("too small"));
            assert!(line.exchange_for.is_none());
        }
    }

    #[test]
    fn order_return_received_v1_reads_with_unrecorded_conditions_and_no_refund() {
        use crate::order::{OrderEvent, ReturnCondition};
        let v1 = json!({"OrderReturnReceived": {
            "order_id": ORDER, "customer_id": null, "return_id": ID,
            "lines": [{"sku": "MUG-1", "name": "Mug", "unit_price": eur(100),
                "quantity": 1, "amount": eur(100)}],
            "return_value": eur(100)}});
        assert!(serde_json::from_value::<OrderEvent>(v1.clone()).is_err());
        let OrderEvent::OrderReturnReceived {
            lines,
            refund_id,
            refund_amount,
            restocking_fee,
            replacements,
            ..
        } = reads_as_today::<OrderEvent>("OrderReturnReceived", v1)
        else {
            panic!("another event");
        };
        assert_eq!(lines[0].condition, ReturnCondition::Unrecorded);
        assert_eq!((refund_id, refund_amount.amount()), (None, 0));
        assert_eq!(restocking_fee.currency().code(), "EUR");
        assert!(replacements.is_empty());
    }

    #[test]
    fn order_refund_recorded_v1_reads_as_unstated() {
        use crate::order::{OrderEvent, RefundFor};
        let v1 = json!({"OrderRefundRecorded": {
            "order_id": ORDER, "customer_id": null, "refund_id": ID, "payment_id": ID,
            "amount": eur(100), "lines": [], "refunded_total": eur(100),
            "refundable_remaining": eur(0)}});
        assert!(serde_json::from_value::<OrderEvent>(v1.clone()).is_err());
        let OrderEvent::OrderRefundRecorded { for_what, .. } =
            reads_as_today::<OrderEvent>("OrderRefundRecorded", v1)
        else {
            panic!("another event");
        };
        assert_eq!(for_what, RefundFor::Unstated);
    }

    #[test]
    fn payment_refunded_v1_names_no_order_refund() {
        use crate::payment::PaymentEvent;
        let v1 = json!({"PaymentRefunded": {
            "payment_id": ID, "order_id": ORDER, "gateway_reference": "re_1",
            "amount": eur(100), "reason": "r", "status": "refunded",
            "authorized_total": eur(100), "captured_total": eur(100),
            "refunded_total": eur(100), "remaining_capturable": eur(0), "refundable": eur(0)}});
        let PaymentEvent::PaymentRefunded { refund_id, .. } =
            reads_as_today::<PaymentEvent>("PaymentRefunded", v1)
        else {
            panic!("another event");
        };
        assert_eq!(refund_id, None);
    }

    /// Every chain of upcasters must end at the version the code writes today.
    #[test]
    fn every_chain_ends_at_the_current_version() {
        let current: Vec<(String, String)> = crate::product::event_samples::one_of_each()
            .iter()
            .map(|e| (e.event_type(), e.event_version()))
            .collect();
        // Order and payment chains are checked by their `reads_as_today` tests.
        for step in UPCASTERS
            .iter()
            .filter(|s| s.event_type.starts_with("Product"))
        {
            let (version, _) = upcast(step.event_type, step.from_version, json!(null));
            let today = current
                .iter()
                .find(|(event_type, _)| event_type == step.event_type)
                .map(|(_, version)| version.clone());
            assert_eq!(Some(version), today, "{}", step.event_type);
        }
    }
}
