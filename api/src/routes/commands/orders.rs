//! Order commands: ship and deliver (admin), cancel (admin, or the customer
//! before shipment).

use axum::extract::State;
use axum::response::Response;
use chrono::Utc;
use commands::CommandOptions;
use domain::order::{CancelledBy, LineQuantity, OrderCommand, ShipmentId};
use domain::shared::OrderId;
use serde::Deserialize;
use uuid::Uuid;

use super::{send, CommandContext, Extras};
use crate::auth::Role;
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

async fn order_command(
    state: &AppState,
    context: &CommandContext,
    id: Uuid,
    name: &str,
    command: OrderCommand,
) -> Result<Response, ApiError> {
    send(
        &state.stores.orders,
        context,
        &OrderId::new(id).to_string(),
        name,
        command,
        CommandOptions::default(),
        Extras::default(),
    )
    .await
}

#[utoipa::path(post, path = "/commands/orders/{id}/ship", tag = "commands",
    params(("id" = Uuid, Path)), request_body = Ship,
    responses((status = 200, body = super::CommandAccepted), (status = "4XX", body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn ship(
    State(state): State<AppState>,
    context: CommandContext,
    Path(id): Path<Uuid>,
    Json(body): Json<Ship>,
) -> Result<Response, ApiError> {
    context.principal()?.require(&[Role::Admin])?;
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
    order_command(&state, &context, id, "ship", command).await
}

#[utoipa::path(post, path = "/commands/orders/{id}/deliver", tag = "commands",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = super::CommandAccepted), (status = "4XX", body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn deliver(
    State(state): State<AppState>,
    context: CommandContext,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    context.principal()?.require(&[Role::Admin])?;
    let command = OrderCommand::DeliverOrder {
        delivered_at: Utc::now(),
    };
    order_command(&state, &context, id, "deliver", command).await
}

/// An admin cancels any order before shipment; a customer their own (another
/// customer's order answers 404).
#[utoipa::path(post, path = "/commands/orders/{id}/cancel", tag = "commands",
    params(("id" = Uuid, Path)), request_body = Cancel,
    responses((status = 200, body = super::CommandAccepted), (status = "4XX", body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn cancel(
    State(state): State<AppState>,
    context: CommandContext,
    Path(id): Path<Uuid>,
    Json(body): Json<Cancel>,
) -> Result<Response, ApiError> {
    let principal = context.principal()?;
    principal.require(&[Role::Admin, Role::Customer])?;
    let cancelled_by = if principal.role == Role::Customer {
        let customer = customer_id(principal)?;
        let (loaded, _) = state
            .stores
            .orders
            .load(&OrderId::new(id).to_string())
            .await
            .map_err(ApiError::internal)?;
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
    order_command(&state, &context, id, "cancel", command).await
}
