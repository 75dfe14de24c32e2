//! The order read model (`read_orders`): one row per order with its lines and what
//! happened to each (reserved, shipped, cancelled, delivered, returned, refunded),
//! its payment, shipments, returns and refunds, for customers' order history and
//! the back office.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use domain::order::{
    CancelledBy, LineQuantity, OrderEvent, RefundFor, Replacement, ReturnCondition, ReturnLine,
    ReturnReason,
};
use domain::shared::Money;
use sqlx::PgExecutor;

use super::document::{self, existing, DocumentProjection, EventContext, KeyKind, View};
use super::pagination::{clamp_limit, decode_cursor, list_newest_first, Filter, Page};
use super::pricing_view::PricedCartView;
use super::view_types::{AddressView, MoneyView};
use crate::Error;

pub const PROJECTOR: &str = "orders";

/// Builds `read_orders`.
pub type OrdersProjection = DocumentProjection<OrderView>;

/// Where an order is in its life (see the Order aggregate's state machine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Placed,
    AwaitingPayment,
    Confirmed,
    PartiallyShipped,
    Shipped,
    Delivered,
    Cancelled,
}

impl OrderStatus {
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

impl From<domain::order::OrderStatus> for OrderStatus {
    fn from(status: domain::order::OrderStatus) -> Self {
        use domain::order::OrderStatus as Domain;
        match status {
            Domain::Placed => OrderStatus::Placed,
            Domain::AwaitingPayment => OrderStatus::AwaitingPayment,
            Domain::Confirmed => OrderStatus::Confirmed,
            Domain::PartiallyShipped => OrderStatus::PartiallyShipped,
            Domain::Shipped => OrderStatus::Shipped,
            Domain::Delivered => OrderStatus::Delivered,
            Domain::Cancelled => OrderStatus::Cancelled,
        }
    }
}

/// What inventory answered for a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StockStatus {
    Pending,
    Reserved,
    Unavailable,
}

/// One line of an order and what happened to its units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderLineView {
    pub sku: String,
    pub name: String,
    pub unit_price: MoneyView,
    /// `unit_price × ordered`.
    pub line_total: MoneyView,
    pub ordered: u32,
    pub stock: StockStatus,
    pub shipped: u32,
    pub cancelled: u32,
    pub delivered: u32,
    /// Units the customer asked to send back.
    pub return_requested: u32,
    /// Units received back.
    pub returned: u32,
    /// Units named by refunds.
    pub refunded: u32,
}

/// A quantity of one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LineQuantityView {
    pub sku: String,
    pub quantity: u32,
}

impl From<LineQuantity> for LineQuantityView {
    fn from(line: LineQuantity) -> Self {
        LineQuantityView {
            sku: line.sku.as_str().to_owned(),
            quantity: line.quantity.get(),
        }
    }
}

/// The payment authorized for the order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderPaymentView {
    pub payment_id: Uuid,
    pub authorized_amount: MoneyView,
}

/// A payment the gateway refused before another was tried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FailedPaymentView {
    pub payment_id: Uuid,
    pub reason: String,
}

/// One line of a shipment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ShipmentLineView {
    pub sku: String,
    pub name: String,
    pub quantity: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ShipmentView {
    pub shipment_id: Uuid,
    pub carrier: String,
    pub tracking_number: String,
    pub shipped_at: DateTime<Utc>,
    pub lines: Vec<ShipmentLineView>,
}

/// Where a return stands: requested by the customer, approved or rejected by an
/// admin, received by the warehouse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReturnStatus {
    Requested,
    Approved,
    Rejected,
    Received,
}

impl ReturnStatus {
    pub const fn as_str(&self) -> &'static str {
        match self {
            ReturnStatus::Requested => "requested",
            ReturnStatus::Approved => "approved",
            ReturnStatus::Rejected => "rejected",
            ReturnStatus::Received => "received",
        }
    }
}

/// Why a unit comes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReturnReasonView {
    Damaged,
    Defective,
    WrongItem,
    NotAsDescribed,
    NoLongerNeeded,
    Other,
}

impl From<ReturnReason> for ReturnReasonView {
    fn from(reason: ReturnReason) -> Self {
        match reason {
            ReturnReason::Damaged => ReturnReasonView::Damaged,
            ReturnReason::Defective => ReturnReasonView::Defective,
            ReturnReason::WrongItem => ReturnReasonView::WrongItem,
            ReturnReason::NotAsDescribed => ReturnReasonView::NotAsDescribed,
            ReturnReason::NoLongerNeeded => ReturnReasonView::NoLongerNeeded,
            ReturnReason::Other => ReturnReasonView::Other,
        }
    }
}

/// The condition a returned line arrived in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReturnConditionView {
    /// Back in stock.
    Resellable,
    /// Not restocked.
    Damaged,
    /// Received before conditions were recorded.
    Unrecorded,
}

impl From<ReturnCondition> for ReturnConditionView {
    fn from(condition: ReturnCondition) -> Self {
        match condition {
            ReturnCondition::Resellable => ReturnConditionView::Resellable,
            ReturnCondition::Damaged => ReturnConditionView::Damaged,
            ReturnCondition::Unrecorded => ReturnConditionView::Unrecorded,
        }
    }
}

/// Units of another SKU asked in exchange, at the catalog's price then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReplacementView {
    pub sku: String,
    pub name: String,
    pub unit_price: MoneyView,
    pub quantity: u32,
}

impl From<Replacement> for ReplacementView {
    fn from(replacement: Replacement) -> Self {
        ReplacementView {
            sku: replacement.sku.as_str().to_owned(),
            name: replacement.name,
            unit_price: replacement.unit_price.into(),
            quantity: replacement.quantity.get(),
        }
    }
}

/// One line of a return, valued at the price paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReturnLineView {
    pub sku: String,
    pub name: String,
    pub unit_price: MoneyView,
    pub quantity: u32,
    pub amount: MoneyView,
    pub reason: ReturnReasonView,
    pub note: Option<String>,
    pub exchange_for: Option<ReplacementView>,
    /// Once received.
    pub condition: Option<ReturnConditionView>,
}

impl From<ReturnLine> for ReturnLineView {
    fn from(line: ReturnLine) -> Self {
        ReturnLineView {
            sku: line.sku.as_str().to_owned(),
            name: line.name,
            unit_price: line.unit_price.into(),
            quantity: line.quantity.get(),
            amount: line.amount.into(),
            reason: line.reason.into(),
            note: line.note,
            exchange_for: line.exchange_for.map(ReplacementView::from),
            condition: None,
        }
    }
}

/// What a received return settled: the fee kept, what goes back, what the
/// replacements took and what they cost beyond it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReturnSettlementView {
    pub restocking_fee: MoneyView,
    pub exchange_credit: MoneyView,
    pub amount_due: MoneyView,
    pub refund_amount: MoneyView,
    /// The refund holding `refund_amount` (see `refunds`); none when nothing is owed.
    pub refund_id: Option<Uuid>,
    /// The order the process places for the replacements, if any.
    pub replacement_order_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReturnView {
    pub return_id: Uuid,
    pub status: ReturnStatus,
    pub lines: Vec<ReturnLineView>,
    pub return_value: MoneyView,
    pub requested_at: DateTime<Utc>,
    /// When an admin approved or rejected it.
    pub decided_at: Option<DateTime<Utc>>,
    pub rejection_reason: Option<String>,
    pub received_at: Option<DateTime<Utc>>,
    pub settlement: Option<ReturnSettlementView>,
}

/// What a refund gives money back for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RefundForView {
    Return { return_id: Uuid },
    LineCancellation,
    Goodwill,
    Unstated,
}

impl From<RefundFor> for RefundForView {
    fn from(for_what: RefundFor) -> Self {
        match for_what {
            RefundFor::Return { return_id } => RefundForView::Return {
                return_id: return_id.as_uuid(),
            },
            RefundFor::LineCancellation => RefundForView::LineCancellation,
            RefundFor::Goodwill => RefundForView::Goodwill,
            RefundFor::Unstated => RefundForView::Unstated,
        }
    }
}

/// `pending` while decided and not yet issued by the gateway, `recorded` after.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    Pending,
    Recorded,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RefundView {
    pub refund_id: Uuid,
    pub payment_id: Uuid,
    pub status: RefundStatus,
    pub amount: MoneyView,
    pub lines: Vec<LineQuantityView>,
    pub for_what: RefundForView,
    /// An admin's reason, for refunds they requested.
    pub reason: Option<String>,
    pub requested_at: DateTime<Utc>,
    pub recorded_at: Option<DateTime<Utc>>,
}

/// Unshipped units of some lines, cancelled while the rest of the order went on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LineCancellationView {
    pub reason: String,
    pub cancelled_by: CancelledByView,
    pub lines: Vec<LineQuantityView>,
    /// What these lines were worth, to be refunded.
    pub amount: MoneyView,
    pub cancelled_at: DateTime<Utc>,
}

/// The return a replacement order replaces, and what the return's value paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReplacesView {
    pub order_id: Uuid,
    pub return_id: Uuid,
    pub credit: MoneyView,
}

/// Where an edit stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EditStatus {
    /// Recorded; stock and payment are following.
    Pending,
    Settled,
    /// Stock or payment could not follow: the lines are as before.
    Reverted,
}

/// One line an edit changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EditedLineView {
    pub sku: String,
    pub name: String,
    pub unit_price: MoneyView,
    /// 0 for a line the edit added.
    pub ordered_before: u32,
    pub ordered_after: u32,
}

/// An edit of the order: what changed, by whom and why, and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EditView {
    pub edit_id: Uuid,
    pub status: EditStatus,
    pub edited_by: String,
    pub reason: String,
    pub lines: Vec<EditedLineView>,
    pub total_before: MoneyView,
    pub total_after: MoneyView,
    pub edited_at: DateTime<Utc>,
    pub settled_at: Option<DateTime<Utc>>,
    pub revert_reason: Option<String>,
}

/// Who cancelled an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CancelledByView {
    Customer,
    Admin,
    System,
}

impl From<CancelledBy> for CancelledByView {
    fn from(by: CancelledBy) -> Self {
        match by {
            CancelledBy::Customer => CancelledByView::Customer,
            CancelledBy::Admin => CancelledByView::Admin,
            CancelledBy::System => CancelledByView::System,
        }
    }
}

/// Why and by whom the whole order was cancelled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CancellationView {
    pub reason: String,
    pub cancelled_by: CancelledByView,
    /// What the customer gets back.
    pub amount_to_release: MoneyView,
    pub cancelled_at: DateTime<Utc>,
}

/// An order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderView {
    pub order_id: Uuid,
    /// The cart it was checked out from.
    pub cart_id: Uuid,
    pub status: OrderStatus,
    /// `None` for a guest's order.
    pub customer_id: Option<Uuid>,
    pub email: String,
    pub shipping_address: AddressView,
    /// ISO 4217; every amount of the order is in it.
    pub currency: String,
    /// In the order they were placed in; one line per SKU.
    pub lines: Vec<OrderLineView>,
    /// The cart as priced at checkout, frozen: discounts, shipping, tax. `None`
    /// for orders placed before pricing, and replacement orders.
    #[serde(default)]
    pub pricing: Option<PricedCartView>,
    pub subtotal: MoneyView,
    /// The shipping cost.
    pub shipping: MoneyView,
    /// Subtotal plus shipping, as placed.
    pub total: MoneyView,
    /// `total` minus every line cancellation.
    pub total_after_cancellations: MoneyView,
    pub payment: Option<OrderPaymentView>,
    pub failed_payments: Vec<FailedPaymentView>,
    /// Captured so far: what ships is captured, never more.
    pub captured_total: MoneyView,
    pub refunded_total: MoneyView,
    pub refunds: Vec<RefundView>,
    pub shipments: Vec<ShipmentView>,
    pub returns: Vec<ReturnView>,
    pub line_cancellations: Vec<LineCancellationView>,
    /// Edits before shipment, oldest first.
    pub edits: Vec<EditView>,
    pub cancellation: Option<CancellationView>,
    /// For the replacement order of an exchange: what it replaces.
    pub replaces: Option<ReplacesView>,
    pub placed_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// The order stream's sequence of the last event folded in.
    pub version: i64,
    pub updated_at: DateTime<Utc>,
}

impl OrderView {
    fn line_mut(&mut self, sku: &str) -> Option<&mut OrderLineView> {
        self.lines.iter_mut().find(|line| line.sku == sku)
    }

    /// Adds each line's quantity to the count `field` picks.
    fn count<'a>(
        &mut self,
        lines: impl IntoIterator<Item = (&'a str, u32)>,
        field: fn(&mut OrderLineView) -> &mut u32,
    ) {
        for (sku, quantity) in lines {
            if let Some(line) = self.line_mut(sku) {
                let count = field(line);
                *count = count.saturating_add(quantity);
            }
        }
    }

    /// Sets each edited line's ordered quantity (and total); adds lines the view
    /// lacks, drops those set to zero.
    fn set_ordered(
        &mut self,
        lines: &[domain::order::EditedLine],
        quantity: fn(&domain::order::EditedLine) -> u32,
    ) {
        for edited in lines {
            let ordered = quantity(edited);
            let line_total = MoneyView::from(Money::new(
                edited
                    .unit_price
                    .amount()
                    .saturating_mul(i64::from(ordered)),
                edited.unit_price.currency(),
            ));
            match self.line_mut(edited.sku.as_str()) {
                Some(_) if ordered == 0 => self.lines.retain(|l| l.sku != edited.sku.as_str()),
                Some(line) => {
                    line.ordered = ordered;
                    line.line_total = line_total;
                }
                None if ordered > 0 => self.lines.push(OrderLineView {
                    sku: edited.sku.as_str().to_owned(),
                    name: edited.name.clone(),
                    unit_price: edited.unit_price.into(),
                    line_total,
                    ordered,
                    stock: StockStatus::Pending,
                    shipped: 0,
                    cancelled: 0,
                    delivered: 0,
                    return_requested: 0,
                    returned: 0,
                    refunded: 0,
                }),
                None => {}
            }
        }
    }

    fn return_mut(&mut self, return_id: Uuid) -> Option<&mut ReturnView> {
        self.returns.iter_mut().find(|r| r.return_id == return_id)
    }

    fn set_stock(mut self, sku: &str, stock: StockStatus) -> Self {
        if let Some(line) = self.line_mut(sku) {
            line.stock = stock;
        }
        self
    }
}

impl View for OrderView {
    const PROJECTOR: &'static str = PROJECTOR;
    const AGGREGATE_TYPE: &'static str = domain::AggregateKind::Order.type_name();
    const TABLE: &'static str = "read_orders";
    const KEY_COLUMN: &'static str = "order_id";
    const KEY_KIND: KeyKind = KeyKind::Uuid;
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("customer_id", "(doc->>'customer_id')::uuid"),
        ("status", "doc->>'status'"),
        ("placed_at", "(doc->>'placed_at')::timestamptz"),
    ];

    /// The e-mail address and the street address of the customer's orders read
    /// as erased, as the log does once the key is gone; country and region stay
    /// (accounting keeps them).
    const FORGET_CUSTOMER: Option<&'static str> = Some(
        "UPDATE {table}
            SET doc = jsonb_set(doc, '{email}', to_jsonb('erased@erased.invalid'::text))
                      || jsonb_build_object('shipping_address', doc->'shipping_address'
                          || jsonb_build_object('name', 'erased', 'line1', 'erased',
                                                'city', 'erased', 'postal_code', 'erased')
                          || CASE WHEN doc->'shipping_address'->>'line2' IS NULL THEN '{}'::jsonb
                                  ELSE jsonb_build_object('line2', 'erased') END),
                position = greatest(position, $2)
          WHERE customer_id = $1",
    );

    type Event = OrderEvent;

    fn fold(view: Option<Self>, event: OrderEvent, at: &EventContext) -> Result<Self, String> {
        let mut view = match (view, event) {
            (
                None,
                OrderEvent::OrderPlaced {
                    order_id,
                    cart_id,
                    customer_id,
                    email,
                    shipping_address,
                    lines,
                    currency,
                    subtotal,
                    shipping_cost,
                    total,
                    placed_at,
                    replaces,
                    pricing,
                },
            ) => OrderView {
                pricing: pricing.map(PricedCartView::from),
                order_id: order_id.as_uuid(),
                cart_id: cart_id.as_uuid(),
                status: OrderStatus::Placed,
                customer_id: customer_id.map(|id| id.as_uuid()),
                email: email.as_str().to_owned(),
                shipping_address: shipping_address.into(),
                currency: currency.code().to_owned(),
                lines: lines
                    .into_iter()
                    .map(|line| OrderLineView {
                        sku: line.sku.as_str().to_owned(),
                        name: line.name,
                        unit_price: line.unit_price.into(),
                        line_total: line.line_total.into(),
                        ordered: line.quantity.get(),
                        stock: StockStatus::Pending,
                        shipped: 0,
                        cancelled: 0,
                        delivered: 0,
                        return_requested: 0,
                        returned: 0,
                        refunded: 0,
                    })
                    .collect(),
                subtotal: subtotal.into(),
                shipping: shipping_cost.into(),
                total: total.into(),
                total_after_cancellations: total.into(),
                payment: None,
                failed_payments: Vec::new(),
                captured_total: MoneyView::zero(currency.code()),
                refunded_total: MoneyView::zero(currency.code()),
                refunds: Vec::new(),
                shipments: Vec::new(),
                returns: Vec::new(),
                line_cancellations: Vec::new(),
                edits: Vec::new(),
                cancellation: None,
                replaces: replaces.map(|r| ReplacesView {
                    order_id: r.order_id.as_uuid(),
                    return_id: r.return_id.as_uuid(),
                    credit: r.credit.into(),
                }),
                placed_at,
                delivered_at: None,
                version: 0,
                updated_at: at.recorded_at,
            },
            (Some(_), OrderEvent::OrderPlaced { .. }) => {
                return Err("OrderPlaced for a stream that already exists".into())
            }
            (Some(view), event) => fold_placed(view, event, at),
            (None, event) => return existing(None, event.name()),
        };
        view.version = at.sequence;
        view.updated_at = at.recorded_at;
        Ok(view)
    }

    fn version(&self) -> i64 {
        self.version
    }
}

/// Every event after `OrderPlaced`, on the placed order's view.
fn fold_placed(mut view: OrderView, event: OrderEvent, at: &EventContext) -> OrderView {
    match event {
        // Refused by `fold` before it gets here.
        OrderEvent::OrderPlaced { .. } => {}
        OrderEvent::OrderStockReserved { sku, .. } => {
            view = view.set_stock(sku.as_str(), StockStatus::Reserved);
        }
        OrderEvent::OrderStockUnavailable { sku, .. } => {
            view = view.set_stock(sku.as_str(), StockStatus::Unavailable);
        }
        OrderEvent::OrderFullyReserved { .. } => view.status = OrderStatus::AwaitingPayment,
        OrderEvent::OrderPaymentAuthorized {
            payment_id, amount, ..
        } => {
            view.payment = Some(OrderPaymentView {
                payment_id: payment_id.as_uuid(),
                authorized_amount: amount.into(),
            });
        }
        OrderEvent::OrderPaymentFailed {
            payment_id, reason, ..
        } => view.failed_payments.push(FailedPaymentView {
            payment_id: payment_id.as_uuid(),
            reason,
        }),
        OrderEvent::OrderConfirmed { .. } => view.status = OrderStatus::Confirmed,
        OrderEvent::OrderShipped {
            shipment_id,
            lines,
            carrier,
            tracking_number,
            shipped_at,
            status_after,
            ..
        } => {
            for shipped in &lines {
                if let Some(line) = view.line_mut(shipped.sku.as_str()) {
                    line.shipped = shipped.shipped_after;
                }
            }
            view.shipments.push(ShipmentView {
                shipment_id: shipment_id.as_uuid(),
                carrier,
                tracking_number,
                shipped_at,
                lines: lines
                    .into_iter()
                    .map(|line| ShipmentLineView {
                        sku: line.sku.as_str().to_owned(),
                        name: line.name,
                        quantity: line.quantity.get(),
                    })
                    .collect(),
            });
            view.status = status_after.into();
        }
        OrderEvent::OrderDelivered {
            lines,
            delivered_at,
            ..
        } => {
            for delivered in &lines {
                if let Some(line) = view.line_mut(delivered.sku.as_str()) {
                    line.delivered = delivered.quantity.get();
                }
            }
            view.status = OrderStatus::Delivered;
            view.delivered_at = Some(delivered_at);
        }
        OrderEvent::OrderCancelled {
            reason,
            cancelled_by,
            amount_to_release,
            ..
        } => {
            view.status = OrderStatus::Cancelled;
            view.cancellation = Some(CancellationView {
                reason,
                cancelled_by: cancelled_by.into(),
                amount_to_release: amount_to_release.into(),
                cancelled_at: at.recorded_at,
            });
        }
        OrderEvent::OrderLinesCancelled {
            lines,
            reason,
            cancelled_by,
            amount_to_refund,
            order_total_after,
            status_after,
            ..
        } => {
            for cancelled in &lines {
                if let Some(line) = view.line_mut(cancelled.sku.as_str()) {
                    line.cancelled = cancelled.cancelled_after;
                }
            }
            view.line_cancellations.push(LineCancellationView {
                reason,
                cancelled_by: cancelled_by.into(),
                lines: lines
                    .into_iter()
                    .map(|line| LineQuantityView {
                        sku: line.sku.as_str().to_owned(),
                        quantity: line.quantity.get(),
                    })
                    .collect(),
                amount: amount_to_refund.into(),
                cancelled_at: at.recorded_at,
            });
            view.total_after_cancellations = order_total_after.into();
            view.status = status_after.into();
        }
        OrderEvent::OrderReturnRequested {
            return_id,
            lines,
            return_value,
            ..
        } => {
            view.count(
                lines.iter().map(|l| (l.sku.as_str(), l.quantity.get())),
                |line| &mut line.return_requested,
            );
            view.returns.push(ReturnView {
                return_id: return_id.as_uuid(),
                status: ReturnStatus::Requested,
                lines: lines.into_iter().map(ReturnLineView::from).collect(),
                return_value: return_value.into(),
                requested_at: at.recorded_at,
                decided_at: None,
                rejection_reason: None,
                received_at: None,
                settlement: None,
            });
        }
        OrderEvent::OrderReturnApproved { return_id, .. } => {
            if let Some(record) = view.return_mut(return_id.as_uuid()) {
                record.status = ReturnStatus::Approved;
                record.decided_at = Some(at.recorded_at);
            }
        }
        OrderEvent::OrderReturnRejected {
            return_id,
            reason,
            lines,
            ..
        } => {
            for rejected in &lines {
                if let Some(line) = view.line_mut(rejected.sku.as_str()) {
                    line.return_requested = line
                        .return_requested
                        .saturating_sub(rejected.quantity.get());
                }
            }
            if let Some(record) = view.return_mut(return_id.as_uuid()) {
                record.status = ReturnStatus::Rejected;
                record.decided_at = Some(at.recorded_at);
                record.rejection_reason = Some(reason);
            }
        }
        OrderEvent::OrderReturnReceived {
            return_id,
            lines,
            restocking_fee,
            exchange_credit,
            amount_due,
            refund_amount,
            refund_id,
            payment_id,
            replacement_order_id,
            ..
        } => {
            view.count(
                lines.iter().map(|l| (l.sku.as_str(), l.quantity.get())),
                |line| &mut line.returned,
            );
            if let Some(record) = view.return_mut(return_id.as_uuid()) {
                record.status = ReturnStatus::Received;
                record.received_at = Some(at.recorded_at);
                for received in &lines {
                    if let Some(line) = record
                        .lines
                        .iter_mut()
                        .find(|l| l.sku == received.sku.as_str())
                    {
                        line.condition = Some(received.condition.into());
                    }
                }
                record.settlement = Some(ReturnSettlementView {
                    restocking_fee: restocking_fee.into(),
                    exchange_credit: exchange_credit.into(),
                    amount_due: amount_due.into(),
                    refund_amount: refund_amount.into(),
                    refund_id: refund_id.map(|id| id.as_uuid()),
                    replacement_order_id: replacement_order_id.map(|id| id.as_uuid()),
                });
            }
            if let (Some(refund_id), Some(payment_id)) = (refund_id, payment_id) {
                view.refunds.push(RefundView {
                    refund_id: refund_id.as_uuid(),
                    payment_id: payment_id.as_uuid(),
                    status: RefundStatus::Pending,
                    amount: refund_amount.into(),
                    lines: lines
                        .into_iter()
                        .map(|l| LineQuantityView {
                            sku: l.sku.as_str().to_owned(),
                            quantity: l.quantity.get(),
                        })
                        .collect(),
                    for_what: RefundForView::Return {
                        return_id: return_id.as_uuid(),
                    },
                    reason: None,
                    requested_at: at.recorded_at,
                    recorded_at: None,
                });
            }
        }
        OrderEvent::OrderEdited {
            edit_id,
            edited_by,
            reason,
            lines,
            total_before,
            total_after,
            ..
        } => {
            view.set_ordered(&lines, |l| l.ordered_after);
            view.total_after_cancellations = total_after.into();
            view.edits.push(EditView {
                edit_id: edit_id.as_uuid(),
                status: EditStatus::Pending,
                edited_by,
                reason,
                lines: lines
                    .into_iter()
                    .map(|l| EditedLineView {
                        sku: l.sku.as_str().to_owned(),
                        name: l.name,
                        unit_price: l.unit_price.into(),
                        ordered_before: l.ordered_before,
                        ordered_after: l.ordered_after,
                    })
                    .collect(),
                total_before: total_before.into(),
                total_after: total_after.into(),
                edited_at: at.recorded_at,
                settled_at: None,
                revert_reason: None,
            });
        }
        OrderEvent::OrderEditSettled {
            edit_id,
            amount_authorized,
            ..
        } => {
            let id = edit_id.as_uuid();
            if let Some(edit) = view.edits.iter_mut().find(|e| e.edit_id == id) {
                edit.status = EditStatus::Settled;
                edit.settled_at = Some(at.recorded_at);
                let skus: Vec<String> = edit.lines.iter().map(|l| l.sku.clone()).collect();
                for sku in skus {
                    if let Some(line) = view.line_mut(&sku) {
                        line.stock = StockStatus::Reserved;
                    }
                }
            }
            if let Some(payment) = view.payment.as_mut() {
                payment.authorized_amount = amount_authorized.into();
            }
        }
        OrderEvent::OrderEditReverted {
            edit_id,
            reason,
            lines,
            total_after,
            ..
        } => {
            view.set_ordered(&lines, |l| l.ordered_after);
            view.total_after_cancellations = total_after.into();
            let id = edit_id.as_uuid();
            if let Some(edit) = view.edits.iter_mut().find(|e| e.edit_id == id) {
                edit.status = EditStatus::Reverted;
                edit.settled_at = Some(at.recorded_at);
                edit.revert_reason = Some(reason);
            }
        }
        OrderEvent::OrderPaymentCaptured { captured_total, .. } => {
            view.captured_total = captured_total.into();
        }
        OrderEvent::OrderRefundRequested {
            refund_id,
            payment_id,
            amount,
            lines,
            reason,
            for_what,
            ..
        } => view.refunds.push(RefundView {
            refund_id: refund_id.as_uuid(),
            payment_id: payment_id.as_uuid(),
            status: RefundStatus::Pending,
            amount: amount.into(),
            lines: lines.into_iter().map(LineQuantityView::from).collect(),
            for_what: for_what.into(),
            reason: Some(reason),
            requested_at: at.recorded_at,
            recorded_at: None,
        }),
        OrderEvent::OrderRefundRecorded {
            refund_id,
            payment_id,
            amount,
            lines,
            for_what,
            refunded_total,
            ..
        } => {
            view.count(
                lines.iter().map(|l| (l.sku.as_str(), l.quantity.get())),
                |line| &mut line.refunded,
            );
            let id = refund_id.as_uuid();
            match view.refunds.iter_mut().find(|r| r.refund_id == id) {
                Some(held) => {
                    held.status = RefundStatus::Recorded;
                    held.recorded_at = Some(at.recorded_at);
                }
                None => view.refunds.push(RefundView {
                    refund_id: id,
                    payment_id: payment_id.as_uuid(),
                    status: RefundStatus::Recorded,
                    amount: amount.into(),
                    lines: lines.into_iter().map(LineQuantityView::from).collect(),
                    for_what: for_what.into(),
                    reason: None,
                    requested_at: at.recorded_at,
                    recorded_at: Some(at.recorded_at),
                }),
            }
            view.refunded_total = refunded_total.into();
        }
        OrderEvent::OrderGuestDataErased { .. } => {
            // As the log reads them now that the order's key is gone; the
            // country and region stay (accounting keeps them).
            let erased = || domain::personal::ERASED_TEXT.to_owned();
            view.email = domain::personal::ERASED_EMAIL.to_owned();
            let address = &mut view.shipping_address;
            address.name = erased();
            address.line1 = erased();
            address.line2 = address.line2.as_ref().map(|_| erased());
            address.city = erased();
            address.postal_code = erased();
        }
    }
    view
}

/// The order `order_id`, if it was placed.
pub async fn get<'e>(
    executor: impl PgExecutor<'e>,
    order_id: Uuid,
) -> Result<Option<OrderView>, Error> {
    document::get(executor, order_id).await
}

/// Orders newest first (`placed_at` descending, then `order_id`), optionally of one
/// customer and in one status.
pub async fn list<'e>(
    executor: impl PgExecutor<'e>,
    customer_id: Option<Uuid>,
    status: Option<OrderStatus>,
    limit: i64,
    cursor: Option<&str>,
) -> Result<Page<OrderView>, Error> {
    let mut filters = Vec::new();
    if let Some(customer_id) = customer_id {
        filters.push(Filter::Uuid("customer_id", customer_id));
    }
    if let Some(status) = status {
        filters.push(Filter::Text("status", status.as_str().to_owned()));
    }
    list_newest_first(executor, "placed_at", filters, limit, cursor).await
}

/// One return with the order it belongs to: the back office's returns queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReturnListItem {
    pub order_id: Uuid,
    pub customer_id: Option<Uuid>,
    #[serde(rename = "return")]
    pub return_: ReturnView,
}

/// One return as the queue's query reads it: the item and its sort key.
type ReturnRow = (
    Uuid,
    Option<Uuid>,
    sqlx::types::Json<ReturnView>,
    DateTime<Utc>,
    Uuid,
);

/// Returns newest first (requested at, then return id), optionally in one status.
pub async fn list_returns<'e>(
    executor: impl PgExecutor<'e>,
    status: Option<ReturnStatus>,
    limit: i64,
    cursor: Option<&str>,
) -> Result<Page<ReturnListItem>, Error> {
    let after: Option<(DateTime<Utc>, Uuid)> = decode_cursor(cursor)?;
    let limit = clamp_limit(limit);
    let (after_time, after_id) = after.unzip();
    let rows: Vec<ReturnRow> = sqlx::query_as(
        "SELECT o.order_id, o.customer_id, r.value,
                    (r.value->>'requested_at')::timestamptz AS requested_at,
                    (r.value->>'return_id')::uuid AS return_id
               FROM read_orders o, jsonb_array_elements(o.doc -> 'returns') r
              WHERE jsonb_array_length(o.doc -> 'returns') > 0
                AND ($1::text IS NULL OR r.value->>'status' = $1)
                AND ($2::timestamptz IS NULL
                     OR (r.value->>'requested_at')::timestamptz < $2
                     OR ((r.value->>'requested_at')::timestamptz = $2
                         AND (r.value->>'return_id')::uuid > $3))
              ORDER BY requested_at DESC, return_id
              LIMIT $4",
    )
    .bind(status.map(|s| s.as_str()))
    .bind(after_time)
    .bind(after_id)
    .bind(limit + 1)
    .fetch_all(executor)
    .await?;
    Ok(Page::from_rows(
        rows.into_iter()
            .map(
                |(order_id, customer_id, sqlx::types::Json(return_), at, id)| {
                    (
                        ReturnListItem {
                            order_id,
                            customer_id,
                            return_,
                        },
                        (at, id),
                    )
                },
            )
            .collect(),
        limit,
    ))
}
