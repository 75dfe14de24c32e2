//! Customer accounts (aggregate type `Customer`, id [`CustomerId`]): who shops
//! here, how to reach them, where their goods go.
//!
//! Every field of these events that names or locates a person (the e-mail
//! address, the name, the addresses) is personal data: the event store seals it
//! under the customer's own key ([`crate::personal`]), and erasing the customer
//! destroys that key. Passwords are not here at all: their hashes live in a table
//! of the command side, never in an event.
//!
//! # Rules
//!
//! - A customer registers once, with an e-mail address and a name (1 to 200
//!   characters, no control characters); by password, or through an outside
//!   identity provider, which vouches for the address.
//! - The address is verified for the address it was sent to: a verification of an
//!   older address (changed since) is refused. Changing the address makes it
//!   unverified again.
//! - An address book of at most [`MAX_ADDRESSES`] addresses, each with its own id;
//!   one may be the default shipping address. Removing the default leaves none.
//! - A closed account refuses everything but erasure. An erased customer refuses
//!   everything; erasing again changes nothing.
//! - A change that changes nothing records nothing.
//!
//! | from | command | to | event |
//! | --- | --- | --- | --- |
//! | (none) | `RegisterCustomer` | open | `CustomerRegistered` |
//! | open | `VerifyEmail` | open | `CustomerEmailVerified` |
//! | open | `ChangeEmail` | open | `CustomerEmailChanged` |
//! | open | `ChangeName` | open | `CustomerNameChanged` |
//! | open | `AddAddress`, `ChangeAddress`, `RemoveAddress` | open | `CustomerAddressAdded`, `…Changed`, `…Removed` |
//! | open | `SetDefaultShippingAddress` | open | `DefaultShippingAddressSet` |
//! | open | `CloseAccount` | closed | `CustomerAccountClosed` |
//! | open, closed | `EraseCustomer` | erased | `CustomerErased` |

mod aggregate;
mod commands;
mod errors;
mod events;

#[cfg(test)]
mod tests;

pub use crate::shared::CustomerId;
pub use aggregate::{Customer, CustomerState};
pub use commands::{CustomerCommand, SignUp};
pub use errors::CustomerError;
pub use events::{CustomerEvent, EVENT_TYPES};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// How many addresses one customer's book holds at most.
pub const MAX_ADDRESSES: usize = 20;

/// An address of a customer's book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AddressId(Uuid);

impl AddressId {
    pub const fn new(id: Uuid) -> Self {
        AddressId(id)
    }

    pub const fn as_uuid(&self) -> Uuid {
        self.0
    }
}
