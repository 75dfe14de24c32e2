//! The facts of an order's life. Each carries the order id, the customer id (for
//! readers that filter by customer) and the resulting figures, so no projector
//! recomputes totals or remaining quantities, or looks up another aggregate.

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use super::{
    CancelledBy, EditId, EditedLine, LineQuantity, OrderStatus, RefundFor, RefundId, Replacement,
    Replaces, ReturnCondition, ReturnId, ReturnReason, ShipmentId,
};
use crate::payment::GatewayReference;
use crate::pricing::PricedCart;
use crate::shared::{
    CartId, Currency, CustomerId, Email, Money, OrderId, PaymentId, PostalAddress, Quantity, Sku,
};

/// A line as placed, with the total the order computed for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacedLine {
    pub sku: Sku,
    pub name: String,
    pub unit_price: Money,
    pub quantity: Quantity,
    /// `unit_price × quantity`.
    pub line_total: Money,
}

/// A line of a shipment and where the line stands after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippedLine {
    pub sku: Sku,
    pub name: String,
    /// Shipped in this shipment.
    pub quantity: Quantity,
    /// Shipped of this line in all shipments so far, this one included.
    pub shipped_after: u32,
    /// Ordered minus shipped minus cancelled, after this shipment.
    pub remaining_to_ship: u32,
}

/// A cancelled quantity of a line, its value, and where the line stands after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelledLine {
    pub sku: Sku,
    pub name: String,
    pub unit_price: Money,
    /// Cancelled now; this much stock is no longer needed.
    pub quantity: Quantity,
    /// `unit_price × quantity`: what this line adds to the refund.
    pub amount: Money,
    /// Cancelled of this line so far, this cancellation included.
    pub cancelled_after: u32,
    pub remaining_to_ship: u32,
}

/// A line of a return request, its value at the price paid, and why it comes back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnLine {
    pub sku: Sku,
    pub name: String,
    pub unit_price: Money,
    pub quantity: Quantity,
    /// `unit_price × quantity`.
    pub amount: Money,
    pub reason: ReturnReason,
    pub note: Option<String>,
    /// Units of another SKU wanted instead of the money.
    pub exchange_for: Option<Replacement>,
}

/// A line of a received return: what arrived, in which condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedLine {
    pub sku: Sku,
    pub name: String,
    pub unit_price: Money,
    pub quantity: Quantity,
    pub amount: Money,
    pub condition: ReturnCondition,
}

// `OrderPlaced` carries the address and the priced cart and is much larger than
// the rest; events are built once per command and stored, so boxing it would buy
// nothing but noise.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OrderEvent {
    OrderPlaced {
        order_id: OrderId,
        cart_id: CartId,
        customer_id: Option<CustomerId>,
        email: Email,
        shipping_address: PostalAddress,
        lines: Vec<PlacedLine>,
        currency: Currency,
        subtotal: Money,
        shipping_cost: Money,
        /// Subtotal plus shipping, minus the credit of what it replaces.
        total: Money,
        placed_at: DateTime<Utc>,
        /// For the replacement order of an exchange (v2).
        replaces: Option<Replaces>,
        /// The cart as priced at checkout, frozen: discounts, shipping, tax (v3;
        /// `None` before pricing existed, and for replacement orders).
        pricing: Option<PricedCart>,
    },
    OrderStockReserved {
        order_id: OrderId,
        customer_id: Option<CustomerId>,
        sku: Sku,
        quantity: Quantity,
        /// Lines still waiting for a reservation after this one.
        lines_awaiting_stock: u32,
    },
    /// Emitted with the `OrderStockReserved` of the last line: the order now
    /// awaits payment of `total`.
    OrderFullyReserved {
        order_id: OrderId,
        customer_id: Option<CustomerId>,
        total: Money,
    },
    OrderStockUnavailable {
        order_id: OrderId,
        customer_id: Option<CustomerId>,
        sku: Sku,
        quantity: Quantity,
    },
    OrderPaymentAuthorized {
        order_id: OrderId,
        customer_id: Option<CustomerId>,
        payment_id: PaymentId,
        amount: Money,
    },
    OrderPaymentFailed {
        order_id: OrderId,
        customer_id: Option<CustomerId>,
        payment_id: PaymentId,
        reason: String,
    },
    OrderConfirmed {
        order_id: OrderId,
        customer_id: Option<CustomerId>,
        /// `None` for an order with nothing to pay (v2): a replacement its
        /// return's credit paid for.
        payment_id: Option<PaymentId>,
        total: Money,
    },
    OrderShipped {
        order_id: OrderId,
        customer_id: Option<CustomerId>,
        shipment_id: ShipmentId,
        lines: Vec<ShippedLine>,
        carrier: String,
        tracking_number: String,
        shipped_at: DateTime<Utc>,
        /// Nothing remains to ship.
        fully_shipped: bool,
        /// `partially_shipped` or `shipped`.
        status_after: OrderStatus,
    },
    OrderDelivered {
        order_id: OrderId,
        customer_id: Option<CustomerId>,
        /// Delivered quantity per line (lines of which something shipped).
        lines: Vec<LineQuantity>,
        delivered_at: DateTime<Utc>,
    },
    OrderCancelled {
        order_id: OrderId,
        customer_id: Option<CustomerId>,
        reason: String,
        cancelled_by: CancelledBy,
        status_before: OrderStatus,
        /// Reserved quantities that inventory must release.
        release_stock: Vec<LineQuantity>,
        /// The authorized payment, if any, and the amount it authorized.
        payment_id: Option<PaymentId>,
        amount_authorized: Option<Money>,
        /// What the customer gets back: the order's value not yet cancelled or
        /// refunded (zero without a payment).
        amount_to_release: Money,
    },
    OrderLinesCancelled {
        order_id: OrderId,
        customer_id: Option<CustomerId>,
        lines: Vec<CancelledLine>,
        reason: String,
        cancelled_by: CancelledBy,
        payment_id: Option<PaymentId>,
        /// Sum of the lines' amounts: released from the authorization, or refunded
        /// where it was captured already.
        amount_to_refund: Money,
        /// The order total minus every line cancellation so far.
        order_total_after: Money,
        /// Unchanged, or `shipped` when nothing remains to ship.
        status_after: OrderStatus,
    },
    OrderReturnRequested {
        order_id: OrderId,
        customer_id: Option<CustomerId>,
        return_id: ReturnId,
        /// Each with its own reason.
        lines: Vec<ReturnLine>,
        /// Sum of the lines' amounts.
        return_value: Money,
    },
    OrderReturnApproved {
        order_id: OrderId,
        customer_id: Option<CustomerId>,
        return_id: ReturnId,
    },
    OrderReturnRejected {
        order_id: OrderId,
        customer_id: Option<CustomerId>,
        return_id: ReturnId,
        reason: String,
        /// No longer asked back: these units may be returned again.
        lines: Vec<LineQuantity>,
    },
    OrderReturnReceived {
        order_id: OrderId,
        customer_id: Option<CustomerId>,
        return_id: ReturnId,
        lines: Vec<ReceivedLine>,
        /// Sum of the lines' amounts at the price paid.
        return_value: Money,
        /// Kept by the shop, set by the admin who received the goods.
        restocking_fee: Money,
        /// Replacement units to send at no charge, up to `exchange_credit`.
        replacements: Vec<Replacement>,
        /// What the replacements take of the return's value (their value, at most
        /// the value minus the fee).
        exchange_credit: Money,
        /// What the replacements cost beyond the credit: the customer pays it.
        amount_due: Money,
        /// Money back: value minus fee minus credit, held for the refund
        /// `refund_id`, which the process issues (`None` when nothing is owed).
        refund_amount: Money,
        refund_id: Option<RefundId>,
        payment_id: Option<PaymentId>,
        /// The order the process places for the replacements, when there are any.
        replacement_order_id: Option<OrderId>,
    },
    /// A confirmed order's lines changed; the process holds the stock and adjusts
    /// the authorization, then settles it (or reverts it).
    OrderEdited {
        order_id: OrderId,
        customer_id: Option<CustomerId>,
        edit_id: EditId,
        edited_by: String,
        reason: String,
        lines: Vec<EditedLine>,
        /// The order's value (total after line cancellations) before and after.
        total_before: Money,
        total_after: Money,
        payment_id: PaymentId,
    },
    OrderEditSettled {
        order_id: OrderId,
        customer_id: Option<CustomerId>,
        edit_id: EditId,
        /// What the payment now authorizes: the order's value after the edit.
        amount_authorized: Money,
    },
    OrderEditReverted {
        order_id: OrderId,
        customer_id: Option<CustomerId>,
        edit_id: EditId,
        reason: String,
        /// The lines as they were before the edit (added ones: ordered 0, gone).
        lines: Vec<EditedLine>,
        total_after: Money,
    },
    OrderPaymentCaptured {
        order_id: OrderId,
        customer_id: Option<CustomerId>,
        payment_id: PaymentId,
        gateway_reference: GatewayReference,
        amount: Money,
        /// Every capture of the order so far, this one included.
        captured_total: Money,
    },
    /// A refund decided and held, not yet issued: the process issues it through
    /// the gateway, then records it (`OrderRefundRecorded`, same `refund_id`).
    OrderRefundRequested {
        order_id: OrderId,
        customer_id: Option<CustomerId>,
        refund_id: RefundId,
        payment_id: PaymentId,
        amount: Money,
        lines: Vec<LineQuantity>,
        reason: String,
        for_what: RefundFor,
        /// Captured minus refunded minus every refund held, after this one.
        refundable_remaining: Money,
    },
    OrderRefundRecorded {
        order_id: OrderId,
        customer_id: Option<CustomerId>,
        refund_id: RefundId,
        payment_id: PaymentId,
        amount: Money,
        lines: Vec<LineQuantity>,
        for_what: RefundFor,
        /// All refunds of the order so far, this one included.
        refunded_total: Money,
        /// What may still be refunded: amount authorized minus `refunded_total`.
        refundable_remaining: Money,
    },
    /// A guest order's data key is destroyed: its e-mail and street address, in
    /// this order's events and its checkout's, read as erased from now on.
    OrderGuestDataErased {
        order_id: OrderId,
        erased_at: DateTime<Utc>,
    },
}

/// Every event type of the Order aggregate, as stored in the `event_type` column.
pub const EVENT_TYPES: &[&str] = &[
    "OrderPlaced",
    "OrderStockReserved",
    "OrderFullyReserved",
    "OrderStockUnavailable",
    "OrderPaymentAuthorized",
    "OrderPaymentFailed",
    "OrderConfirmed",
    "OrderShipped",
    "OrderDelivered",
    "OrderCancelled",
    "OrderLinesCancelled",
    "OrderReturnRequested",
    "OrderReturnApproved",
    "OrderReturnRejected",
    "OrderReturnReceived",
    "OrderEdited",
    "OrderEditSettled",
    "OrderEditReverted",
    "OrderPaymentCaptured",
    "OrderRefundRequested",
    "OrderRefundRecorded",
    "OrderGuestDataErased",
];

impl OrderEvent {
    /// The variant name; `event_type()` without the allocation.
    pub const fn name(&self) -> &'static str {
        match self {
            OrderEvent::OrderPlaced { .. } => "OrderPlaced",
            OrderEvent::OrderStockReserved { .. } => "OrderStockReserved",
            OrderEvent::OrderFullyReserved { .. } => "OrderFullyReserved",
            OrderEvent::OrderStockUnavailable { .. } => "OrderStockUnavailable",
            OrderEvent::OrderPaymentAuthorized { .. } => "OrderPaymentAuthorized",
            OrderEvent::OrderPaymentFailed { .. } => "OrderPaymentFailed",
            OrderEvent::OrderConfirmed { .. } => "OrderConfirmed",
            OrderEvent::OrderShipped { .. } => "OrderShipped",
            OrderEvent::OrderDelivered { .. } => "OrderDelivered",
            OrderEvent::OrderCancelled { .. } => "OrderCancelled",
            OrderEvent::OrderLinesCancelled { .. } => "OrderLinesCancelled",
            OrderEvent::OrderReturnRequested { .. } => "OrderReturnRequested",
            OrderEvent::OrderReturnApproved { .. } => "OrderReturnApproved",
            OrderEvent::OrderReturnRejected { .. } => "OrderReturnRejected",
            OrderEvent::OrderReturnReceived { .. } => "OrderReturnReceived",
            OrderEvent::OrderEdited { .. } => "OrderEdited",
            OrderEvent::OrderEditSettled { .. } => "OrderEditSettled",
            OrderEvent::OrderEditReverted { .. } => "OrderEditReverted",
            OrderEvent::OrderPaymentCaptured { .. } => "OrderPaymentCaptured",
            OrderEvent::OrderRefundRequested { .. } => "OrderRefundRequested",
            OrderEvent::OrderRefundRecorded { .. } => "OrderRefundRecorded",
            OrderEvent::OrderGuestDataErased { .. } => "OrderGuestDataErased",
        }
    }
}

impl OrderEvent {
    /// The shape version of this event type, as stored in `event_version`.
    pub const fn version(&self) -> &'static str {
        match self {
            OrderEvent::OrderPlaced { .. } => "4",
            OrderEvent::OrderConfirmed { .. }
            | OrderEvent::OrderLinesCancelled { .. }
            | OrderEvent::OrderReturnRequested { .. }
            | OrderEvent::OrderReturnReceived { .. }
            | OrderEvent::OrderRefundRecorded { .. } => "2",
            _ => "1",
        }
    }
}

impl DomainEvent for OrderEvent {
    fn event_type(&self) -> String {
        self.name().to_owned()
    }

    /// Version 4: in `OrderPlaced`'s priced cart, a discount's part of a line is
    /// minor units. Version 3: `OrderPlaced` carries the priced cart. Version 2: `OrderPlaced` may replace a return, `OrderConfirmed` may have no
    /// payment, `OrderLinesCancelled` names who cancelled, `OrderReturnRequested`
    /// has a reason per line and exchanges, `OrderReturnReceived` conditions, fee,
    /// refund and replacements, `OrderRefundRecorded` what it is for (upcasters in
    /// [`crate::upcasting`]).
    fn event_version(&self) -> String {
        self.version().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::TimeZone;
    use uuid::Uuid;

    use super::*;
    use crate::shared::PostalAddressFields;

    /// One sample of every variant. The match at the end is exhaustive: a new
    /// variant breaks the build here, next to the samples it must join.
    fn one_of_each() -> Vec<OrderEvent> {
        let eur = Currency::new("EUR").unwrap();
        let money = Money::new(100, eur);
        let order_id = OrderId::new(Uuid::nil());
        let sku = Sku::new("SKU-1").unwrap();
        let quantity = Quantity::new(1).unwrap();
        let at = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let line = LineQuantity {
            sku: sku.clone(),
            quantity,
        };
        let return_line = ReturnLine {
            sku: sku.clone(),
            name: "Mug".into(),
            unit_price: money,
            quantity,
            amount: money,
            reason: ReturnReason::Defective,
            note: Some("it rattles".into()),
            exchange_for: Some(Replacement {
                sku: sku.clone(),
                name: "Mug".into(),
                unit_price: money,
                quantity,
            }),
        };
        let received_line = ReceivedLine {
            sku: sku.clone(),
            name: "Mug".into(),
            unit_price: money,
            quantity,
            amount: money,
            condition: ReturnCondition::Resellable,
        };
        let return_id = ReturnId::new(Uuid::nil());
        let refund_id = RefundId::new(Uuid::nil());
        let payment_id = PaymentId::new(Uuid::nil());
        let samples = vec![
            OrderEvent::OrderPlaced {
                order_id,
                cart_id: CartId::new(Uuid::nil()),
                customer_id: None,
                email: Email::new("a@b.co").unwrap(),
                shipping_address: PostalAddress::new(PostalAddressFields {
                    name: "A".into(),
                    line1: "B".into(),
                    line2: None,
                    city: "C".into(),
                    postal_code: "D".into(),
                    region: None,
                    country: "DE".into(),
                })
                .unwrap(),
                lines: vec![],
                currency: eur,
                subtotal: money,
                shipping_cost: money,
                total: money,
                placed_at: at,
                pricing: None,
                replaces: Some(Replaces {
                    order_id,
                    return_id,
                    credit: money,
                }),
            },
            OrderEvent::OrderStockReserved {
                order_id,
                customer_id: None,
                sku: sku.clone(),
                quantity,
                lines_awaiting_stock: 0,
            },
            OrderEvent::OrderFullyReserved {
                order_id,
                customer_id: None,
                total: money,
            },
            OrderEvent::OrderStockUnavailable {
                order_id,
                customer_id: None,
                sku: sku.clone(),
                quantity,
            },
            OrderEvent::OrderPaymentAuthorized {
                order_id,
                customer_id: None,
                payment_id,
                amount: money,
            },
            OrderEvent::OrderPaymentFailed {
                order_id,
                customer_id: None,
                payment_id,
                reason: "declined".into(),
            },
            OrderEvent::OrderConfirmed {
                order_id,
                customer_id: None,
                payment_id: Some(payment_id),
                total: money,
            },
            OrderEvent::OrderShipped {
                order_id,
                customer_id: None,
                shipment_id: ShipmentId::new(Uuid::nil()),
                lines: vec![],
                carrier: "DHL".into(),
                tracking_number: "1".into(),
                shipped_at: at,
                fully_shipped: true,
                status_after: OrderStatus::Shipped,
            },
            OrderEvent::OrderDelivered {
                order_id,
                customer_id: None,
                lines: vec![line.clone()],
                delivered_at: at,
            },
            OrderEvent::OrderCancelled {
                order_id,
                customer_id: None,
                reason: "r".into(),
                cancelled_by: CancelledBy::Admin,
                status_before: OrderStatus::Placed,
                release_stock: vec![],
                payment_id: None,
                amount_authorized: None,
                amount_to_release: money,
            },
            OrderEvent::OrderLinesCancelled {
                order_id,
                customer_id: None,
                lines: vec![],
                reason: "r".into(),
                cancelled_by: CancelledBy::Customer,
                payment_id: None,
                amount_to_refund: money,
                order_total_after: money,
                status_after: OrderStatus::Confirmed,
            },
            OrderEvent::OrderReturnRequested {
                order_id,
                customer_id: None,
                return_id,
                lines: vec![return_line.clone()],
                return_value: money,
            },
            OrderEvent::OrderReturnApproved {
                order_id,
                customer_id: None,
                return_id,
            },
            OrderEvent::OrderReturnRejected {
                order_id,
                customer_id: None,
                return_id,
                reason: "r".into(),
                lines: vec![line.clone()],
            },
            OrderEvent::OrderReturnReceived {
                order_id,
                customer_id: None,
                return_id,
                lines: vec![received_line],
                return_value: money,
                restocking_fee: money,
                replacements: return_line.exchange_for.clone().into_iter().collect(),
                exchange_credit: money,
                amount_due: money,
                refund_amount: money,
                refund_id: Some(refund_id),
                payment_id: Some(payment_id),
                replacement_order_id: Some(order_id),
            },
            OrderEvent::OrderEdited {
                order_id,
                customer_id: None,
                edit_id: EditId::new(Uuid::nil()),
                edited_by: "admin-1".into(),
                reason: "asked by phone".into(),
                lines: vec![EditedLine {
                    sku: sku.clone(),
                    name: "Mug".into(),
                    unit_price: money,
                    ordered_before: 1,
                    ordered_after: 2,
                }],
                total_before: money,
                total_after: money,
                payment_id,
            },
            OrderEvent::OrderEditSettled {
                order_id,
                customer_id: None,
                edit_id: EditId::new(Uuid::nil()),
                amount_authorized: money,
            },
            OrderEvent::OrderEditReverted {
                order_id,
                customer_id: None,
                edit_id: EditId::new(Uuid::nil()),
                reason: "out of stock".into(),
                lines: vec![],
                total_after: money,
            },
            OrderEvent::OrderPaymentCaptured {
                order_id,
                customer_id: None,
                payment_id,
                gateway_reference: GatewayReference::new("cap_1").unwrap(),
                amount: money,
                captured_total: money,
            },
            OrderEvent::OrderRefundRequested {
                order_id,
                customer_id: None,
                refund_id,
                payment_id,
                amount: money,
                lines: vec![line.clone()],
                reason: "r".into(),
                for_what: RefundFor::Return { return_id },
                refundable_remaining: money,
            },
            OrderEvent::OrderRefundRecorded {
                order_id,
                customer_id: None,
                refund_id,
                payment_id,
                amount: money,
                lines: vec![line],
                for_what: RefundFor::Goodwill,
                refunded_total: money,
                refundable_remaining: money,
            },
            OrderEvent::OrderGuestDataErased {
                order_id,
                erased_at: chrono::Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap(),
            },
        ];
        for sample in &samples {
            match sample {
                OrderEvent::OrderPlaced { .. }
                | OrderEvent::OrderStockReserved { .. }
                | OrderEvent::OrderFullyReserved { .. }
                | OrderEvent::OrderStockUnavailable { .. }
                | OrderEvent::OrderPaymentAuthorized { .. }
                | OrderEvent::OrderPaymentFailed { .. }
                | OrderEvent::OrderConfirmed { .. }
                | OrderEvent::OrderShipped { .. }
                | OrderEvent::OrderDelivered { .. }
                | OrderEvent::OrderCancelled { .. }
                | OrderEvent::OrderLinesCancelled { .. }
                | OrderEvent::OrderReturnRequested { .. }
                | OrderEvent::OrderReturnApproved { .. }
                | OrderEvent::OrderReturnRejected { .. }
                | OrderEvent::OrderReturnReceived { .. }
                | OrderEvent::OrderEdited { .. }
                | OrderEvent::OrderEditSettled { .. }
                | OrderEvent::OrderEditReverted { .. }
                | OrderEvent::OrderPaymentCaptured { .. }
                | OrderEvent::OrderRefundRequested { .. }
                | OrderEvent::OrderRefundRecorded { .. }
                | OrderEvent::OrderGuestDataErased { .. } => {}
            }
        }
        samples
    }

    #[test]
    fn event_types_lists_every_variant_exactly_once() {
        let samples = one_of_each();
        let types: BTreeSet<String> = samples.iter().map(DomainEvent::event_type).collect();
        let listed: BTreeSet<String> = EVENT_TYPES.iter().map(|t| (*t).to_owned()).collect();
        assert_eq!(types.len(), samples.len(), "two samples share a type");
        assert_eq!(
            listed.len(),
            EVENT_TYPES.len(),
            "EVENT_TYPES has a duplicate"
        );
        assert_eq!(types, listed);
    }

    #[test]
    fn every_event_round_trips_under_its_type_name_and_version() {
        for event in one_of_each() {
            assert!(["1", "2", "3", "4"].contains(&event.event_version().as_str()));
            let json = serde_json::to_value(&event).unwrap();
            assert!(json.get(event.name()).is_some(), "{json}");
            assert_eq!(serde_json::from_value::<OrderEvent>(json).unwrap(), event);
        }
    }
}
