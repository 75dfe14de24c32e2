//! `GET /queries/...`: read models only, never the event store. Each handler waits
//! for its read model to reach the caller's consistency token first, then checks
//! who may see what: a customer sees only their own carts and orders (another's
//! answers 404, so ids cannot be probed).

pub mod carts;
pub mod customers;
pub mod hot;
pub mod inventory;
pub mod orders;
pub mod payments;
pub mod products;
pub mod sales;
pub mod search;
pub mod shipping_and_tax;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::consistency::{wait_for, ConsistencyToken};
use crate::error::ApiError;
use crate::state::AppState;

/// Where a list page starts and how long it is.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1 to 100; 20 when absent.
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageParams {
    pub fn limit(&self) -> Result<i64, ApiError> {
        match self.limit {
            None => Ok(20),
            Some(limit) if (1..=100).contains(&limit) => Ok(limit),
            Some(limit) => Err(ApiError::bad_request(
                "invalid_query",
                format!("limit must be between 1 and 100, not {limit}"),
            )),
        }
    }
}

/// Waits for `projector` to pass the caller's token.
pub async fn consistent(
    state: &AppState,
    projector: &str,
    token: ConsistencyToken,
) -> Result<(), ApiError> {
    wait_for(
        &state.pool,
        projector,
        token,
        state.settings.consistency_wait,
    )
    .await
}

/// A JSON answer that no cache may keep (it may be a customer's).
pub fn private_json<T: Serialize>(value: &T) -> Response {
    (
        [(header::CACHE_CONTROL, "private, no-store")],
        axum::Json(value),
    )
        .into_response()
}

/// A query's `name` is absent or `len` upper-case ASCII letters (a country or
/// currency code).
pub fn check_code(name: &str, value: Option<&str>, len: usize) -> Result<(), ApiError> {
    match value {
        Some(code) if !(code.len() == len && code.bytes().all(|b| b.is_ascii_uppercase())) => {
            Err(ApiError::bad_request(
                "invalid_query",
                format!("{name} must be {len} upper-case ASCII letters, not {code:?}"),
            ))
        }
        _ => Ok(()),
    }
}
