//! Returns of an order: the customer asks (within the return window, a reason
//! per line, replacements of another SKU if wanted), an admin approves or
//! rejects, and the warehouse receives the goods with each line's condition. The
//! checkout process then restocks what is resellable and issues the refund.

use axum::extract::State;
use axum::response::Response;
use chrono::Utc;
use domain::order::{
    LineCondition, Order, OrderCommand, Replacement, ReturnCondition, ReturnId, ReturnReason,
    ReturnRequestLine,
};
use domain::shared::{Money, OrderId, Quantity, Sku};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::orders::{new_id, on_behalf_of};
use super::{Call, CommandContext, Empty};
use crate::auth::{Admins, AdminsAndCustomers, Allowed};
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::openapi::MoneySchema;
use crate::state::AppState;

/// Why a unit comes back.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReturnReasonInput {
    Damaged,
    Defective,
    WrongItem,
    NotAsDescribed,
    NoLongerNeeded,
    Other,
}

impl From<ReturnReasonInput> for ReturnReason {
    fn from(reason: ReturnReasonInput) -> Self {
        match reason {
            ReturnReasonInput::Damaged => ReturnReason::Damaged,
            ReturnReasonInput::Defective => ReturnReason::Defective,
            ReturnReasonInput::WrongItem => ReturnReason::WrongItem,
            ReturnReasonInput::NotAsDescribed => ReturnReason::NotAsDescribed,
            ReturnReasonInput::NoLongerNeeded => ReturnReason::NoLongerNeeded,
            ReturnReasonInput::Other => ReturnReason::Other,
        }
    }
}

/// Units of another SKU wanted instead of the money; priced by the catalog now.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExchangeFor {
    #[schema(value_type = String, min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub sku: Sku,
    #[schema(value_type = u32, minimum = 1, maximum = 1000000)]
    pub quantity: Quantity,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnLineRequest {
    #[schema(value_type = String, min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub sku: Sku,
    /// At most the units delivered and not yet asked back.
    #[schema(value_type = u32, minimum = 1, maximum = 1000000)]
    pub quantity: Quantity,
    pub reason: ReturnReasonInput,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 500)]
    pub note: Option<String>,
    #[serde(default)]
    pub exchange_for: Option<ExchangeFor>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestReturn {
    /// Each SKU once.
    #[schema(min_items = 1, max_items = 100)]
    pub lines: Vec<ReturnLineRequest>,
}

/// The answer to a return request: the return's id, for its approval, receipt
/// and the order's view.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReturnRequested {
    pub id: String,
    pub version: u64,
    pub consistency_token: Option<String>,
    pub return_id: Uuid,
}

/// The customer (or an admin for them) asks to send delivered units back, within
/// `RETURN_WINDOW_DAYS` of delivery (`return_window_closed` after).
#[utoipa::path(post, path = "/commands/orders/{id}/returns", tag = "commands",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header), ("Idempotency-Key" = Option<String>, Header)),
    request_body = RequestReturn,
    responses((status = 200, body = ReturnRequested)),
    security(("bearer" = [])))]
pub async fn request(
    State(state): State<AppState>,
    caller: Allowed<AdminsAndCustomers>,
    context: CommandContext,
    Path(id): Path<Uuid>,
    Json(body): Json<RequestReturn>,
) -> Result<Response, ApiError> {
    let order_id = OrderId::new(id);
    on_behalf_of(&state, caller.principal(), order_id).await?;
    let mut lines = Vec::with_capacity(body.lines.len());
    for line in body.lines {
        let exchange_for = match line.exchange_for {
            None => None,
            Some(wanted) => Some(replacement(&state, wanted).await?),
        };
        lines.push(ReturnRequestLine {
            sku: line.sku,
            quantity: line.quantity,
            reason: line.reason.into(),
            note: line.note,
            exchange_for,
        });
    }
    let return_id = ReturnId::new(new_id(&context, b"return"));
    let command = OrderCommand::RequestReturn {
        return_id,
        lines,
        requested_at: Utc::now(),
        return_window_days: state.settings.return_window_days,
    };
    Call::<Order>::new(order_id, "request-return", command)
        .answering(serde_json::json!({ "return_id": return_id }))
        .send(&state, &context)
        .await
}

/// A replacement as the catalog sells it now; refused when it is not for sale.
async fn replacement(state: &AppState, wanted: ExchangeFor) -> Result<Replacement, ApiError> {
    let offer = state
        .catalog
        .offer(&wanted.sku)
        .await?
        .ok_or_else(|| ApiError::Refused {
            code: "product_unavailable",
            detail: format!(
                "{} is not for sale, so it cannot replace anything",
                wanted.sku
            ),
        })?;
    Ok(Replacement {
        sku: wanted.sku,
        name: offer.name,
        unit_price: offer.unit_price,
        quantity: wanted.quantity,
    })
}

#[utoipa::path(post, path = "/commands/orders/{id}/returns/{return_id}/approve", tag = "commands",
    params(("id" = Uuid, Path), ("return_id" = Uuid, Path), ("If-Match" = Option<String>, Header), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = super::CommandAccepted)),
    security(("bearer" = [])))]
pub async fn approve(
    State(state): State<AppState>,
    _: Allowed<Admins>,
    context: CommandContext,
    Path((id, return_id)): Path<(Uuid, Uuid)>,
    _: Option<Json<Empty>>,
) -> Result<Response, ApiError> {
    let command = OrderCommand::ApproveReturn {
        return_id: ReturnId::new(return_id),
    };
    Call::<Order>::new(OrderId::new(id), "approve-return", command)
        .send(&state, &context)
        .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectReturn {
    /// Shown to the customer.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

#[utoipa::path(post, path = "/commands/orders/{id}/returns/{return_id}/reject", tag = "commands",
    params(("id" = Uuid, Path), ("return_id" = Uuid, Path), ("If-Match" = Option<String>, Header), ("Idempotency-Key" = Option<String>, Header)),
    request_body = RejectReturn,
    responses((status = 200, body = super::CommandAccepted)),
    security(("bearer" = [])))]
pub async fn reject(
    State(state): State<AppState>,
    _: Allowed<Admins>,
    context: CommandContext,
    Path((id, return_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<RejectReturn>,
) -> Result<Response, ApiError> {
    let command = OrderCommand::RejectReturn {
        return_id: ReturnId::new(return_id),
        reason: body.reason,
    };
    Call::<Order>::new(OrderId::new(id), "reject-return", command)
        .send(&state, &context)
        .await
}

/// The condition a line arrived in.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConditionInput {
    /// Goes back to stock.
    Resellable,
    /// Does not.
    Damaged,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceivedLineInput {
    #[schema(value_type = String, min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub sku: Sku,
    pub condition: ConditionInput,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiveReturn {
    /// One per line of the return.
    #[schema(min_items = 1, max_items = 100)]
    pub lines: Vec<ReceivedLineInput>,
    /// Kept from the refund; zero when absent, at most the return's value.
    #[serde(default)]
    #[schema(value_type = Option<MoneySchema>)]
    pub restocking_fee: Option<Money>,
}

/// The goods arrived: the return's refund (value minus fee minus replacements) is
/// held and issued by the checkout process, resellable units go back to stock.
#[utoipa::path(post, path = "/commands/orders/{id}/returns/{return_id}/receive", tag = "commands",
    params(("id" = Uuid, Path), ("return_id" = Uuid, Path), ("If-Match" = Option<String>, Header), ("Idempotency-Key" = Option<String>, Header)),
    request_body = ReceiveReturn,
    responses((status = 200, body = super::CommandAccepted)),
    security(("bearer" = [])))]
pub async fn receive(
    State(state): State<AppState>,
    _: Allowed<Admins>,
    context: CommandContext,
    Path((id, return_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<ReceiveReturn>,
) -> Result<Response, ApiError> {
    let command = OrderCommand::ReceiveReturn {
        return_id: ReturnId::new(return_id),
        conditions: body
            .lines
            .into_iter()
            .map(|line| LineCondition {
                sku: line.sku,
                condition: match line.condition {
                    ConditionInput::Resellable => ReturnCondition::Resellable,
                    ConditionInput::Damaged => ReturnCondition::Damaged,
                },
            })
            .collect(),
        restocking_fee: body.restocking_fee,
    };
    Call::<Order>::new(OrderId::new(id), "receive-return", command)
        .send(&state, &context)
        .await
}
