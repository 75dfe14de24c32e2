//! Extractors whose rejections are problem details with a clear `detail`: axum's
//! own answer in plain text, which a client cannot parse reliably.

use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequest, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The largest request body accepted (also enforced by the router's body limit).
pub const BODY_LIMIT: usize = 64 * 1024;

/// A JSON body. Unknown fields, wrong types and malformed JSON are 400 with
/// serde's message (which names the field and the position); a missing or wrong
/// content type is 415; an oversized body is 413.
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match <axum::Json<T> as FromRequest<S>>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

/// An optional JSON body: an empty body is `None`; anything else must be valid.
impl<S, T> OptionalFromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        let bytes = <Bytes as FromRequest<S>>::from_request(request, state)
            .await
            .map_err(|e| match e.status().as_u16() {
                413 => ApiError::PayloadTooLarge { limit: BODY_LIMIT },
                _ => ApiError::bad_request("invalid_body", e.body_text()),
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(&bytes)
            .map(|v| Some(Json(v)))
            .map_err(|e| {
                let code = match e.classify() {
                    serde_json::error::Category::Data => "invalid_body",
                    _ => "malformed_json",
                };
                ApiError::bad_request(code, format!("the JSON body is not valid: {e}"))
            })
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::JsonDataError(e) => ApiError::bad_request("invalid_body", e.body_text()),
        JsonRejection::JsonSyntaxError(e) => ApiError::bad_request("malformed_json", e.body_text()),
        JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType(
            "the body must be JSON, sent with `Content-Type: application/json`".into(),
        ),
        JsonRejection::BytesRejection(e) if e.status().as_u16() == 413 => {
            ApiError::PayloadTooLarge { limit: BODY_LIMIT }
        }
        other => ApiError::bad_request("invalid_body", other.body_text()),
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
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => {
                Err(ApiError::bad_request("invalid_query", e.body_text()))
            }
            Err(other) => Err(ApiError::bad_request("invalid_query", other.body_text())),
        }
    }
}
