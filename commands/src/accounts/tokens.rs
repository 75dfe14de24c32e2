//! Refresh tokens: 32 random bytes shown once, stored by their SHA-256. Each
//! sign-in starts a family; each refresh spends the token it was given and hands
//! out the next of the family. A spent token presented again is taken for stolen:
//! the whole family is revoked, the thief's tokens and the customer's alike, and
//! the customer signs in again.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use domain::shared::CustomerId;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use super::AccountError;

/// How long a refresh token may be used.
pub const REFRESH_TOKEN_TTL: Duration = Duration::days(7);

/// A refresh token as handed out: the token itself and when it expires.
#[derive(Debug, Clone)]
pub struct IssuedRefresh {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// Why a refresh token does not refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Unknown, expired or revoked.
    Invalid,
    /// Spent before: its family is revoked now.
    Reused,
}

#[derive(sqlx::FromRow)]
struct StoredRefresh {
    family_id: Uuid,
    customer_id: Uuid,
    expires_at: DateTime<Utc>,
    spent_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

fn hash_of(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn fresh_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

async fn insert(
    tx: &mut sqlx::PgConnection,
    family: Uuid,
    customer: Uuid,
    now: DateTime<Utc>,
) -> Result<IssuedRefresh, AccountError> {
    let token = fresh_token();
    let expires_at = now + REFRESH_TOKEN_TTL;
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, family_id, customer_id, issued_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&hash_of(&token)[..])
    .bind(family)
    .bind(customer)
    .bind(now)
    .bind(expires_at)
    .execute(tx)
    .await?;
    Ok(IssuedRefresh { token, expires_at })
}

/// The first refresh token of a new sign-in.
pub async fn start_family(
    pool: &PgPool,
    customer: CustomerId,
    now: DateTime<Utc>,
) -> Result<IssuedRefresh, AccountError> {
    let mut conn = pool.acquire().await?;
    insert(&mut conn, Uuid::new_v4(), customer.as_uuid(), now).await
}

/// Spends `token` and hands out the next one of its family, for its customer.
pub async fn rotate(
    pool: &PgPool,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Result<(CustomerId, IssuedRefresh), Refused>, AccountError> {
    let mut tx = pool.begin().await?;
    // The row lock makes two refreshes with one token take turns: the second
    // finds it spent.
    let found: Option<StoredRefresh> = sqlx::query_as(
        "SELECT family_id, customer_id, expires_at, spent_at, revoked_at
           FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE",
    )
    .bind(&hash_of(token)[..])
    .fetch_optional(&mut *tx)
    .await?;
    let Some(StoredRefresh {
        family_id: family,
        customer_id: customer,
        expires_at,
        spent_at,
        revoked_at,
    }) = found
    else {
        return Ok(Err(Refused::Invalid));
    };
    if revoked_at.is_some() || expires_at <= now {
        return Ok(Err(Refused::Invalid));
    }
    if spent_at.is_some() {
        revoke_family_in(&mut tx, family, now).await?;
        tx.commit().await?;
        return Ok(Err(Refused::Reused));
    }
    sqlx::query("UPDATE refresh_tokens SET spent_at = $2 WHERE token_hash = $1")
        .bind(&hash_of(token)[..])
        .bind(now)
        .execute(&mut *tx)
        .await?;
    let next = insert(&mut tx, family, customer, now).await?;
    tx.commit().await?;
    Ok(Ok((CustomerId::new(customer), next)))
}

async fn revoke_family_in(
    tx: &mut sqlx::PgConnection,
    family: Uuid,
    now: DateTime<Utc>,
) -> Result<(), AccountError> {
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL",
    )
    .bind(family)
    .bind(now)
    .execute(tx)
    .await?;
    Ok(())
}

/// Signs out: revokes the family of `token`. `false` when the token is unknown.
pub async fn revoke(pool: &PgPool, token: &str, now: DateTime<Utc>) -> Result<bool, AccountError> {
    let mut conn = pool.acquire().await?;
    let family: Option<Uuid> =
        sqlx::query_scalar("SELECT family_id FROM refresh_tokens WHERE token_hash = $1")
            .bind(&hash_of(token)[..])
            .fetch_optional(&mut *conn)
            .await?;
    match family {
        Some(family) => {
            revoke_family_in(&mut conn, family, now).await?;
            Ok(true)
        }
        None => Ok(false),
    }
}
