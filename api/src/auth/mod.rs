//! Who is calling: bearer JWTs (HS256 with a shared secret, or RS256 with a public
//! key) carrying a subject and one role, and guest cart tokens. The middleware
//! reads the `Authorization` header once per request; handlers ask for a
//! [`Principal`] (401 without one) or an optional one.

mod cart_tokens;
mod jwt;

use std::fmt;
use std::sync::Arc;

use axum::extract::{FromRequestParts, OptionalFromRequestParts, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

pub use cart_tokens::CartTokens;
pub use jwt::{Authenticator, Claims, TokenError};

use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Their own carts and orders only.
    Customer,
    /// The catalog, stock, every order, refunds.
    Admin,
    /// Reads the event log.
    Auditor,
    /// Replays and exports the event streams.
    Analyst,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Admin => "admin",
            Role::Auditor => "auditor",
            Role::Analyst => "analyst",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "customer" => Ok(Role::Customer),
            "admin" => Ok(Role::Admin),
            "auditor" => Ok(Role::Auditor),
            "analyst" => Ok(Role::Analyst),
            other => Err(format!(
                "unknown role {other:?}: expected customer, admin, auditor or analyst"
            )),
        }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub subject: String,
    pub role: Role,
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Refuses (403) unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "this needs the role {}; the token's role is {}",
                roles
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(" or "),
                self.role
            )))
        }
    }
}

/// What the middleware found in the request.
#[derive(Debug, Clone)]
struct Authentication(Option<Principal>);

/// Reads the bearer token. A present but invalid token is a 401 at once: a client
/// with an expired token must learn it, not be served as an anonymous caller.
pub async fn authenticate(
    State(authenticator): State<Arc<Authenticator>>,
    mut request: Request,
    next: Next,
) -> Response {
    let principal = match request.headers().get(AUTHORIZATION) {
        None => None,
        Some(value) => {
            let token = value.to_str().ok().and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            });
            let Some(token) = token else {
                return ApiError::Unauthorized(
                    "the Authorization header must be `Bearer <token>`".into(),
                )
                .into_response();
            };
            match authenticator.verify(token.trim()) {
                Ok(principal) => Some(principal),
                Err(error) => return ApiError::Unauthorized(error.to_string()).into_response(),
            }
        }
    };
    request.extensions_mut().insert(Authentication(principal));
    next.run(request).await
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Authentication>() {
            Some(Authentication(Some(principal))) => Ok(principal.clone()),
            _ => Err(ApiError::Unauthorized(
                "this needs a bearer token (Authorization: Bearer <token>)".into(),
            )),
        }
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Authentication>()
            .and_then(|a| a.0.clone()))
    }
}

/// The caller as the rate limiter and the idempotency records key it: the token's
/// subject, or nothing for anonymous callers.
pub fn subject_of(request: &Request) -> Option<String> {
    request
        .extensions()
        .get::<Authentication>()
        .and_then(|a| a.0.as_ref())
        .map(|p| p.subject.clone())
}
