//! Webhook subscriptions: an endpoint, the events it wants, its signing secret
//! (made here, shown once, kept sealed), enabled or not. See the migration for
//! why a table and not an event stream.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Utc};
use rand_core::{OsRng, RngCore};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use super::endpoint::{self, EndpointError};

/// How many event or aggregate types one subscription may name.
pub const MAX_TYPES: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum SubscriptionError {
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    #[error("{0:?} is not an event type of any aggregate")]
    UnknownEventType(String),
    #[error("{0:?} is not an aggregate type")]
    UnknownAggregateType(String),
    #[error(
        "a subscription names at most {MAX_TYPES} event types and {MAX_TYPES} aggregate types"
    )]
    TooManyTypes,
    #[error("no personal data key is installed: secrets cannot be kept")]
    NoKeys,
    #[error("secret sealing failed: {0}")]
    Sealing(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// What a new subscription wants.
#[derive(Debug, Clone)]
pub struct NewSubscription {
    pub url: String,
    pub event_types: Vec<String>,
    pub aggregate_types: Vec<String>,
}

/// A subscription as listed: never its secret.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Subscription {
    pub subscription_id: Uuid,
    pub url: String,
    /// Empty, with `aggregate_types` empty too: every event.
    pub event_types: Vec<String>,
    pub aggregate_types: Vec<String>,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A signing secret in the Standard Webhooks form: `whsec_` and 24 random
/// bytes in base64.
fn fresh_secret() -> String {
    let mut bytes = [0u8; 24];
    OsRng.fill_bytes(&mut bytes);
    format!("whsec_{}", STANDARD.encode(bytes))
}

/// Checks `new`, stores it, and answers its id and its secret (shown once).
pub async fn create(
    pool: &PgPool,
    new: NewSubscription,
    allow_loopback: bool,
) -> Result<(Uuid, String), SubscriptionError> {
    let url = endpoint::parse(new.url.trim(), allow_loopback)?;
    if new.event_types.len() > MAX_TYPES || new.aggregate_types.len() > MAX_TYPES {
        return Err(SubscriptionError::TooManyTypes);
    }
    let known: Vec<&str> = domain::AggregateKind::ALL
        .iter()
        .flat_map(|kind| kind.event_types().iter().copied())
        .collect();
    if let Some(unknown) = new
        .event_types
        .iter()
        .find(|t| !known.contains(&t.as_str()))
    {
        return Err(SubscriptionError::UnknownEventType(unknown.clone()));
    }
    let mut aggregate_types = Vec::with_capacity(new.aggregate_types.len());
    for name in &new.aggregate_types {
        let kind = domain::AggregateKind::parse(name)
            .map_err(|_| SubscriptionError::UnknownAggregateType(name.clone()))?;
        aggregate_types.push(kind.type_name().to_owned());
    }
    let keys = eventlog::personal::installed().ok_or(SubscriptionError::NoKeys)?;
    let id = Uuid::new_v4();
    let secret = fresh_secret();
    let sealed = keys
        .seal_secret(id, secret.as_bytes())
        .map_err(|e| SubscriptionError::Sealing(e.to_string()))?;
    sqlx::query(
        "INSERT INTO webhook_subscriptions
             (subscription_id, url, event_types, aggregate_types, secret_sealed)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(url.as_str())
    .bind(&new.event_types)
    .bind(&aggregate_types)
    .bind(&sealed)
    .execute(pool)
    .await?;
    Ok((id, secret))
}

/// Every subscription, oldest first.
pub async fn list(pool: &PgPool) -> Result<Vec<Subscription>, SubscriptionError> {
    Ok(sqlx::query_as(
        "SELECT subscription_id, url, event_types, aggregate_types, enabled, created_at, updated_at
           FROM webhook_subscriptions ORDER BY created_at, subscription_id",
    )
    .fetch_all(pool)
    .await?)
}

/// Enables or disables `id`: the subscription after, or `None` when there is
/// no such subscription.
pub async fn set_enabled(
    pool: &PgPool,
    id: Uuid,
    enabled: bool,
) -> Result<Option<Subscription>, SubscriptionError> {
    Ok(sqlx::query_as(
        "UPDATE webhook_subscriptions SET enabled = $2, updated_at = now()
          WHERE subscription_id = $1
          RETURNING subscription_id, url, event_types, aggregate_types, enabled,
                    created_at, updated_at",
    )
    .bind(id)
    .bind(enabled)
    .fetch_optional(pool)
    .await?)
}

/// The signing secret of `id`, opened: for the deliveries that sign with it.
pub async fn secret_of(pool: &PgPool, id: Uuid) -> Result<Option<String>, SubscriptionError> {
    let sealed: Option<Vec<u8>> = sqlx::query_scalar(
        "SELECT secret_sealed FROM webhook_subscriptions WHERE subscription_id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    let Some(sealed) = sealed else {
        return Ok(None);
    };
    let keys = eventlog::personal::installed().ok_or(SubscriptionError::NoKeys)?;
    let secret = keys
        .open_secret(id, &sealed)
        .map_err(|e| SubscriptionError::Sealing(e.to_string()))?;
    String::from_utf8(secret)
        .map(Some)
        .map_err(|e| SubscriptionError::Sealing(e.to_string()))
}
