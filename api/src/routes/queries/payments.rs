//! The payments of an order, for its customer and for admins.

use axum::extract::State;
use axum::response::Response;
use projections::read_models::payments::{self, PaymentView};
use serde::Deserialize;
use uuid::Uuid;

use super::{consistent, private_json};
use crate::auth::Principal;
use crate::consistency::ConsistencyToken;
use crate::error::ApiError;
use crate::extract::Query;
use crate::routes::queries::orders::visible_order;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PaymentFilter {
    pub order_id: Uuid,
}

#[utoipa::path(get, path = "/queries/payments", tag = "queries",
    params(PaymentFilter, ("X-Consistency-Token" = Option<String>, Header)),
    responses((status = 200, body = Vec<PaymentView>)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    token: ConsistencyToken,
    Query(filter): Query<PaymentFilter>,
) -> Result<Response, ApiError> {
    // Who may see them is decided by the order, so both read models must have
    // reached the token.
    consistent(&state, "payments", token).await?;
    consistent(&state, "orders", token).await?;
    visible_order(&state, &principal, filter.order_id).await?;
    let found = payments::list_for_order(&state.pool, filter.order_id).await?;
    Ok(private_json(&found))
}
