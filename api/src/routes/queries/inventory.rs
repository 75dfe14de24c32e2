//! Stock levels: one SKU for anyone (storefronts show availability; read from
//! Redis first, see [`hot`]), the list and its low-stock filter for admins.

use axum::extract::State;
use axum::response::Response;
use projections::read_models::inventory::{self, InventoryView};
use projections::read_models::pagination::Page;
use serde::Deserialize;

use super::{consistent, hot, private_json, PageParams};
use crate::auth::{Principal, Role};
use crate::consistency::ConsistencyToken;
use crate::error::ApiError;
use crate::extract::{Path, Query};
use crate::state::AppState;

#[utoipa::path(get, path = "/queries/inventory/{sku}", tag = "queries",
    params(("sku" = String, Path), ("X-Consistency-Token" = Option<String>, Header)),
    responses((status = 200, body = InventoryView, headers(("X-Read-Source" = String, description = "`redis` or `postgres`: where the view was read")))))]
pub async fn get(
    State(state): State<AppState>,
    token: ConsistencyToken,
    Path(sku): Path<String>,
) -> Result<Response, ApiError> {
    let (view, source) = hot::read(
        &state,
        inventory::PROJECTOR,
        &sku,
        token,
        inventory::get(&state.pool, &sku),
    )
    .await?;
    let view = view.ok_or_else(|| ApiError::Missing(format!("no stock is kept for {sku}")))?;
    Ok(source.mark(private_json(&view)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InventoryFilter {
    /// Only SKUs at or below their low-stock threshold.
    #[serde(default)]
    pub low_stock: bool,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[utoipa::path(get, path = "/queries/inventory", tag = "queries",
    params(InventoryFilter, ("X-Consistency-Token" = Option<String>, Header)),
    responses((status = 200, body = Page<InventoryView>)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    token: ConsistencyToken,
    Query(filter): Query<InventoryFilter>,
) -> Result<Response, ApiError> {
    principal.require(&[Role::Admin])?;
    let page = PageParams {
        limit: filter.limit,
        cursor: filter.cursor,
    };
    consistent(&state, "inventory", token).await?;
    let found = inventory::list(
        &state.pool,
        filter.low_stock,
        page.limit()?,
        page.cursor.as_deref(),
    )
    .await?;
    Ok(private_json(&found))
}
