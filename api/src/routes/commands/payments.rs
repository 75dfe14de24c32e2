//! Payment commands: refunds (admin), decided on the payment's order.

use axum::extract::State;
use axum::response::Response;
use domain::payment::Payment;
use domain::shared::{Money, PaymentId};
use serde::Deserialize;
use uuid::Uuid;

use super::CommandContext;
use crate::auth::{Admins, Allowed};
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::openapi::MoneySchema;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Refund {
    /// At most what was captured and is neither refunded nor held for a refund.
    #[schema(value_type = MoneySchema)]
    pub amount: Money,
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// Refunds the payment's order: the same as `POST /commands/orders/{id}/refunds`
/// for the order this payment pays (the amount held on the order, then issued by
/// the checkout process through the gateway), so racing refunds cannot both
/// reach the customer's card.
#[utoipa::path(post, path = "/commands/payments/{id}/refund", tag = "commands",
    params(("id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header)), request_body = Refund,
    responses((status = 200, body = super::orders::RefundRequested)),
    security(("bearer" = [])))]
pub async fn refund(
    State(state): State<AppState>,
    _: Allowed<Admins>,
    context: CommandContext,
    Path(id): Path<Uuid>,
    Json(body): Json<Refund>,
) -> Result<Response, ApiError> {
    let payment_id = PaymentId::new(id);
    let (loaded, _) = state
        .stores
        .of::<Payment>()
        .load(&payment_id.to_string())
        .await?;
    let order_id = loaded
        .aggregate
        .order_id()
        .ok_or_else(|| ApiError::Missing(format!("no payment {id}")))?;
    let request = super::orders::RequestRefund {
        amount: body.amount,
        lines: Vec::new(),
        reason: body.reason,
    };
    super::orders::request_refund(&state, &context, order_id, request).await
}
