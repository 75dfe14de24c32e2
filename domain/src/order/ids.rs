//! Ids that live inside an order: a shipment, a return and a refund. The command
//! side makes them and sends them in commands, so a repeated command can be told
//! from a new one.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::shared::ids::uuid_id;

uuid_id!(
    /// One parcel of an order: the lines and quantities a carrier took away together.
    ShipmentId
);
uuid_id!(
    /// One return of delivered lines, from the customer's request to its arrival.
    ReturnId
);
uuid_id!(
    /// One refund of money to the customer; recording it twice is a no-op.
    RefundId
);
uuid_id!(
    /// One edit of a confirmed order: the lines it changed, settled once stock and
    /// payment follow, or reverted.
    EditId
);
