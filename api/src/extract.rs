//! Extractors whose rejections are problem details with a clear `detail`: axum's
//! own answer in plain text, which a client cannot parse reliably.

use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequest, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The largest request body accepted (also enforced by the router's body limit).
pub const BODY_LIMIT: usize = 64 * 1024;

/// A JSON body. Unknown fields, wrong types, malformed JSON and NUL characters in
/// text are 400 with a message that names the problem (serde's names the field); a
/// missing or wrong content type is 415; an oversized body is 413.
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        require_json(&request)?;
        let bytes = body_bytes(request, state).await?;
        parse(&bytes).map(Json)
    }
}

/// An optional JSON body: an empty body is `None`; anything else must be valid
/// JSON sent as such.
impl<S, T> OptionalFromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        let declared = request.headers().contains_key(header::CONTENT_TYPE);
        if declared {
            require_json(&request)?;
        }
        let bytes = body_bytes(request, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        if !declared {
            return Err(not_json());
        }
        parse(&bytes).map(|value| Some(Json(value)))
    }
}

fn not_json() -> ApiError {
    ApiError::UnsupportedMediaType(
        "the body must be JSON, sent with `Content-Type: application/json`".into(),
    )
}

fn require_json(request: &Request) -> Result<(), ApiError> {
    let is_json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|essence| {
            let essence = essence.trim().to_ascii_lowercase();
            essence == "application/json"
                || (essence.starts_with("application/") && essence.ends_with("+json"))
        })
        .unwrap_or(false);
    if is_json {
        Ok(())
    } else {
        Err(not_json())
    }
}

async fn body_bytes<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, ApiError> {
    <Bytes as FromRequest<S>>::from_request(request, state)
        .await
        .map_err(|e| match e.status().as_u16() {
            413 => ApiError::PayloadTooLarge { limit: BODY_LIMIT },
            _ => ApiError::bad_request("invalid_body", e.body_text()),
        })
}

/// Parses in two steps so that text holding NUL is refused before it can reach an
/// event: PostgreSQL's `jsonb` cannot hold it, and a read model built from such an
/// event would stop its projector.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request("malformed_json", format!("the body is not valid JSON: {e}"))
    })?;
    if holds_nul(&value) {
        return Err(ApiError::bad_request(
            "invalid_body",
            "text in the body must not contain NUL characters (\\u0000)",
        ));
    }
    serde_json::from_value(value)
        .map_err(|e| ApiError::bad_request("invalid_body", format!("the body does not fit: {e}")))
}

fn holds_nul(value: &serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::String(text) => text.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(fields) => fields
            .iter()
            .any(|(key, value)| key.contains('\0') || holds_nul(value)),
        _ => false,
    }
}

/// Path parameters; a value of the wrong shape (an id that is not a UUID) is 400.
pub struct Path<T>(pub T);

impl<S, T> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if encodes_nul(parts.uri.path()) {
            return Err(ApiError::bad_request(
                "invalid_path",
                "the path must not contain NUL characters (%00)",
            ));
        }
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                Err(ApiError::bad_request("invalid_path", e.body_text()))
            }
            Err(other) => Err(ApiError::bad_request("invalid_path", other.body_text())),
        }
    }
}

/// Query parameters; unknown or malformed ones are 400.
pub struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if parts.uri.query().is_some_and(encodes_nul) {
            return Err(ApiError::bad_request(
                "invalid_query",
                "query parameters must not contain NUL characters (%00)",
            ));
        }
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => {
                Err(ApiError::bad_request("invalid_query", e.body_text()))
            }
            Err(other) => Err(ApiError::bad_request("invalid_query", other.body_text())),
        }
    }
}

/// PostgreSQL text cannot hold NUL: a `%00` in a URL is refused before it reaches
/// a query.
fn encodes_nul(text: &str) -> bool {
    text.as_bytes()
        .windows(3)
        .any(|w| w[0] == b'%' && w[1] == b'0' && w[2] == b'0')
}
