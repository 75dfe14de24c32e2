//! The API's one error type, mapped to RFC 9457 problem details in one place.
//! Every 4xx says what is wrong in `detail` and names it in `code`; a 5xx body
//! never carries internals, and is logged once, here.

use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request cannot be understood: malformed JSON, a wrong type, an unknown
    /// field, a bad header or query parameter.
    #[error("{detail}")]
    BadRequest { code: &'static str, detail: String },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("no resource at this path")]
    NotFound,
    /// A resource the caller named does not exist (or is not theirs to see).
    #[error("{0}")]
    Missing(String),
    /// The request conflicts with the resource's current state (a stale
    /// `If-Match`, an idempotency key still in use).
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A business rule refused the command.
    #[error("{detail}")]
    Refused { code: &'static str, detail: String },
    #[error("rate limit exceeded; retry after {} s", retry_after.as_secs().max(1))]
    TooManyRequests { retry_after: Duration },
    #[error("{0}")]
    Unavailable(String),
    /// A read model did not reach the caller's consistency token in time.
    #[error("{0}")]
    NotYetConsistent(String),
    /// Anything unexpected; the body never carries its details.
    #[error("internal error: {0}")]
    Internal(String),
}

/// An RFC 9457 problem body, with `code` for programs and `request_id` to quote.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'static str,
    pub status: u16,
    /// What is wrong, for a person.
    pub detail: String,
    /// What is wrong, for a program: stable snake_case.
    pub code: &'static str,
    /// Quote it when reporting a problem; also in the `X-Request-Id` header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl ApiError {
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code,
            detail: detail.into(),
        }
    }

    pub fn internal(error: impl std::fmt::Display) -> Self {
        ApiError::Internal(error.to_string())
    }

    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, code),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound | ApiError::Missing(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict { code, .. } => (StatusCode::CONFLICT, code),
            ApiError::PayloadTooLarge { .. } => {
                (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
            }
            ApiError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::Refused { code, .. } => (StatusCode::UNPROCESSABLE_ENTITY, code),
            ApiError::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::NotYetConsistent(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, "consistency_timeout")
            }
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    pub fn status(&self) -> StatusCode {
        self.parts().0
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        let detail = match &self {
            ApiError::Internal(_) => {
                "an unexpected error occurred; quote the request id".to_owned()
            }
            other => other.to_string(),
        };
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let problem = Problem {
            kind: format!("https://commerce.example/problems/{code}"),
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail,
            code,
            request_id: None,
        };
        let mut response = problem_response(status, &problem);
        if let ApiError::TooManyRequests { retry_after } = self {
            let seconds = retry_after.as_secs().max(1).to_string();
            if let Ok(value) = HeaderValue::from_str(&seconds) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

pub fn problem_response(status: StatusCode, problem: &Problem) -> Response {
    let body = serde_json::to_vec(problem).unwrap_or_default();
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body,
    )
        .into_response()
}
