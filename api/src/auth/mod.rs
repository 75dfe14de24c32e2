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
pub use jwt::{
    external_customer_id, Authenticator, Claims, ExternalIssuer, ExternalProfile, TokenError,
    OWN_AUDIENCE, OWN_ISSUER,
};

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

    /// An admin, or the customer `customer` themselves.
    pub fn may_act_for(&self, customer: uuid::Uuid) -> bool {
        self.is_admin() || self.subject == customer.to_string()
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

/// What the middleware found in the request: a caller, nobody, or a token that
/// does not hold (the reason).
#[derive(Debug, Clone)]
struct Authentication(Result<Option<Principal>, String>);

/// Reads the bearer token and notes what it found. A present but invalid token is
/// refused by [`refuse_invalid_tokens`], which runs after the rate limiter, so
/// guessing tokens is rate limited like anything else.
pub async fn authenticate(
    State(authenticator): State<Arc<Authenticator>>,
    mut request: Request,
    next: Next,
) -> Response {
    let found = match request.headers().get(AUTHORIZATION) {
        None => Ok(None),
        Some(value) => {
            let token = value.to_str().ok().and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            });
            match token {
                None => Err("the Authorization header must be `Bearer <token>`".to_owned()),
                Some(token) => authenticator
                    .verify(token.trim())
                    .map(Some)
                    .map_err(|e| e.to_string()),
            }
        }
    };
    request.extensions_mut().insert(Authentication(found));
    next.run(request).await
}

/// A present but invalid token is a 401 on every route: a client with an expired
/// token must learn it, not be served as an anonymous caller.
pub async fn refuse_invalid_tokens(request: Request, next: Next) -> Response {
    if let Some(Authentication(Err(reason))) = request.extensions().get::<Authentication>() {
        return ApiError::Unauthorized(reason.clone()).into_response();
    }
    next.run(request).await
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Authentication>() {
            Some(Authentication(Ok(Some(principal)))) => Ok(principal.clone()),
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
            .and_then(|a| a.0.clone().ok().flatten()))
    }
}

/// The roles a route admits: see [`Allowed`].
pub trait Roles: Send + Sync + 'static {
    const ROLES: &'static [Role];
}

/// Admins only: the catalog, stock, shipping, refunds.
pub struct Admins;
impl Roles for Admins {
    const ROLES: &'static [Role] = &[Role::Admin];
}

/// Admins, and customers acting on what is theirs (the route checks ownership).
pub struct AdminsAndCustomers;
impl Roles for AdminsAndCustomers {
    const ROLES: &'static [Role] = &[Role::Admin, Role::Customer];
}

/// Customers only.
pub struct Customers;
impl Roles for Customers {
    const ROLES: &'static [Role] = &[Role::Customer];
}

/// A caller holding one of `R`'s roles. As an extractor of the request's parts it
/// runs before the body is read: an anonymous caller gets 401 and a caller of
/// another role 403, whatever the body holds.
pub struct Allowed<R: Roles>(pub Principal, std::marker::PhantomData<R>);

impl<R: Roles> Allowed<R> {
    pub fn principal(&self) -> &Principal {
        &self.0
    }
}

impl<S: Send + Sync, R: Roles> FromRequestParts<S> for Allowed<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let principal =
            <Principal as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        principal.require(R::ROLES)?;
        Ok(Allowed(principal, std::marker::PhantomData))
    }
}

/// The caller as the rate limiter and the idempotency records key it: the token's
/// subject, or nothing for anonymous callers.
pub fn subject_of(request: &Request) -> Option<String> {
    request
        .extensions()
        .get::<Authentication>()
        .and_then(|a| a.0.as_ref().ok().and_then(Option::as_ref))
        .map(|p| p.subject.clone())
}
