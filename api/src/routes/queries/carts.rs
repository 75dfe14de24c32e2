//! The cart read model: a customer's own, a guest's by cart token, any for admins;
//! read from Redis first (see [`hot`]).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use projections::read_models::carts::{self, CartView};
use uuid::Uuid;

use super::{hot, private_json};
use crate::auth::{Principal, Role};
use crate::consistency::ConsistencyToken;
use crate::error::ApiError;
use crate::extract::Path;
use crate::routes::commands::carts::CART_TOKEN;
use crate::state::AppState;

#[utoipa::path(get, path = "/queries/carts/{id}", tag = "queries",
    params(("id" = Uuid, Path), ("X-Consistency-Token" = Option<String>, Header), ("X-Cart-Token" = Option<String>, Header)),
    responses((status = 200, body = CartView, headers(("X-Read-Source" = String, description = "`redis` or `postgres`: where the view was read")))))]
pub async fn get(
    State(state): State<AppState>,
    principal: Option<Principal>,
    token: ConsistencyToken,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let missing = || ApiError::Missing(format!("no cart {id}"));
    let (cart, source) = hot::read(
        &state,
        carts::PROJECTOR,
        &id.to_string(),
        token,
        carts::get(&state.pool, id),
    )
    .await?;
    let cart = cart.ok_or_else(missing)?;
    let allowed = match (&principal, cart.customer_id) {
        (Some(p), _) if p.role == Role::Admin => true,
        (Some(p), Some(owner)) if p.role == Role::Customer => p.subject == owner.to_string(),
        (_, None) => headers
            .get(&CART_TOKEN)
            .and_then(|t| t.to_str().ok())
            .is_some_and(|t| state.cart_tokens.opens(domain::shared::CartId::new(id), t)),
        _ => false,
    };
    if !allowed {
        return Err(missing());
    }
    Ok(source.mark(private_json(&cart)))
}
