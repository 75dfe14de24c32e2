//! What may be asked of a customer account. Times and ids come from the command
//! side; so does every check of a password or a token.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{AddressId, CustomerId};
use crate::shared::{Email, PersonName, PostalAddress};

/// How the customer signed up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SignUp {
    /// With a password (its hash is kept by the command side, not here).
    Password,
    /// Through an outside OpenID Connect provider, which vouches for the address.
    External { issuer: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum CustomerCommand {
    RegisterCustomer {
        customer_id: CustomerId,
        email: Email,
        name: PersonName,
        sign_up: SignUp,
        registered_at: DateTime<Utc>,
    },
    /// The customer showed they receive mail at `email` (a signed token sent there).
    VerifyEmail {
        email: Email,
        verified_at: DateTime<Utc>,
    },
    ChangeEmail {
        email: Email,
    },
    ChangeName {
        name: PersonName,
    },
    AddAddress {
        address_id: AddressId,
        address: PostalAddress,
    },
    ChangeAddress {
        address_id: AddressId,
        address: PostalAddress,
    },
    RemoveAddress {
        address_id: AddressId,
    },
    SetDefaultShippingAddress {
        address_id: AddressId,
    },
    CloseAccount {
        closed_at: DateTime<Utc>,
    },
    /// The right to be forgotten: the command side destroys the customer's data
    /// key in the same transaction.
    EraseCustomer {
        erased_at: DateTime<Utc>,
    },
}
