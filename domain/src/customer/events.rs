//! What happened to customer accounts. Personal fields (addresses, names) are
//! sealed by the event store: see [`crate::personal`].

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use super::{AddressId, CustomerId, SignUp};
use crate::shared::{Email, PersonName, PostalAddress};

/// Every event type name, as stored in the event store's `event_type` column.
pub const EVENT_TYPES: &[&str] = &[
    "CustomerRegistered",
    "CustomerEmailVerified",
    "CustomerEmailChanged",
    "CustomerNameChanged",
    "CustomerAddressAdded",
    "CustomerAddressChanged",
    "CustomerAddressRemoved",
    "DefaultShippingAddressSet",
    "CustomerAccountClosed",
    "CustomerErased",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CustomerEvent {
    CustomerRegistered {
        customer_id: CustomerId,
        email: Email,
        name: PersonName,
        sign_up: SignUp,
        /// An outside provider vouches for the address: verified from the start.
        email_verified: bool,
        registered_at: DateTime<Utc>,
    },
    CustomerEmailVerified {
        email: Email,
        verified_at: DateTime<Utc>,
    },
    /// The new address, unverified.
    CustomerEmailChanged {
        email: Email,
    },
    CustomerNameChanged {
        name: PersonName,
    },
    CustomerAddressAdded {
        address_id: AddressId,
        address: PostalAddress,
    },
    CustomerAddressChanged {
        address_id: AddressId,
        address: PostalAddress,
    },
    /// `was_default`: the book has no default shipping address any more.
    CustomerAddressRemoved {
        address_id: AddressId,
        was_default: bool,
    },
    DefaultShippingAddressSet {
        address_id: AddressId,
    },
    CustomerAccountClosed {
        closed_at: DateTime<Utc>,
    },
    /// The customer's data key is gone: every personal field of theirs, in every
    /// event, now reads as erased. Readers forget what they kept of them.
    CustomerErased {
        erased_at: DateTime<Utc>,
    },
}

impl DomainEvent for CustomerEvent {
    fn event_type(&self) -> String {
        let name = match self {
            CustomerEvent::CustomerRegistered { .. } => "CustomerRegistered",
            CustomerEvent::CustomerEmailVerified { .. } => "CustomerEmailVerified",
            CustomerEvent::CustomerEmailChanged { .. } => "CustomerEmailChanged",
            CustomerEvent::CustomerNameChanged { .. } => "CustomerNameChanged",
            CustomerEvent::CustomerAddressAdded { .. } => "CustomerAddressAdded",
            CustomerEvent::CustomerAddressChanged { .. } => "CustomerAddressChanged",
            CustomerEvent::CustomerAddressRemoved { .. } => "CustomerAddressRemoved",
            CustomerEvent::DefaultShippingAddressSet { .. } => "DefaultShippingAddressSet",
            CustomerEvent::CustomerAccountClosed { .. } => "CustomerAccountClosed",
            CustomerEvent::CustomerErased { .. } => "CustomerErased",
        };
        name.to_owned()
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}
