//! Sign-in for customers: an access JWT of 15 minutes and a refresh token of 7
//! days that rotates on every use ([`commands::accounts::tokens`]).
//!
//! A wrong password and an unknown address get the same answer after the same
//! work (one argon2 verification each), so nobody learns who has an account.
//! Failed sign-ins are limited per account and per client address; a limit
//! reached refuses every sign-in of that account or address until it refills.
//! Nothing here is stored by the idempotency layer: answers carry tokens.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use chrono::Utc;
use commands::accounts;
use commands::accounts::tokens::{self, IssuedRefresh, Refused};
use domain::customer::Customer;
use domain::shared::CustomerId;
use serde::{Deserialize, Serialize};

use crate::auth::Role;
use crate::error::ApiError;
use crate::extract::Json;
use crate::state::AppState;

/// How long an access token is valid.
pub const ACCESS_TOKEN_SECONDS: i64 = 15 * 60;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    #[schema(max_length = 254, example = "ada@example.com")]
    pub email: String,
    #[schema(max_length = 1024, format = Password)]
    pub password: String,
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignIn").finish_non_exhaustive()
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    #[schema(min_length = 1, max_length = 128)]
    pub refresh_token: String,
}

impl std::fmt::Debug for RefreshBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshBody").finish_non_exhaustive()
    }
}

/// Tokens of a signed-in customer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SignedIn {
    pub customer_id: uuid::Uuid,
    /// A bearer JWT: `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds the access token is valid: 900.
    pub expires_in: i64,
    /// Spend it at `POST /auth/refresh` for new tokens; each works once.
    pub refresh_token: String,
    /// Seconds the refresh token is valid: 604800.
    pub refresh_expires_in: i64,
}

fn signed_in(
    state: &AppState,
    customer: CustomerId,
    refresh: IssuedRefresh,
) -> Result<Response, ApiError> {
    let subject = customer.as_uuid().to_string();
    let access_token = state
        .auth
        .mint(&subject, Role::Customer, ACCESS_TOKEN_SECONDS)
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let body = SignedIn {
        customer_id: customer.as_uuid(),
        access_token,
        token_type: "Bearer",
        expires_in: ACCESS_TOKEN_SECONDS,
        refresh_token: refresh.token,
        refresh_expires_in: (refresh.expires_at - Utc::now()).num_seconds(),
    };
    Ok((
        StatusCode::OK,
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        axum::Json(body),
    )
        .into_response())
}

fn failed() -> ApiError {
    ApiError::Unauthorized("the e-mail address or the password is wrong".into())
}

fn internal(error: accounts::AccountError) -> ApiError {
    ApiError::Internal(Box::new(error))
}

#[utoipa::path(post, path = "/auth/sign-in", tag = "auth",
    request_body = SignIn,
    responses((status = 200, body = SignedIn),
        (status = 401, description = "the address or the password is wrong (the same answer for both)"),
        (status = 429, description = "too many failed sign-ins for this account or address")))]
pub async fn sign_in(
    State(state): State<AppState>,
    client: Option<Extension<ConnectInfo<SocketAddr>>>,
    Json(body): Json<SignIn>,
) -> Result<Response, ApiError> {
    let now = Instant::now();
    let index = accounts::email_index(body.email.trim()).map_err(internal)?;
    let account_key = format!("account:{}", hex::encode(index));
    let address_key = match client {
        Some(Extension(ConnectInfo(address))) => format!("ip:{}", address.ip()),
        None => "ip:unknown".to_owned(),
    };
    for key in [&account_key, &address_key] {
        if let Err(retry_after) = state.sign_in_failures.would_allow(key, now) {
            return Err(ApiError::TooManyRequests { retry_after });
        }
    }
    let customer = accounts::authenticate(&state.pool, body.email.trim(), body.password)
        .await
        .map_err(internal)?;
    let open = match customer {
        Some(customer) => {
            let (loaded, _) = state
                .stores
                .of::<Customer>()
                .load(&customer.to_string())
                .await?;
            loaded
                .aggregate
                .state()
                .is_some_and(|s| s.closed_at.is_none() && s.erased_at.is_none())
                .then_some(customer)
        }
        None => None,
    };
    let Some(customer) = open else {
        for key in [&account_key, &address_key] {
            state.sign_in_failures.check(key, now);
        }
        return Err(failed());
    };
    let refresh = tokens::start_family(&state.pool, customer, Utc::now())
        .await
        .map_err(internal)?;
    signed_in(&state, customer, refresh)
}

#[utoipa::path(post, path = "/auth/refresh", tag = "auth",
    request_body = RefreshBody,
    responses((status = 200, body = SignedIn),
        (status = 401, description = "`refresh_token_invalid`, or `refresh_token_reused`: it was spent before, and every token of its sign-in is revoked")))]
pub async fn refresh(
    State(state): State<AppState>,
    Json(body): Json<RefreshBody>,
) -> Result<Response, ApiError> {
    match tokens::rotate(&state.pool, &body.refresh_token, Utc::now())
        .await
        .map_err(internal)?
    {
        Ok((customer, next)) => signed_in(&state, customer, next),
        Err(Refused::Invalid) => Err(ApiError::Unauthorized(
            "the refresh token is unknown, expired or revoked: sign in again".into(),
        )),
        Err(Refused::Reused) => Err(ApiError::Unauthorized(
            "the refresh token was used before, so it may have been stolen: every token of this sign-in is revoked; sign in again".into(),
        )),
    }
}

#[utoipa::path(post, path = "/auth/sign-out", tag = "auth",
    request_body = RefreshBody,
    responses((status = 204, description = "every refresh token of this sign-in is revoked")))]
pub async fn sign_out(
    State(state): State<AppState>,
    Json(body): Json<RefreshBody>,
) -> Result<StatusCode, ApiError> {
    tokens::revoke(&state.pool, &body.refresh_token, Utc::now())
        .await
        .map_err(internal)?;
    Ok(StatusCode::NO_CONTENT)
}
