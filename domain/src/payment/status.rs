//! Where a payment stands. Never stored on its own: [`super::Payment::status`]
//! derives it from the transaction log, and every event carries the status it led to.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Initiated; the gateway has not decided yet.
    Pending,
    /// The gateway waits for the customer to confirm (3-D Secure).
    ActionRequired,
    /// Money is held on the customer's account; nothing captured yet.
    Authorized,
    /// Part of the authorized amount is captured; the rest may still be.
    PartiallyCaptured,
    /// The whole authorized amount is captured.
    Captured,
    /// Part of what was captured is given back; more may be.
    PartiallyRefunded,
    /// Everything captured is given back. Final.
    Refunded,
    /// The authorization (or the wait for the customer) is cancelled. Final.
    Voided,
    /// The gateway or the bank said no. Final.
    Declined,
    /// The gateway could not be asked (timeout, outage). Final: the checkout
    /// starts a new payment rather than retrying this one.
    Failed,
}

impl PaymentStatus {
    pub const ALL: [PaymentStatus; 10] = [
        PaymentStatus::Pending,
        PaymentStatus::ActionRequired,
        PaymentStatus::Authorized,
        PaymentStatus::PartiallyCaptured,
        PaymentStatus::Captured,
        PaymentStatus::PartiallyRefunded,
        PaymentStatus::Refunded,
        PaymentStatus::Voided,
        PaymentStatus::Declined,
        PaymentStatus::Failed,
    ];

    /// The snake_case name used in JSON and read models.
    pub const fn as_str(&self) -> &'static str {
        match self {
            PaymentStatus::Pending => "pending",
            PaymentStatus::ActionRequired => "action_required",
            PaymentStatus::Authorized => "authorized",
            PaymentStatus::PartiallyCaptured => "partially_captured",
            PaymentStatus::Captured => "captured",
            PaymentStatus::PartiallyRefunded => "partially_refunded",
            PaymentStatus::Refunded => "refunded",
            PaymentStatus::Voided => "voided",
            PaymentStatus::Declined => "declined",
            PaymentStatus::Failed => "failed",
        }
    }

    /// No command changes a payment in a final status any more.
    pub const fn is_final(&self) -> bool {
        matches!(
            self,
            PaymentStatus::Refunded
                | PaymentStatus::Voided
                | PaymentStatus::Declined
                | PaymentStatus::Failed
        )
    }

    /// "a voided payment", "an authorized payment": how refusals name the status,
    /// so an API client reads `cannot capture a voided payment`.
    pub const fn a_payment(&self) -> &'static str {
        match self {
            PaymentStatus::Pending => "a pending payment",
            PaymentStatus::ActionRequired => "a payment awaiting the customer's action",
            PaymentStatus::Authorized => "an authorized payment",
            PaymentStatus::PartiallyCaptured => "a partially captured payment",
            PaymentStatus::Captured => "a captured payment",
            PaymentStatus::PartiallyRefunded => "a partially refunded payment",
            PaymentStatus::Refunded => "a refunded payment",
            PaymentStatus::Voided => "a voided payment",
            PaymentStatus::Declined => "a declined payment",
            PaymentStatus::Failed => "a failed payment",
        }
    }
}

impl fmt::Display for PaymentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_its_snake_case_name() {
        for status in PaymentStatus::ALL {
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::Value::from(status.as_str())
            );
        }
    }
}
