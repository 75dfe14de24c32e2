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
    #[error("this path does not take this method")]
    MethodNotAllowed,
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
    /// The database went away under the request (a terminated connection, a
    /// restart): nothing was decided, the same request may be sent again.
    #[error("the database is unavailable; retry shortly")]
    DatabaseUnavailable(#[source] BoxError),
    /// A read model did not reach the caller's consistency token in time.
    #[error("{0}")]
    NotYetConsistent(String),
    /// Anything unexpected; the body never carries its details, the log the
    /// whole chain of causes.
    #[error("internal error: {0}")]
    Internal(#[source] BoxError),
}

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How long a client should wait before retrying after a lost database.
const DATABASE_RETRY_AFTER: Duration = Duration::from_secs(1);

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

    pub fn internal(error: impl Into<BoxError>) -> Self {
        ApiError::Internal(error.into())
    }

    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, code),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound | ApiError::Missing(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
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
            ApiError::DatabaseUnavailable(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, "database_unavailable")
            }
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
            tracing::error!(error = %cause_chain(&self), "request failed");
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
        let retry_after = match self {
            ApiError::TooManyRequests { retry_after } => Some(retry_after),
            ApiError::DatabaseUnavailable(_) => Some(DATABASE_RETRY_AFTER),
            _ => None,
        };
        if let Some(retry_after) = retry_after {
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

/// `error: cause: cause…`, for the log: a 5xx's causes are what an operator needs.
pub fn cause_chain(error: &dyn std::error::Error) -> String {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        // thiserror's `{0}` displays often repeat their source: say it once.
        if !chain.ends_with(&text) {
            chain.push_str(": ");
            chain.push_str(&text);
        }
        source = cause.source();
    }
    chain
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::PoolTimedOut => {
                ApiError::Unavailable("the database is overloaded; retry shortly".into())
            }
            error if eventlog::is_transient_database_error(&error) => {
                ApiError::DatabaseUnavailable(error.into())
            }
            error => match on_constraint(&error) {
                Some(refusal) => refusal,
                None => ApiError::Internal(error.into()),
            },
        }
    }
}

/// Unique constraints that stand for business rules, by name.
fn on_constraint(error: &sqlx::Error) -> Option<ApiError> {
    let constraint = error.as_database_error()?.constraint()?;
    match constraint {
        "product_skus_pkey" => Some(ApiError::Conflict {
            code: "sku_taken",
            detail: "another product already has this SKU".into(),
        }),
        "customer_emails_pkey" => Some(ApiError::Conflict {
            code: "email_taken",
            detail: "another account has this e-mail address".into(),
        }),
        "promotion_codes_pkey" => Some(ApiError::Conflict {
            code: "coupon_code_taken",
            detail: "another promotion already has this coupon code".into(),
        }),
        _ => None,
    }
}

impl From<eventlog::Error> for ApiError {
    fn from(error: eventlog::Error) -> Self {
        match error {
            eventlog::Error::Database(error) => error.into(),
            other => ApiError::Internal(other.into()),
        }
    }
}

impl From<projections::Error> for ApiError {
    fn from(error: projections::Error) -> Self {
        match error {
            projections::Error::InvalidCursor(reason) => {
                ApiError::bad_request("invalid_cursor", format!("invalid cursor: {reason}"))
            }
            projections::Error::InvalidSearch(reason) => {
                ApiError::bad_request("invalid_search", reason)
            }
            projections::Error::Database(error) => error.into(),
            projections::Error::Log(error) => error.into(),
            other => ApiError::Internal(other.into()),
        }
    }
}

impl From<commands::StoreError> for ApiError {
    fn from(error: commands::StoreError) -> Self {
        use commands::StoreError;
        match error {
            StoreError::Conflict => ApiError::Conflict {
                code: "contended",
                detail: "the aggregate changed while the command ran; retry".into(),
            },
            StoreError::Database(error) => error.into(),
            StoreError::Group(error) if eventlog::is_transient_database_error(&error) => {
                ApiError::DatabaseUnavailable(Box::new(StoreError::Group(error)))
            }
            other => ApiError::Internal(other.into()),
        }
    }
}

/// The one mapping of the command side's errors to HTTP.
impl<E: domain::Refusal + Send + Sync + 'static> From<commands::CommandError<E>> for ApiError {
    fn from(error: commands::CommandError<E>) -> Self {
        use commands::CommandError;
        match error {
            CommandError::Refused(refusal) if refusal.code() == "not_found" => {
                ApiError::Missing(refusal.to_string())
            }
            CommandError::Refused(refusal) => ApiError::Refused {
                code: refusal.code(),
                detail: refusal.to_string(),
            },
            CommandError::VersionMismatch { expected, actual } => ApiError::Conflict {
                code: "version_mismatch",
                detail: format!(
                    "If-Match named version {expected}, but the aggregate is at version {actual}; read it again"
                ),
            },
            CommandError::Contended => ApiError::Conflict {
                code: "contended",
                detail: "the aggregate kept changing while the command ran; retry".into(),
            },
            CommandError::Store(error) => error.into(),
        }
    }
}

impl From<commands::delivery::DeliveryError> for ApiError {
    fn from(error: commands::delivery::DeliveryError) -> Self {
        use commands::delivery::DeliveryError;
        match error {
            DeliveryError::MethodRequired { .. } => ApiError::Refused {
                code: "shipping_method_required",
                detail: error.to_string(),
            },
            DeliveryError::MethodUnavailable(detail) => ApiError::Refused {
                code: "shipping_method_unavailable",
                detail,
            },
            DeliveryError::Store(error) => error.into(),
        }
    }
}

impl From<commands::cart_workflows::AttachRefusal> for ApiError {
    fn from(refusal: commands::cart_workflows::AttachRefusal) -> Self {
        ApiError::Refused {
            code: refusal.code(),
            detail: refusal.to_string(),
        }
    }
}

impl From<commands::cart_workflows::OpenCartLookupError> for ApiError {
    fn from(error: commands::cart_workflows::OpenCartLookupError) -> Self {
        use commands::cart_workflows::OpenCartLookupError;
        match error {
            OpenCartLookupError::ReadModel(error) => error.into(),
            OpenCartLookupError::Database(error) => error.into(),
            not_caught_up @ OpenCartLookupError::NotCaughtUp(_) => {
                ApiError::NotYetConsistent(not_caught_up.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_connection_is_a_503_to_retry_and_a_bad_statement_a_500() {
        let lost = ApiError::from(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "connection reset by peer",
        )));
        assert_eq!(lost.status(), StatusCode::SERVICE_UNAVAILABLE);
        let response = lost.into_response();
        assert_eq!(
            response
                .headers()
                .get(header::RETRY_AFTER)
                .map(|v| v.as_bytes()),
            Some(&b"1"[..])
        );
        let broken = ApiError::from(sqlx::Error::ColumnNotFound("doc".into()));
        assert_eq!(broken.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn the_log_line_names_every_cause() {
        let error = ApiError::from(commands::StoreError::Database(sqlx::Error::Io(
            std::io::Error::other("the socket broke"),
        )));
        let chain = cause_chain(&error);
        assert!(chain.contains("the database is unavailable"), "{chain}");
        assert!(chain.contains("the socket broke"), "{chain}");
    }
}
