//! Orders: a customer's own (another's answers 404), any for admins.

use axum::extract::State;
use axum::response::Response;
use projections::read_models::orders::{
    self, OrderStatus, OrderView, ReturnListItem, ReturnStatus,
};
use projections::read_models::pagination::Page;
use serde::Deserialize;
use uuid::Uuid;

use super::{consistent, private_json, PageParams};
use crate::auth::{Principal, Role};
use crate::consistency::ConsistencyToken;
use crate::error::ApiError;
use crate::extract::{Path, Query};
use crate::state::AppState;

/// The order if `principal` may see it.
pub async fn visible_order(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
) -> Result<OrderView, ApiError> {
    principal.require(&[Role::Admin, Role::Customer])?;
    let missing = || ApiError::Missing(format!("no order {id}"));
    let order = orders::get(&state.pool, id).await?.ok_or_else(missing)?;
    let own = order
        .customer_id
        .is_some_and(|c| c.to_string() == principal.subject);
    if principal.role == Role::Admin || own {
        Ok(order)
    } else {
        Err(missing())
    }
}

#[utoipa::path(get, path = "/queries/orders/{id}", tag = "queries",
    params(("id" = Uuid, Path), ("X-Consistency-Token" = Option<String>, Header)),
    responses((status = 200, body = OrderView)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    token: ConsistencyToken,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    consistent(&state, "orders", token).await?;
    Ok(private_json(&visible_order(&state, &principal, id).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderFilter {
    /// placed, awaiting_payment, confirmed, partially_shipped, shipped, delivered, cancelled.
    pub status: Option<OrderStatus>,
    /// Admins only: one customer's orders.
    pub customer_id: Option<Uuid>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[utoipa::path(get, path = "/queries/orders", tag = "queries",
    params(OrderFilter, ("X-Consistency-Token" = Option<String>, Header)),
    responses((status = 200, body = Page<OrderView>)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    token: ConsistencyToken,
    Query(filter): Query<OrderFilter>,
) -> Result<Response, ApiError> {
    principal.require(&[Role::Admin, Role::Customer])?;
    let customer_id =
        if principal.role == Role::Customer {
            if filter
                .customer_id
                .is_some_and(|c| c.to_string() != principal.subject)
            {
                return Err(ApiError::Forbidden(
                    "customers list their own orders only; leave customer_id out".into(),
                ));
            }
            Some(Uuid::parse_str(&principal.subject).map_err(|_| {
                ApiError::Forbidden("a customer token's subject must be a UUID".into())
            })?)
        } else {
            filter.customer_id
        };
    let page = PageParams {
        limit: filter.limit,
        cursor: filter.cursor,
    };
    consistent(&state, "orders", token).await?;
    let found = orders::list(
        &state.pool,
        customer_id,
        filter.status,
        page.limit()?,
        page.cursor.as_deref(),
    )
    .await?;
    Ok(private_json(&found))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReturnFilter {
    /// Only returns in this status.
    pub status: Option<ReturnStatus>,
    /// 1 to 100 (larger is taken as 100); 20 when absent.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    #[param(max_length = 512)]
    pub cursor: Option<String>,
}

/// The back office's returns queue (admins): every order's returns, newest
/// request first, cursor-paged.
#[utoipa::path(get, path = "/queries/returns", tag = "queries",
    params(ReturnFilter, ("X-Consistency-Token" = Option<String>, Header)),
    responses((status = 200, body = Page<ReturnListItem>)),
    security(("bearer" = [])))]
pub async fn returns(
    State(state): State<AppState>,
    principal: Principal,
    token: ConsistencyToken,
    Query(filter): Query<ReturnFilter>,
) -> Result<Response, ApiError> {
    principal.require(&[Role::Admin])?;
    let page = PageParams {
        limit: filter.limit,
        cursor: filter.cursor,
    };
    consistent(&state, "orders", token).await?;
    let found = orders::list_returns(
        &state.pool,
        filter.status,
        page.limit()?,
        page.cursor.as_deref(),
    )
    .await?;
    Ok(private_json(&found))
}
