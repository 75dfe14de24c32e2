//! Read-your-writes: a command answers with a consistency token (the log position
//! of its last event); a query that sends it back (`X-Consistency-Token`, or the
//! `consistency_token` query parameter) waits until its read model has passed that
//! position, up to a bound, then answers 503 rather than something stale.

use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderName;
use eventlog::Checkpoint;
use sqlx::PgPool;

use crate::error::ApiError;

pub const CONSISTENCY_TOKEN: HeaderName = HeaderName::from_static("x-consistency-token");

/// The token a query was given, if any.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConsistencyToken(pub Option<Checkpoint>);

impl<S: Send + Sync> FromRequestParts<S> for ConsistencyToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let from_header = parts
            .headers
            .get(&CONSISTENCY_TOKEN)
            .map(|v| v.to_str().unwrap_or_default().to_owned());
        let from_query = parts.uri.query().and_then(|query| {
            query
                .split('&')
                .filter_map(|pair| pair.split_once('='))
                .find(|(name, _)| *name == "consistency_token")
                .map(|(_, value)| value.replace("%3A", ":").replace("%3a", ":"))
        });
        match from_header.or(from_query) {
            None => Ok(ConsistencyToken(None)),
            Some(text) => text.trim().parse().map(|c| ConsistencyToken(Some(c))).map_err(
                |_| {
                    ApiError::bad_request(
                        "invalid_consistency_token",
                        "the consistency token must be the `consistency_token` a command answered with",
                    )
                },
            ),
        }
    }
}

/// Waits until `projector` has passed `token`, polling its checkpoint, at most
/// `bound`. Without a token, returns at once.
pub async fn wait_for(
    pool: &PgPool,
    projector: &str,
    token: ConsistencyToken,
    bound: Duration,
) -> Result<(), ApiError> {
    let Some(token) = token.0 else {
        return Ok(());
    };
    if projections::runtime::wait_for_checkpoint(pool, projector, token, bound).await? {
        return Ok(());
    }
    Err(ApiError::NotYetConsistent(format!(
        "the {projector} read model has not reached the consistency token within {} ms; retry shortly",
        bound.as_millis()
    )))
}
