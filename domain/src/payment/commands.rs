//! What may be asked of a payment. `InitiatePayment` comes from the checkout; the
//! `Record…` commands carry the gateway's decision (the call to the gateway lives in
//! `commands/`, and its answer, synchronous or by webhook, arrives here as data);
//! `Capture`, `Void` and `Refund` record money movements the gateway has confirmed.

use serde::{Deserialize, Serialize};

use super::{CardSummary, GatewayReference, NextAction};
use crate::order::RefundId;
use crate::shared::{CustomerId, Money, OrderId, PaymentId, PaymentMethodToken};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum PaymentCommand {
    /// Opens the payment of an order for `amount` (> 0) with the gateway's token
    /// for the customer's payment method.
    InitiatePayment {
        payment_id: PaymentId,
        order_id: OrderId,
        amount: Money,
        method: PaymentMethodToken,
        /// None for a guest checkout.
        #[serde(default)]
        customer_id: Option<CustomerId>,
    },
    /// The gateway wants the customer to confirm (3-D Secure); its decision follows
    /// later, usually by webhook.
    RecordActionRequired {
        gateway_reference: GatewayReference,
        next_action: NextAction,
    },
    /// The gateway authorized `amount` (at most the initiated amount).
    RecordAuthorization {
        gateway_reference: GatewayReference,
        amount: Money,
        #[serde(default)]
        card: Option<CardSummary>,
    },
    /// The gateway or the bank refused the payment.
    RecordDecline {
        reason_code: String,
        message: String,
    },
    /// The gateway could not be asked or did not answer (timeout, outage).
    RecordFailure { reason: String },
    /// The gateway captured `amount` of the authorization.
    Capture {
        gateway_reference: GatewayReference,
        amount: Money,
    },
    /// The gateway released the authorization (or cancelled the wait for the customer).
    Void { gateway_reference: GatewayReference },
    /// The gateway raised the authorization by `amount` (an edit raised the
    /// order's value); the initiated amount rises with it.
    RecordAuthorizationIncreased {
        gateway_reference: GatewayReference,
        amount: Money,
    },
    /// The gateway released `amount` of an authorization, keeping the rest
    /// capturable (a partial void: cancelled lines, an edit that lowered the total).
    ReleaseAuthorization {
        gateway_reference: GatewayReference,
        amount: Money,
    },
    /// The gateway gave `amount` of the captured money back.
    Refund {
        gateway_reference: GatewayReference,
        amount: Money,
        reason: String,
        /// The order's refund this is (absent for refunds made outside an order's
        /// decision).
        #[serde(default)]
        refund_id: Option<RefundId>,
    },
}

impl PaymentCommand {
    /// The command's name, for the `command` metadata key and logs.
    pub const fn name(&self) -> &'static str {
        match self {
            PaymentCommand::InitiatePayment { .. } => "InitiatePayment",
            PaymentCommand::RecordActionRequired { .. } => "RecordActionRequired",
            PaymentCommand::RecordAuthorization { .. } => "RecordAuthorization",
            PaymentCommand::RecordDecline { .. } => "RecordDecline",
            PaymentCommand::RecordFailure { .. } => "RecordFailure",
            PaymentCommand::Capture { .. } => "Capture",
            PaymentCommand::Void { .. } => "Void",
            PaymentCommand::ReleaseAuthorization { .. } => "ReleaseAuthorization",
            PaymentCommand::RecordAuthorizationIncreased { .. } => "RecordAuthorizationIncreased",
            PaymentCommand::Refund { .. } => "Refund",
        }
    }
}
