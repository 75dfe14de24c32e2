//! The order's state (what its decisions need, and what snapshots store) and its
//! `cqrs_es::Aggregate` implementation. Deciding is in [`decide`](super::decide);
//! here events are only applied.

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

use super::{
    CancelledBy, EditId, EditedLine, LineQuantity, OrderCommand, OrderError, OrderEvent,
    OrderStatus, PendingEdit, PendingRefund, RefundFor, RefundId, Replaces, ReturnId, ReturnLine,
    ReturnStatus, ShipmentId,
};
use crate::payment::GatewayReference;
use crate::shared::{
    CartId, Currency, CustomerId, Email, Money, OrderId, PaymentId, PostalAddress, Quantity, Sku,
};

/// An order stream. Empty until `OrderPlaced`: every other command is refused with
/// `not_found` until then.
#[derive(Default, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Order {
    pub(super) placed: Option<PlacedOrder>,
}

impl Order {
    /// The order as far as the applied events tell, or `None` before it is placed.
    pub fn placed(&self) -> Option<&PlacedOrder> {
        self.placed.as_ref()
    }

    pub fn status(&self) -> Option<OrderStatus> {
        self.placed.as_ref().map(|order| order.status)
    }
}

/// The state of a placed order.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PlacedOrder {
    pub order_id: OrderId,
    pub cart_id: CartId,
    pub customer_id: Option<CustomerId>,
    /// Kept for the order's replacements, which ship to the same customer.
    pub email: Email,
    pub shipping_address: PostalAddress,
    /// For a replacement order: the return it replaces and the credit it took.
    pub replaces: Option<Replaces>,
    pub status: OrderStatus,
    pub currency: Currency,
    /// In the order they were placed in; SKUs are unique.
    pub lines: Vec<OrderLine>,
    /// Subtotal plus shipping, as placed.
    pub total: Money,
    /// `total` minus the value of every line cancellation.
    pub total_after_cancellations: Money,
    pub payment: Option<AuthorizedPayment>,
    /// Payments the gateway refused; kept so a redelivered failure is recognised.
    pub failed_payments: Vec<PaymentId>,
    pub shipments: Vec<ShipmentId>,
    /// When the carrier delivered: the return window opens here.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Captures the process recorded, by the gateway's reference (a repeat is
    /// recognised by it), and their sum.
    pub captures: Vec<GatewayReference>,
    pub captured_total: Money,
    pub returns: Vec<ReturnRecord>,
    /// An edit recorded whose stock and payment have not followed yet.
    pub pending_edit: Option<PendingEdit>,
    /// Edits settled, by id (a repeated settlement is recognised).
    pub settled_edits: Vec<EditId>,
    /// Refunds decided and not yet recorded: their amounts are held.
    pub pending_refunds: Vec<PendingRefund>,
    /// Discounts or tax on top made its total more than its lines at unit prices
    /// and its shipping: edits, which re-price at unit prices, are refused.
    #[serde(default)]
    pub priced_beyond_unit_prices: bool,
    /// The promotions that applied at checkout: a cancellation gives their uses back.
    #[serde(default)]
    pub promotions: Vec<crate::pricing::PromotionId>,
    pub refunds: Vec<RefundRecord>,
    pub refunded_total: Money,
    pub cancellation: Option<Cancellation>,
    /// A guest order whose personal data was erased (`OrderGuestDataErased`).
    #[serde(default)]
    pub guest_data_erased: bool,
}

/// One line and what has happened to its quantity. Invariants (checked by the
/// property tests): `shipped + cancelled <= ordered`,
/// `returned <= return_requested <= shipped`, `refunded <= ordered`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct OrderLine {
    pub sku: Sku,
    pub name: String,
    pub unit_price: Money,
    pub ordered: Quantity,
    pub stock: StockOutcome,
    pub shipped: u32,
    pub cancelled: u32,
    pub return_requested: u32,
    pub returned: u32,
    /// Units named by refunds' lines.
    pub refunded: u32,
    /// What the customer paid for the whole line, after discounts and with any
    /// tax added on top, when the order was priced; a share of it is what its
    /// units are worth to refunds. `None`: `unit_price` each.
    #[serde(default)]
    pub paid: Option<Money>,
}

impl OrderLine {
    /// Ordered, and neither shipped nor cancelled.
    pub fn unshipped(&self) -> u32 {
        self.ordered
            .get()
            .saturating_sub(self.shipped)
            .saturating_sub(self.cancelled)
    }

    /// Delivered (everything shipped is, once the order is delivered) and not yet
    /// asked back.
    pub fn returnable(&self) -> u32 {
        self.shipped.saturating_sub(self.return_requested)
    }

    pub fn refundable_units(&self) -> u32 {
        self.ordered.get().saturating_sub(self.refunded)
    }
}

/// What inventory answered for a line. Final once recorded: inventory reserves a
/// line's whole quantity or none of it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StockOutcome {
    Pending,
    Reserved,
    Unavailable,
}

impl StockOutcome {
    pub const fn as_str(&self) -> &'static str {
        match self {
            StockOutcome::Pending => "pending",
            StockOutcome::Reserved => "reserved",
            StockOutcome::Unavailable => "unavailable",
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct AuthorizedPayment {
    pub payment_id: PaymentId,
    pub amount: Money,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ReturnRecord {
    pub return_id: ReturnId,
    pub lines: Vec<ReturnLine>,
    pub return_value: Money,
    pub status: ReturnStatus,
}

/// A recorded refund, kept whole so that a repeat can be told from a reused id.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RefundRecord {
    pub refund_id: RefundId,
    pub payment_id: PaymentId,
    pub amount: Money,
    pub lines: Vec<LineQuantity>,
    pub for_what: RefundFor,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Cancellation {
    pub reason: String,
    pub cancelled_by: CancelledBy,
}

impl Aggregate for Order {
    const TYPE: &'static str = "Order";
    type Command = OrderCommand;
    type Event = OrderEvent;
    type Error = OrderError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        // Decide on the state as loaded, then write: the sink applies each event as
        // it is written, so deciding while writing would see half a result.
        let events = self.decide(command)?;
        for event in events {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        if let OrderEvent::OrderPlaced {
            order_id,
            cart_id,
            customer_id,
            email,
            shipping_address,
            lines,
            currency,
            total,
            replaces,
            pricing,
            ..
        } = event
        {
            self.placed = Some(PlacedOrder {
                order_id,
                cart_id,
                customer_id,
                email,
                shipping_address,
                replaces,
                status: OrderStatus::Placed,
                currency,
                lines: lines
                    .into_iter()
                    .map(|line| OrderLine {
                        paid: pricing
                            .as_ref()
                            .and_then(|pricing| pricing.paid_for(&line.sku)),
                        sku: line.sku,
                        name: line.name,
                        unit_price: line.unit_price,
                        ordered: line.quantity,
                        stock: StockOutcome::Pending,
                        shipped: 0,
                        cancelled: 0,
                        return_requested: 0,
                        returned: 0,
                        refunded: 0,
                    })
                    .collect(),
                total,
                total_after_cancellations: total,
                payment: None,
                failed_payments: Vec::new(),
                shipments: Vec::new(),
                delivered_at: None,
                captures: Vec::new(),
                captured_total: Money::zero(currency),
                returns: Vec::new(),
                pending_edit: None,
                settled_edits: Vec::new(),
                pending_refunds: Vec::new(),
                promotions: pricing
                    .as_ref()
                    .map(|pricing| pricing.discounts.iter().map(|d| d.promotion_id).collect())
                    .unwrap_or_default(),
                priced_beyond_unit_prices: pricing.as_ref().is_some_and(|pricing| {
                    !pricing.discount_total.is_zero() || pricing.added_tax() != 0
                }),
                refunds: Vec::new(),
                refunded_total: Money::zero(currency),
                cancellation: None,
                guest_data_erased: false,
            });
        } else if let Some(order) = self.placed.as_mut() {
            order.apply(event);
        }
    }
}

impl PlacedOrder {
    fn line_mut(&mut self, sku: &Sku) -> Option<&mut OrderLine> {
        self.lines.iter_mut().find(|line| &line.sku == sku)
    }

    /// Sets each edited line's ordered quantity to what `quantity` picks; a line
    /// the order lacks is added (its stock pending), one set to zero removed.
    fn set_lines(&mut self, lines: &[EditedLine], quantity: fn(&EditedLine) -> u32) {
        for edited in lines {
            let wanted = quantity(edited);
            match (self.line_mut(&edited.sku), Quantity::new(wanted)) {
                (Some(line), Ok(ordered)) => {
                    line.ordered = ordered;
                    // Edits happen at unit prices only (see `priced_beyond_unit_prices`).
                    line.paid = None;
                }
                (Some(_), Err(_)) => self.lines.retain(|l| l.sku != edited.sku),
                (None, Ok(ordered)) => self.lines.push(OrderLine {
                    sku: edited.sku.clone(),
                    name: edited.name.clone(),
                    unit_price: edited.unit_price,
                    ordered,
                    stock: StockOutcome::Pending,
                    shipped: 0,
                    cancelled: 0,
                    return_requested: 0,
                    returned: 0,
                    refunded: 0,
                    paid: None,
                }),
                (None, Err(_)) => {}
            }
        }
    }

    fn set_return_status(&mut self, return_id: ReturnId, status: ReturnStatus) {
        if let Some(record) = self.returns.iter_mut().find(|r| r.return_id == return_id) {
            record.status = status;
        }
    }

    /// The sum of refunds decided and not yet recorded.
    pub fn pending_refund_total(&self) -> i64 {
        self.pending_refunds
            .iter()
            .fold(0i64, |sum, p| sum.saturating_add(p.amount.amount()))
    }

    fn apply(&mut self, event: OrderEvent) {
        match event {
            // Handled by `Order::apply`; a second one cannot have been decided.
            OrderEvent::OrderPlaced { .. } => {}
            OrderEvent::OrderStockReserved { sku, .. } => {
                if let Some(line) = self.line_mut(&sku) {
                    line.stock = StockOutcome::Reserved;
                }
            }
            OrderEvent::OrderFullyReserved { .. } => self.status = OrderStatus::AwaitingPayment,
            OrderEvent::OrderStockUnavailable { sku, .. } => {
                if let Some(line) = self.line_mut(&sku) {
                    line.stock = StockOutcome::Unavailable;
                }
            }
            OrderEvent::OrderPaymentAuthorized {
                payment_id, amount, ..
            } => self.payment = Some(AuthorizedPayment { payment_id, amount }),
            OrderEvent::OrderPaymentFailed { payment_id, .. } => {
                self.failed_payments.push(payment_id)
            }
            OrderEvent::OrderConfirmed { .. } => self.status = OrderStatus::Confirmed,
            OrderEvent::OrderShipped {
                shipment_id,
                lines,
                status_after,
                ..
            } => {
                for shipped in lines {
                    if let Some(line) = self.line_mut(&shipped.sku) {
                        line.shipped = shipped.shipped_after;
                    }
                }
                self.shipments.push(shipment_id);
                self.status = status_after;
            }
            OrderEvent::OrderDelivered { delivered_at, .. } => {
                self.status = OrderStatus::Delivered;
                self.delivered_at = Some(delivered_at);
            }
            OrderEvent::OrderCancelled {
                reason,
                cancelled_by,
                ..
            } => {
                self.status = OrderStatus::Cancelled;
                self.cancellation = Some(Cancellation {
                    reason,
                    cancelled_by,
                });
            }
            OrderEvent::OrderLinesCancelled {
                lines,
                order_total_after,
                status_after,
                ..
            } => {
                for cancelled in lines {
                    if let Some(line) = self.line_mut(&cancelled.sku) {
                        line.cancelled = cancelled.cancelled_after;
                    }
                }
                self.total_after_cancellations = order_total_after;
                self.status = status_after;
            }
            OrderEvent::OrderReturnRequested {
                return_id,
                lines,
                return_value,
                ..
            } => {
                for returned in &lines {
                    if let Some(line) = self.line_mut(&returned.sku) {
                        line.return_requested = line
                            .return_requested
                            .saturating_add(returned.quantity.get());
                    }
                }
                self.returns.push(ReturnRecord {
                    return_id,
                    lines,
                    return_value,
                    status: ReturnStatus::Requested,
                });
            }
            OrderEvent::OrderReturnApproved { return_id, .. } => {
                self.set_return_status(return_id, ReturnStatus::Approved)
            }
            OrderEvent::OrderReturnRejected {
                return_id, lines, ..
            } => {
                for rejected in &lines {
                    if let Some(line) = self.line_mut(&rejected.sku) {
                        line.return_requested = line
                            .return_requested
                            .saturating_sub(rejected.quantity.get());
                    }
                }
                self.set_return_status(return_id, ReturnStatus::Rejected);
            }
            OrderEvent::OrderReturnReceived {
                return_id,
                lines,
                refund_amount,
                refund_id,
                payment_id,
                ..
            } => {
                for returned in &lines {
                    if let Some(line) = self.line_mut(&returned.sku) {
                        line.returned = line.returned.saturating_add(returned.quantity.get());
                    }
                }
                self.set_return_status(return_id, ReturnStatus::Received);
                if let (Some(refund_id), Some(payment_id)) = (refund_id, payment_id) {
                    self.pending_refunds.push(PendingRefund {
                        refund_id,
                        payment_id,
                        amount: refund_amount,
                        lines: lines
                            .into_iter()
                            .map(|l| LineQuantity {
                                sku: l.sku,
                                quantity: l.quantity,
                            })
                            .collect(),
                        for_what: RefundFor::Return { return_id },
                    });
                }
            }
            OrderEvent::OrderEdited {
                edit_id,
                lines,
                total_before,
                total_after,
                ..
            } => {
                self.set_lines(&lines, |line| line.ordered_after);
                // The order's value moves; `total` stays as placed.
                self.total_after_cancellations = total_after;
                self.pending_edit = Some(PendingEdit {
                    edit_id,
                    lines,
                    total_before,
                    total_after,
                });
            }
            OrderEvent::OrderEditSettled {
                edit_id,
                amount_authorized,
                ..
            } => {
                if let Some(edit) = self.pending_edit.take() {
                    for edited in &edit.lines {
                        if let Some(line) = self.line_mut(&edited.sku) {
                            line.stock = StockOutcome::Reserved;
                        }
                    }
                }
                if let Some(payment) = self.payment.as_mut() {
                    payment.amount = amount_authorized;
                }
                self.settled_edits.push(edit_id);
            }
            OrderEvent::OrderEditReverted {
                lines, total_after, ..
            } => {
                self.pending_edit = None;
                self.total_after_cancellations = total_after;
                self.set_lines(&lines, |line| line.ordered_after);
            }
            OrderEvent::OrderPaymentCaptured {
                gateway_reference,
                captured_total,
                ..
            } => {
                self.captures.push(gateway_reference);
                self.captured_total = captured_total;
            }
            OrderEvent::OrderRefundRequested {
                refund_id,
                payment_id,
                amount,
                lines,
                for_what,
                ..
            } => self.pending_refunds.push(PendingRefund {
                refund_id,
                payment_id,
                amount,
                lines,
                for_what,
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
                self.pending_refunds.retain(|p| p.refund_id != refund_id);
                for refunded in &lines {
                    if let Some(line) = self.line_mut(&refunded.sku) {
                        line.refunded = line.refunded.saturating_add(refunded.quantity.get());
                    }
                }
                self.refunds.push(RefundRecord {
                    refund_id,
                    payment_id,
                    amount,
                    lines,
                    for_what,
                });
                self.refunded_total = refunded_total;
            }
            OrderEvent::OrderGuestDataErased { .. } => {
                self.guest_data_erased = true;
                // As the log reads them now that the key is gone.
                self.email = Email::erased();
                self.shipping_address = self.shipping_address.erased();
            }
        }
    }
}
