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
    // Taken before the check and given back on success: parallel guesses each
    // take their own, so they cannot all pass a limit that only counted them
    // afterwards.
    for key in [&account_key, &address_key] {
        let standing = state.sign_in_failures.check(key, now);
        if !standing.allowed {
            return Err(ApiError::TooManyRequests {
                retry_after: standing.retry_after,
            });
        }
    }
    let customer = accounts::authenticate(&state.pool, body.email.trim(), body.password)
        .await
        .map_err(internal)?;
    let open = match customer {
        Some(customer) => {
            // As stored: the account may have been closed on another instance.
            let loaded = state
                .stores
                .of::<Customer>()
                .load_stored(&customer.to_string())
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
        return Err(failed());
    };
    for key in [&account_key, &address_key] {
        state.sign_in_failures.give_back(key);
    }
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

/// Exchanges an outside OpenID Connect issuer's ID token (as the bearer token)
/// for this service's tokens. The first time, it opens the customer's account
/// with the token's `email` and `name`: only when the issuer verified the address
/// (`email_verified`), and never over another account's address, so nobody takes
/// over an account by naming its address at some provider.
#[utoipa::path(post, path = "/auth/sign-in/external", tag = "auth",
    responses((status = 200, body = SignedIn),
        (status = 401, description = "no outside issuer's token, or one for another audience or issuer"),
        (status = 409, description = "`email_taken`: another account has the token's address"),
        (status = 422, description = "`provider_email_unverified`: the first sign-in needs an address the issuer verified")),
    security(("bearer" = [])))]
pub async fn sign_in_external(
    State(state): State<AppState>,
    context: crate::routes::commands::CommandContext,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .ok_or_else(|| {
            ApiError::Unauthorized("send the issuer's ID token as the bearer token".into())
        })?;
    let profile = state
        .auth
        .external_profile(token.trim())
        .map_err(|e| ApiError::Unauthorized(e.to_string()))?;
    let customer = CustomerId::new(profile.customer_id);
    let loaded = state
        .stores
        .of::<Customer>()
        .load_stored(&customer.to_string())
        .await?;
    match loaded.aggregate.state() {
        Some(account) if account.erased_at.is_some() || account.closed_at.is_some() => {
            return Err(ApiError::Unauthorized("this account is closed".into()));
        }
        Some(_) => {}
        None => open_external_account(&state, &context, customer, &profile).await?,
    }
    let refresh = tokens::start_family(&state.pool, customer, Utc::now())
        .await
        .map_err(internal)?;
    signed_in(&state, customer, refresh)
}

async fn open_external_account(
    state: &AppState,
    context: &crate::routes::commands::CommandContext,
    customer: CustomerId,
    profile: &crate::auth::ExternalProfile,
) -> Result<(), ApiError> {
    use domain::customer::{CustomerCommand, SignUp};
    use domain::shared::{Email, PersonName};
    let refused = |code, detail: &str| ApiError::Refused {
        code,
        detail: detail.into(),
    };
    let email = profile
        .email
        .as_deref()
        .filter(|_| profile.email_verified)
        .and_then(|e| Email::new(e).ok())
        .ok_or_else(|| {
            refused(
                "provider_email_unverified",
                "the issuer's token carries no e-mail address it verified",
            )
        })?;
    let name = profile
        .name
        .as_deref()
        .and_then(|n| PersonName::new(n).ok())
        .or_else(|| {
            let local = email.as_str().split('@').next().unwrap_or_default();
            PersonName::new(local).ok()
        })
        .ok_or_else(|| refused("invalid_name", "the issuer's token carries no usable name"))?;
    let claim = commands::accounts::ClaimEmail {
        customer_id: customer,
        email_index: accounts::email_index(email.as_str()).map_err(internal)?,
        releasing: None,
        password_hash: None,
    };
    let command = CustomerCommand::RegisterCustomer {
        customer_id: customer,
        email,
        name,
        sign_up: SignUp::External {
            issuer: profile.issuer.clone(),
        },
        registered_at: Utc::now(),
    };
    crate::routes::commands::Call::<Customer>::new(customer, "register-customer", command)
        .creating()
        .with_hook(&claim)
        .run(state, context)
        .await?;
    Ok(())
}
