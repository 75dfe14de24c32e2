//! Stock commands (admin): register a SKU, receive a delivery, adjust a count.
//! Reservations are the checkout's business (the process manager), not an API's.

use axum::extract::State;
use axum::response::Response;
use domain::inventory::{AdjustmentReason, Inventory, InventoryCommand};
use domain::shared::{Quantity, Sku};
use serde::Deserialize;

use super::{Call, CommandContext};
use crate::auth::{Admins, Allowed};
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterSku {
    /// A low-stock event is recorded when available stock falls to this or below.
    pub low_stock_threshold: u64,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiveStock {
    /// 1 to 1,000,000 units.
    #[schema(value_type = u32, minimum = 1, maximum = 1000000)]
    pub quantity: Quantity,
    /// The delivery's reference (a delivery note, a purchase order).
    pub reference: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustStock {
    /// Units added (positive) or removed (negative); never below what is reserved.
    pub delta: i64,
    /// damaged, lost, stolen (decrease); found, returned (increase); recount, correction.
    #[schema(value_type = String, example = "recount")]
    pub reason: AdjustmentReason,
    #[serde(default)]
    pub note: String,
}

fn sku(text: &str) -> Result<Sku, ApiError> {
    Sku::new(text).map_err(|e| ApiError::bad_request("invalid_path", e.to_string()))
}

#[utoipa::path(post, path = "/commands/inventory/{sku}/register", tag = "commands",
    params(("sku" = String, Path)), request_body = RegisterSku,
    responses((status = 201, body = super::CommandAccepted)),
    security(("bearer" = [])))]
pub async fn register(
    State(state): State<AppState>,
    _: Allowed<Admins>,
    context: CommandContext,
    Path(text): Path<String>,
    Json(body): Json<RegisterSku>,
) -> Result<Response, ApiError> {
    let sku = sku(&text)?;
    let command = InventoryCommand::RegisterSku {
        sku: sku.clone(),
        low_stock_threshold: body.low_stock_threshold,
    };
    Call::<Inventory>::new(sku, "register", command)
        .send(&state, &context)
        .await
}

#[utoipa::path(post, path = "/commands/inventory/{sku}/receive", tag = "commands",
    params(("sku" = String, Path)), request_body = ReceiveStock,
    responses((status = 200, body = super::CommandAccepted)),
    security(("bearer" = [])))]
pub async fn receive(
    State(state): State<AppState>,
    _: Allowed<Admins>,
    context: CommandContext,
    Path(text): Path<String>,
    Json(body): Json<ReceiveStock>,
) -> Result<Response, ApiError> {
    let sku = sku(&text)?;
    let command = InventoryCommand::ReceiveStock {
        quantity: body.quantity,
        reference: body.reference,
    };
    Call::<Inventory>::new(sku, "receive", command)
        .send(&state, &context)
        .await
}

#[utoipa::path(post, path = "/commands/inventory/{sku}/adjust", tag = "commands",
    params(("sku" = String, Path)), request_body = AdjustStock,
    responses((status = 200, body = super::CommandAccepted)),
    security(("bearer" = [])))]
pub async fn adjust(
    State(state): State<AppState>,
    _: Allowed<Admins>,
    context: CommandContext,
    Path(text): Path<String>,
    Json(body): Json<AdjustStock>,
) -> Result<Response, ApiError> {
    let sku = sku(&text)?;
    let command = InventoryCommand::AdjustStock {
        delta: body.delta,
        reason: body.reason,
        note: body.note,
    };
    Call::<Inventory>::new(sku, "adjust", command)
        .send(&state, &context)
        .await
}
