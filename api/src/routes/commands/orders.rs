//! Order commands: ship and deliver (admin); edit before shipment (admin);
//! cancel the order or some of its units (admin, or the customer before
//! shipment); refunds (admin), which the checkout process then issues through
//! the gateway.

use axum::extract::State;
use axum::response::Response;
use chrono::Utc;
use domain::order::{
    CancelledBy, EditId, LineEdit, LineQuantity, Order, OrderCommand, RefundId, ShipmentId,
};
use domain::shared::{Money, OrderId};
use serde::Deserialize;
use uuid::Uuid;

use super::{Call, CommandContext, Empty};
use crate::auth::{Admins, AdminsAndCustomers, Allowed, Principal, Role};
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::openapi::MoneySchema;
use crate::routes::commands::carts::customer_id;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipmentLine {
    #[schema(value_type = String)]
    pub sku: domain::shared::Sku,
    #[schema(value_type = u32, minimum = 1)]
    pub quantity: domain::shared::Quantity,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Ship {
    /// What this shipment holds; the rest stays to ship later.
    pub lines: Vec<ShipmentLine>,
    pub carrier: String,
    pub tracking_number: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Cancel {
    /// Shown to the customer: 1 to 500 characters.
    pub reason: String,
}

#[utoipa::path(post, path = "/commands/orders/{id}/ship", tag = "commands",
    params(("id" = Uuid, Path)), request_body = Ship,
    responses((status = 200, body = super::CommandAccepted)),
    security(("bearer" = [])))]
pub async fn ship(
    State(state): State<AppState>,
    _: Allowed<Admins>,
    context: CommandContext,
    Path(id): Path<Uuid>,
    Json(body): Json<Ship>,
) -> Result<Response, ApiError> {
    let command = OrderCommand::ShipOrder {
        shipment_id: ShipmentId::new(Uuid::new_v4()),
        lines: body
            .lines
            .into_iter()
            .map(|l| LineQuantity {
                sku: l.sku,
                quantity: l.quantity,
            })
            .collect(),
        carrier: body.carrier,
        tracking_number: body.tracking_number,
        shipped_at: Utc::now(),
    };
    Call::<Order>::new(OrderId::new(id), "ship", command)
        .send(&state, &context)
        .await
}

#[utoipa::path(post, path = "/commands/orders/{id}/deliver", tag = "commands",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = super::CommandAccepted)),
    security(("bearer" = [])))]
pub async fn deliver(
    State(state): State<AppState>,
    _: Allowed<Admins>,
    context: CommandContext,
    Path(id): Path<Uuid>,
    _: Option<Json<Empty>>,
) -> Result<Response, ApiError> {
    let command = OrderCommand::DeliverOrder {
        delivered_at: Utc::now(),
    };
    Call::<Order>::new(OrderId::new(id), "deliver", command)
        .send(&state, &context)
        .await
}

/// A guest's right to be forgotten (admin): the order's data key is destroyed,
/// so the e-mail and street address of the guest's checkout and order read as
/// erased everywhere; the order keeps what accounting needs. An order of a
/// customer is refused (`order_has_customer`): erase the customer.
#[utoipa::path(post, path = "/commands/orders/{id}/erase-guest-data", tag = "commands",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = super::CommandAccepted)),
    security(("bearer" = [])))]
pub async fn erase_guest_data(
    State(state): State<AppState>,
    _: Allowed<Admins>,
    context: CommandContext,
    Path(id): Path<Uuid>,
    _: Option<Json<Empty>>,
) -> Result<Response, ApiError> {
    let order_id = OrderId::new(id);
    let forget = commands::accounts::ForgetGuest { order_id };
    let command = OrderCommand::EraseGuestData {
        erased_at: Utc::now(),
    };
    let call = Call::<Order>::new(order_id, "erase-guest-data", command).with_hook(&forget);
    super::customers::send_erasure(call, id, &state, &context).await
}

/// An admin cancels any order before shipment; a customer their own (another
/// customer's order answers 404).
#[utoipa::path(post, path = "/commands/orders/{id}/cancel", tag = "commands",
    params(("id" = Uuid, Path)), request_body = Cancel,
    responses((status = 200, body = super::CommandAccepted)),
    security(("bearer" = [])))]
pub async fn cancel(
    State(state): State<AppState>,
    caller: Allowed<AdminsAndCustomers>,
    context: CommandContext,
    Path(id): Path<Uuid>,
    Json(body): Json<Cancel>,
) -> Result<Response, ApiError> {
    let cancelled_by = on_behalf_of(&state, caller.principal(), OrderId::new(id)).await?;
    let command = OrderCommand::CancelOrder {
        reason: body.reason,
        cancelled_by,
    };
    Call::<Order>::new(OrderId::new(id), "cancel", command)
        .send(&state, &context)
        .await
}

/// Whether `principal` acts as the order's customer or as an admin. A customer
/// acts on their own orders only: another's answers 404, as if it did not exist.
pub async fn on_behalf_of(
    state: &AppState,
    principal: &Principal,
    order_id: OrderId,
) -> Result<CancelledBy, ApiError> {
    if principal.role != Role::Customer {
        return Ok(CancelledBy::Admin);
    }
    let customer = customer_id(principal)?;
    let (loaded, _) = state
        .stores
        .of::<Order>()
        .load(&order_id.to_string())
        .await?;
    let owner = loaded.aggregate.placed().and_then(|o| o.customer_id);
    if owner != Some(customer) {
        return Err(ApiError::Missing(format!("no order {order_id}")));
    }
    Ok(CancelledBy::Customer)
}

/// An id for something a command creates (a return, a refund): the same for a
/// request retried under the same `Idempotency-Key`, new otherwise.
pub fn new_id(context: &CommandContext, what: &[u8]) -> Uuid {
    let key = context
        .claim
        .as_ref()
        .map(|claim| claim.uuid())
        .unwrap_or(context.request_id);
    Uuid::new_v5(&key, what)
}

/// Units of one line of an order.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderLineUnits {
    #[schema(value_type = String, min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub sku: domain::shared::Sku,
    #[schema(value_type = u32, minimum = 1, maximum = 1000000)]
    pub quantity: domain::shared::Quantity,
}

impl From<OrderLineUnits> for LineQuantity {
    fn from(line: OrderLineUnits) -> Self {
        LineQuantity {
            sku: line.sku,
            quantity: line.quantity,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelLines {
    /// Unshipped units to cancel; each SKU once.
    #[schema(min_items = 1, max_items = 100)]
    pub lines: Vec<OrderLineUnits>,
    /// Shown to the customer.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// Cancels unshipped units; the process releases their stock and their value
/// from the payment. Every remaining unit of an order nothing shipped of: the
/// order is cancelled. A customer may do it for their own order until the first
/// shipment (`already_shipped` after).
#[utoipa::path(post, path = "/commands/orders/{id}/cancel-lines", tag = "commands",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header), ("Idempotency-Key" = Option<String>, Header)),
    request_body = CancelLines,
    responses((status = 200, body = super::CommandAccepted)),
    security(("bearer" = [])))]
pub async fn cancel_lines(
    State(state): State<AppState>,
    caller: Allowed<AdminsAndCustomers>,
    context: CommandContext,
    Path(id): Path<Uuid>,
    Json(body): Json<CancelLines>,
) -> Result<Response, ApiError> {
    let order_id = OrderId::new(id);
    let cancelled_by = on_behalf_of(&state, caller.principal(), order_id).await?;
    let command = OrderCommand::CancelOrderLines {
        lines: body.lines.into_iter().map(LineQuantity::from).collect(),
        reason: body.reason,
        cancelled_by,
    };
    Call::<Order>::new(order_id, "cancel-lines", command)
        .send(&state, &context)
        .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestRefund {
    /// Positive, in the order's currency, at most what was captured and is
    /// neither refunded nor held for another refund.
    #[schema(value_type = MoneySchema)]
    pub amount: Money,
    /// The units it is for, if any (each SKU once).
    #[serde(default)]
    #[schema(max_items = 100)]
    pub lines: Vec<OrderLineUnits>,
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// The answer to a refund request: the refund's id, as the order's and the
/// payment's refund events will name it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RefundRequested {
    pub id: String,
    pub version: u64,
    pub consistency_token: Option<String>,
    pub refund_id: Uuid,
}

/// Decides a refund on the order; its amount is held at once (two racing for the
/// same captured money: one is refused with `refund_exceeds_captured`), and the
/// checkout process issues it through the gateway, then records it.
#[utoipa::path(post, path = "/commands/orders/{id}/refunds", tag = "commands",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header), ("Idempotency-Key" = Option<String>, Header)),
    request_body = RequestRefund,
    responses((status = 200, body = RefundRequested)),
    security(("bearer" = [])))]
pub async fn refund(
    State(state): State<AppState>,
    _: Allowed<Admins>,
    context: CommandContext,
    Path(id): Path<Uuid>,
    Json(body): Json<RequestRefund>,
) -> Result<Response, ApiError> {
    request_refund(&state, &context, OrderId::new(id), body).await
}

/// A refund decided on `order_id`: the one way money goes back at an admin's
/// word (the payment's refund route comes here too).
pub async fn request_refund(
    state: &AppState,
    context: &CommandContext,
    order_id: OrderId,
    body: RequestRefund,
) -> Result<Response, ApiError> {
    let refund_id = RefundId::new(new_id(context, b"refund"));
    let command = OrderCommand::RequestRefund {
        refund_id,
        amount: body.amount,
        lines: body.lines.into_iter().map(LineQuantity::from).collect(),
        reason: body.reason,
        for_what: None,
    };
    Call::<Order>::new(order_id, "request-refund", command)
        .answering(serde_json::json!({ "refund_id": refund_id }))
        .send(state, context)
        .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditOrder {
    /// New ordered quantities: of lines the order has (more than they have
    /// cancelled), or of SKUs it lacks (added at today's catalog price). Each SKU
    /// once.
    #[schema(min_items = 1, max_items = 100)]
    pub lines: Vec<OrderLineUnits>,
    /// Kept in the order's history.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// The answer to an edit: its id, as the order's history names it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct EditRecorded {
    pub id: String,
    pub version: u64,
    pub consistency_token: Option<String>,
    pub edit_id: Uuid,
}

/// Changes a confirmed order before it ships. The edit is recorded at once; the
/// checkout process holds the stock and moves the payment's authorization, then
/// settles it, or reverts it with the reason (the order's `edits` say which).
#[utoipa::path(post, path = "/commands/orders/{id}/edit", tag = "commands",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header), ("Idempotency-Key" = Option<String>, Header)),
    request_body = EditOrder,
    responses((status = 200, body = EditRecorded)),
    security(("bearer" = [])))]
pub async fn edit(
    State(state): State<AppState>,
    caller: Allowed<Admins>,
    context: CommandContext,
    Path(id): Path<Uuid>,
    Json(body): Json<EditOrder>,
) -> Result<Response, ApiError> {
    let order_id = OrderId::new(id);
    let (loaded, _) = state
        .stores
        .of::<Order>()
        .load(&order_id.to_string())
        .await?;
    let placed = loaded
        .aggregate
        .placed()
        .ok_or_else(|| ApiError::Missing(format!("no order {id}")))?;
    let mut changes = Vec::with_capacity(body.lines.len());
    for line in body.lines {
        if placed.lines.iter().any(|l| l.sku == line.sku) {
            changes.push(LineEdit::SetQuantity {
                sku: line.sku,
                quantity: line.quantity,
            });
            continue;
        }
        let offer = state
            .catalog
            .offer(&line.sku)
            .await?
            .ok_or_else(|| ApiError::Refused {
                code: "product_unavailable",
                detail: format!("{} is not for sale", line.sku),
            })?;
        changes.push(LineEdit::AddLine {
            sku: line.sku,
            name: offer.name,
            unit_price: offer.unit_price,
            quantity: line.quantity,
        });
    }
    let edit_id = EditId::new(new_id(&context, b"edit"));
    let command = OrderCommand::EditOrder {
        edit_id,
        changes,
        reason: body.reason,
        edited_by: caller.principal().subject.clone(),
    };
    Call::<Order>::new(order_id, "edit", command)
        .answering(serde_json::json!({ "edit_id": edit_id }))
        .send(&state, &context)
        .await
}
