//! Product search and autocomplete over the tantivy index of published products.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use projections::search::{self, SearchRequest, SearchResults, SearchSort, Suggestions};
use serde::Deserialize;

use crate::consistency::ConsistencyToken;
use crate::error::ApiError;
use crate::extract::Query;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Words (typos forgiven from 4 letters), "phrases in quotes", -excluded words.
    #[serde(default)]
    pub q: String,
    pub category: Option<String>,
    pub brand: Option<String>,
    /// Minor units, inclusive.
    pub min_price: Option<u64>,
    pub max_price: Option<u64>,
    pub in_stock: Option<bool>,
    /// relevance (default), price_asc, price_desc or newest.
    pub sort: Option<SearchSort>,
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SuggestParams {
    /// The start of a product name.
    pub q: String,
    pub limit: Option<usize>,
}

/// The index, once it reflects the caller's consistency token.
async fn index(
    state: &AppState,
    token: ConsistencyToken,
) -> Result<std::sync::Arc<search::SearchIndex>, ApiError> {
    let index = state
        .search
        .clone()
        .ok_or_else(|| ApiError::Unavailable("product search is not configured here".into()))?;
    if let Some(token) = token.0 {
        let reached = index
            .wait_for(token, state.settings.consistency_wait)
            .await?;
        if !reached {
            return Err(ApiError::NotYetConsistent(
                "the search index has not reached the consistency token yet; retry shortly".into(),
            ));
        }
    }
    Ok(index)
}

#[utoipa::path(get, path = "/queries/products/search", tag = "queries",
    params(SearchParams, ("X-Consistency-Token" = Option<String>, Header)),
    responses((status = 200, body = SearchResults)))]
pub async fn search(
    State(state): State<AppState>,
    token: ConsistencyToken,
    Query(params): Query<SearchParams>,
) -> Result<Response, ApiError> {
    let limit = params.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be between 1 and 100, not {limit}"),
        ));
    }
    let index = index(&state, token).await?;
    let request = SearchRequest {
        q: params.q,
        category: params.category,
        brand: params.brand,
        min_price: params.min_price,
        max_price: params.max_price,
        in_stock: params.in_stock,
        sort: params.sort.unwrap_or_default(),
        limit,
        cursor: params.cursor,
    };
    // Searching is CPU work: off the async threads.
    let results = tokio::task::spawn_blocking(move || search::search(&index, &request))
        .await
        .map_err(ApiError::internal)??;
    Ok(axum::Json(results).into_response())
}

#[utoipa::path(get, path = "/queries/products/suggest", tag = "queries",
    params(SuggestParams, ("X-Consistency-Token" = Option<String>, Header)),
    responses((status = 200, body = Suggestions)))]
pub async fn suggest(
    State(state): State<AppState>,
    token: ConsistencyToken,
    Query(params): Query<SuggestParams>,
) -> Result<Response, ApiError> {
    let limit = params
        .limit
        .unwrap_or(search::MAX_SUGGESTIONS)
        .clamp(1, search::MAX_SUGGESTIONS);
    let index = index(&state, token).await?;
    let suggestions =
        tokio::task::spawn_blocking(move || search::suggest(&index, &params.q, limit))
            .await
            .map_err(ApiError::internal)??;
    Ok(axum::Json(suggestions).into_response())
}
