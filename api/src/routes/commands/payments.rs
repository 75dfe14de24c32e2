//! Payment commands: refunds (admin), through the payment gateway.

use axum::extract::State;
use axum::response::Response;
use domain::payment::{Payment, PaymentCommand};
use domain::shared::{Money, PaymentId};
use serde::Deserialize;
use uuid::Uuid;

use super::{Call, CommandContext};
use crate::auth::{Admins, Allowed};
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::openapi::MoneySchema;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Refund {
    /// At most what was captured and not yet refunded.
    #[schema(value_type = MoneySchema)]
    pub amount: Money,
    pub reason: String,
}

#[utoipa::path(post, path = "/commands/payments/{id}/refund", tag = "commands",
    params(("id" = Uuid, Path)), request_body = Refund,
    responses((status = 200, body = super::CommandAccepted)),
    security(("bearer" = [])))]
pub async fn refund(
    State(state): State<AppState>,
    _: Allowed<Admins>,
    context: CommandContext,
    Path(id): Path<Uuid>,
    Json(body): Json<Refund>,
) -> Result<Response, ApiError> {
    let payment_id = PaymentId::new(id);
    // Ask the aggregate before the gateway: a refund it would refuse must not
    // reach the customer's card.
    let (loaded, _) = state
        .stores
        .of::<domain::payment::Payment>()
        .load(&payment_id.to_string())
        .await?;
    if !loaded.aggregate.exists() {
        return Err(ApiError::Missing(format!("no payment {id}")));
    }
    let probe = PaymentCommand::Refund {
        gateway_reference: domain::payment::GatewayReference::new("probe")
            .map_err(ApiError::internal)?,
        amount: body.amount,
        reason: body.reason.clone(),
    };
    loaded
        .aggregate
        .decide(probe)
        .map_err(|e| ApiError::from(commands::CommandError::Refused(e)))?;
    // A retried request (same Idempotency-Key) refunds once at the gateway too.
    let gateway_key = context
        .claim
        .as_ref()
        .map(|claim| claim.uuid())
        .unwrap_or(context.request_id);
    let gateway_reference = state
        .gateway
        .refund(payment_id, body.amount, gateway_key)
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let command = PaymentCommand::Refund {
        gateway_reference,
        amount: body.amount,
        reason: body.reason,
    };
    Call::<Payment>::new(payment_id, "refund", command)
        .send(&state, &context)
        .await
}
