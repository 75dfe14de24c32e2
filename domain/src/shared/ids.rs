//! Aggregate ids as UUID newtypes, so an order id is never passed as a cart id.
//! New ids are made by the command side and arrive in commands.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
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

// Other modules of the domain declare their own ids with it (order/ids.rs).
pub(crate) use uuid_id;

uuid_id!(
    /// A shopping cart.
    CartId
);
uuid_id!(
    /// An order, placed from a checked-out cart.
    OrderId
);
uuid_id!(
    /// A payment of an order.
    PaymentId
);
uuid_id!(
    /// A catalog product.
    ProductId
);
uuid_id!(
    /// A registered customer (guests have none).
    CustomerId
);
