//! The catalog: published products for everyone; every status for admins.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use projections::read_models::pagination::Page;
use projections::read_models::products::{self, ProductStatus, ProductView};
use serde::Deserialize;
use uuid::Uuid;

use super::{consistent, PageParams};
use crate::auth::{Principal, Role};
use crate::consistency::ConsistencyToken;
use crate::error::ApiError;
use crate::extract::{Path, Query};
use crate::state::AppState;

fn is_admin(principal: &Option<Principal>) -> bool {
    principal.as_ref().is_some_and(|p| p.role == Role::Admin)
}

#[utoipa::path(get, path = "/queries/products/{id}", tag = "queries",
    params(("id" = Uuid, Path), ("X-Consistency-Token" = Option<String>, Header)),
    responses((status = 200, body = ProductView)))]
pub async fn get(
    State(state): State<AppState>,
    principal: Option<Principal>,
    token: ConsistencyToken,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    consistent(&state, "products", token).await?;
    let product = products::get(&state.pool, id)
        .await?
        .filter(|p| is_admin(&principal) || p.status == ProductStatus::Published)
        .ok_or_else(|| ApiError::Missing(format!("no product {id}")))?;
    Ok(axum::Json(product).into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProductFilter {
    pub category: Option<String>,
    /// Admins only: draft, published, unpublished or discontinued.
    pub status: Option<ProductStatus>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[utoipa::path(get, path = "/queries/products", tag = "queries",
    params(ProductFilter, ("X-Consistency-Token" = Option<String>, Header)),
    responses((status = 200, body = Page<ProductView>)))]
pub async fn list(
    State(state): State<AppState>,
    principal: Option<Principal>,
    token: ConsistencyToken,
    Query(filter): Query<ProductFilter>,
) -> Result<Response, ApiError> {
    let status = match (&filter.status, is_admin(&principal)) {
        (None, true) => None,
        (None, false) => Some(ProductStatus::Published),
        (Some(_), false) => {
            return Err(ApiError::Forbidden(
                "only admins filter products by status".into(),
            ))
        }
        (Some(status), true) => Some(*status),
    };
    let page = PageParams {
        limit: filter.limit,
        cursor: filter.cursor,
    };
    consistent(&state, "products", token).await?;
    let found = products::list(
        &state.pool,
        filter.category.as_deref(),
        status,
        page.limit()?,
        page.cursor.as_deref(),
    )
    .await?;
    Ok((
        [(header::CACHE_CONTROL, "public, max-age=5")],
        axum::Json::<Page<ProductView>>(found),
    )
        .into_response())
}
