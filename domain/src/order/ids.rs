//! Ids that live inside an order: a shipment, a return and a refund. The command
//! side makes them and sends them in commands, so a repeated command can be told
//! from a new one.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! order_scoped_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            pub const fn new(id: Uuid) -> Self {
                $name(id)
            }

            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                $name(id)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok($name(s.parse()?))
            }
        }
    };
}

order_scoped_id!(
    /// One parcel of an order: the lines and quantities a carrier took away together.
    ShipmentId
);
order_scoped_id!(
    /// One return of delivered lines, from the customer's request to its arrival.
    ReturnId
);
order_scoped_id!(
    /// One refund of money to the customer; recording it twice is a no-op.
    RefundId
);
