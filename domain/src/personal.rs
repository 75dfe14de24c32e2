//! Which fields of which events hold personal data (e-mail addresses, names,
//! street addresses), and whose data they are. The event store seals those
//! fields with the data subject's own key before they are written, and the log's
//! readers unseal them; destroying the key erases them everywhere at once, while
//! the hash chain, which covers what was written, still verifies.
//!
//! Declared here, as data, so that one list serves the writer and every reader,
//! and a new event with personal data is added in one place.

/// The personal fields of one event type.
#[derive(Debug, Clone, Copy)]
pub struct PersonalFields {
    pub event_type: &'static str,
    /// Where the data subject's id is in the event's fields: the first of these
    /// that holds a string, else the stream's own id. A guest's checkout has no
    /// customer, so its order is the subject.
    pub subject: &'static [&'static str],
    /// The string values that are sealed, each a path from the event's fields. A
    /// path that leads nowhere (an optional field left out) is skipped.
    pub paths: &'static [&'static [&'static str]],
}

/// What accounting keeps after an erasure (country and region, amounts, SKUs,
/// dates) is not listed: see docs/operations.md, "Retention".
const CHECKOUT_CONTACT: &[&[&str]] = &[
    &["email"],
    &["shipping_address", "name"],
    &["shipping_address", "line1"],
    &["shipping_address", "line2"],
    &["shipping_address", "city"],
    &["shipping_address", "postal_code"],
];

const ADDRESS: &[&[&str]] = &[
    &["address", "name"],
    &["address", "line1"],
    &["address", "line2"],
    &["address", "city"],
    &["address", "postal_code"],
];

/// Every event type that carries personal data.
pub static PERSONAL_FIELDS: &[PersonalFields] = &[
    // A customer's own events: the customer (the stream) is the subject.
    PersonalFields {
        event_type: "CustomerRegistered",
        subject: &["customer_id"],
        paths: &[&["email"], &["name"]],
    },
    PersonalFields {
        event_type: "CustomerEmailVerified",
        subject: &[],
        paths: &[&["email"]],
    },
    PersonalFields {
        event_type: "CustomerEmailChanged",
        subject: &[],
        paths: &[&["email"]],
    },
    PersonalFields {
        event_type: "CustomerNameChanged",
        subject: &[],
        paths: &[&["name"]],
    },
    PersonalFields {
        event_type: "CustomerAddressAdded",
        subject: &[],
        paths: ADDRESS,
    },
    PersonalFields {
        event_type: "CustomerAddressChanged",
        subject: &[],
        paths: ADDRESS,
    },
    PersonalFields {
        event_type: "CartCheckedOut",
        subject: &["customer_id", "order_id"],
        paths: CHECKOUT_CONTACT,
    },
    PersonalFields {
        event_type: "OrderPlaced",
        subject: &["customer_id", "order_id"],
        paths: CHECKOUT_CONTACT,
    },
];

/// The personal fields of `event_type`, if it has any.
pub fn personal_fields(event_type: &str) -> Option<&'static PersonalFields> {
    PERSONAL_FIELDS.iter().find(|f| f.event_type == event_type)
}

/// What an erased e-mail address reads as: a valid address in the `.invalid`
/// domain (RFC 2606), which no mail server accepts, so nothing is ever sent to it.
pub const ERASED_EMAIL: &str = "erased@erased.invalid";
/// What any other erased text reads as.
pub const ERASED_TEXT: &str = "erased";

/// What the value at `path` reads as once its subject is erased: a value of the
/// field's own kind, so that every reader still reads the event.
pub fn erased_value(path: &[&str]) -> &'static str {
    match path.last() {
        Some(&"email") => ERASED_EMAIL,
        _ => ERASED_TEXT,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared::{Email, PostalAddress, PostalAddressFields};

    #[test]
    fn erased_values_are_still_valid_values_of_their_fields() {
        assert!(Email::new(erased_value(&["email"])).is_ok());
        assert_eq!(Email::new(ERASED_EMAIL).unwrap(), Email::erased());
        assert_eq!(
            crate::shared::PersonName::new(ERASED_TEXT).unwrap(),
            crate::shared::PersonName::erased()
        );
        let text = erased_value(&["shipping_address", "name"]).to_owned();
        let address = PostalAddress::new(PostalAddressFields {
            name: text.clone(),
            line1: text.clone(),
            line2: Some(text.clone()),
            city: text.clone(),
            postal_code: text,
            region: None,
            country: "DE".into(),
        });
        let address = address.unwrap();
        let erased = address.erased();
        assert_eq!(
            PostalAddress::new(erased.fields().clone()),
            Ok(erased.clone())
        );
        assert_eq!(erased.fields().country, "DE");
    }

    #[test]
    fn every_listed_event_type_is_an_event_of_some_aggregate() {
        let known: Vec<&str> = crate::cart::EVENT_TYPES
            .iter()
            .chain(crate::order::EVENT_TYPES)
            .chain(crate::customer::EVENT_TYPES)
            .copied()
            .collect();
        for fields in PERSONAL_FIELDS {
            assert!(known.contains(&fields.event_type), "{}", fields.event_type);
            assert!(!fields.paths.is_empty(), "{}", fields.event_type);
        }
    }
}
