//! Redis-first reads of the hot views (a cart, a SKU's stock): Redis answers when
//! it holds the view and has reached the caller's consistency token; otherwise,
//! and whenever Redis is down or slow, the PostgreSQL read model answers, after
//! its usual wait for the token. The answer's `X-Read-Source` says which.

use std::future::Future;

use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;
use projections::redis_views::HotView;

use super::consistent;
use crate::consistency::ConsistencyToken;
use crate::error::ApiError;
use crate::state::AppState;

/// `redis` or `postgres`: the store a hot view was read from.
pub const READ_SOURCE: HeaderName = HeaderName::from_static("x-read-source");

/// Where an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadSource {
    Redis,
    Postgres,
}

impl ReadSource {
    fn header_value(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            ReadSource::Redis => "redis",
            ReadSource::Postgres => "postgres",
        })
    }

    /// `response` with its `X-Read-Source` header.
    pub fn mark(self, mut response: Response) -> Response {
        response
            .headers_mut()
            .insert(READ_SOURCE, self.header_value());
        response
    }
}

/// The view under `key`: from Redis when it holds one covering `token`, else
/// from `postgres` (a read of the read model `projector` builds) once that read
/// model has passed `token`. Redis failing is never an error here.
pub async fn read<V, F>(
    state: &AppState,
    projector: &str,
    key: &str,
    token: ConsistencyToken,
    postgres: F,
) -> Result<(Option<V>, ReadSource), ApiError>
where
    V: HotView,
    F: Future<Output = Result<Option<V>, projections::Error>>,
{
    if let Some(hot_views) = &state.hot_views {
        match hot_views.get::<V>(key).await {
            Ok(Some(found)) if token.0.is_none_or(|token| found.covers(token)) => {
                return Ok((Some(found.view), ReadSource::Redis));
            }
            Ok(_) => {}
            // Logged quietly: a Redis that is down would otherwise log every query.
            Err(error) => tracing::debug!(%error, "hot view unavailable; reading PostgreSQL"),
        }
    }
    consistent(state, projector, token).await?;
    let view = postgres.await?;
    Ok((view, ReadSource::Postgres))
}
