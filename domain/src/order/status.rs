//! Where an order stands in its life. Stored in snapshots and carried by the events
//! whose outcome depends on the figures (`OrderShipped`, `OrderLinesCancelled`), so
//! a reader never works the state out by itself.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The states of the machine drawn in the [module documentation](super).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Placed from a checkout; stock is being reserved line by line.
    Placed,
    /// Every line is reserved; the order waits for an authorized payment.
    AwaitingPayment,
    /// Reserved and paid for: the warehouse may ship it.
    Confirmed,
    /// At least one shipment left, and something remains to ship.
    PartiallyShipped,
    /// Nothing remains to ship.
    Shipped,
    /// The carrier delivered everything shipped; returns may be requested.
    Delivered,
    /// Cancelled before anything shipped. Final, except that refunds are recorded.
    Cancelled,
}

impl OrderStatus {
    /// The name used in events, errors and the API.
    pub const fn as_str(&self) -> &'static str {
        match self {
            OrderStatus::Placed => "placed",
            OrderStatus::AwaitingPayment => "awaiting_payment",
            OrderStatus::Confirmed => "confirmed",
            OrderStatus::PartiallyShipped => "partially_shipped",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
