//! Order commands: ship and deliver (admin), cancel (admin, or the customer
//! before shipment).

use axum::extract::State;
use axum::response::Response;
use chrono::Utc;
use domain::order::{CancelledBy, LineQuantity, Order, OrderCommand, ShipmentId};
use domain::shared::OrderId;
use serde::Deserialize;
use uuid::Uuid;

use super::{Call, CommandContext, Empty};
use crate::auth::{Admins, AdminsAndCustomers, Allowed, Role};
use crate::error::ApiError;
use crate::extract::{Json, Path};
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
    let principal = caller.principal();
    let cancelled_by = if principal.role == Role::Customer {
        let customer = customer_id(principal)?;
        let (loaded, _) = state
            .stores
            .of::<domain::order::Order>()
            .load(&OrderId::new(id).to_string())
            .await?;
        let owner = loaded.aggregate.placed().and_then(|o| o.customer_id);
        if owner != Some(customer) {
            return Err(ApiError::Missing(format!("no order {id}")));
        }
        CancelledBy::Customer
    } else {
        CancelledBy::Admin
    };
    let command = OrderCommand::CancelOrder {
        reason: body.reason,
        cancelled_by,
    };
    Call::<Order>::new(OrderId::new(id), "cancel", command)
        .send(&state, &context)
        .await
}
