//! Webhook subscriptions (admin): make one (its signing secret is in the answer,
//! and nowhere else, ever), enable and disable it. Deliveries come with the rest
//! of the webhooks issue.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use commands::webhooks::subscriptions::{self, NewSubscription, SubscriptionError};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::{Admins, Allowed};
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSubscription {
    /// `https://` (or `http://` to loopback when WEBHOOKS_ALLOW_LOOPBACK=true);
    /// no private, link-local or metadata address.
    #[schema(
        min_length = 1,
        max_length = 2048,
        example = "https://erp.example.com/hooks/commerce"
    )]
    pub url: String,
    /// Event types to deliver (`OrderPlaced`, ...); with `aggregate_types`
    /// empty too, every event.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub event_types: Vec<String>,
    /// Aggregate types whose every event is delivered (`Order`, ...).
    #[serde(default)]
    #[schema(max_items = 100)]
    pub aggregate_types: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SubscriptionCreated {
    pub id: Uuid,
    /// Signs every delivery (Standard Webhooks: `whsec_…`). Shown this once:
    /// keep it where the receiver checks signatures.
    pub secret: String,
}

fn refused(error: SubscriptionError) -> ApiError {
    match error {
        SubscriptionError::Endpoint(e) => ApiError::bad_request("endpoint_refused", e.to_string()),
        e @ (SubscriptionError::UnknownEventType(_)
        | SubscriptionError::UnknownAggregateType(_)
        | SubscriptionError::TooManyTypes) => {
            ApiError::bad_request("invalid_subscription", e.to_string())
        }
        SubscriptionError::Database(e) => ApiError::from(e),
        e @ (SubscriptionError::NoKeys | SubscriptionError::Sealing(_)) => {
            ApiError::Internal(Box::new(e))
        }
    }
}

#[utoipa::path(post, path = "/commands/webhook-subscriptions", tag = "commands",
    request_body = CreateSubscription,
    responses((status = 201, body = SubscriptionCreated)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    _: Allowed<Admins>,
    Json(body): Json<CreateSubscription>,
) -> Result<Response, ApiError> {
    let new = NewSubscription {
        url: body.url,
        event_types: body.event_types,
        aggregate_types: body.aggregate_types,
    };
    let (id, secret) =
        subscriptions::create(&state.pool, new, state.settings.webhooks_allow_loopback)
            .await
            .map_err(refused)?;
    Ok((
        StatusCode::CREATED,
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        axum::Json(SubscriptionCreated { id, secret }),
    )
        .into_response())
}

async fn set_enabled(state: &AppState, id: Uuid, enabled: bool) -> Result<Response, ApiError> {
    match subscriptions::set_enabled(&state.pool, id, enabled)
        .await
        .map_err(refused)?
    {
        Some(subscription) => Ok(crate::routes::queries::private_json(&subscription)),
        None => Err(ApiError::Missing(format!("no webhook subscription {id}"))),
    }
}

#[utoipa::path(post, path = "/commands/webhook-subscriptions/{id}/disable", tag = "commands",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = subscriptions::Subscription, description = "nothing more is delivered to it")),
    security(("bearer" = [])))]
pub async fn disable(
    State(state): State<AppState>,
    _: Allowed<Admins>,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    set_enabled(&state, id, false).await
}

#[utoipa::path(post, path = "/commands/webhook-subscriptions/{id}/enable", tag = "commands",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = subscriptions::Subscription, description = "deliveries resume")),
    security(("bearer" = [])))]
pub async fn enable(
    State(state): State<AppState>,
    _: Allowed<Admins>,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    set_enabled(&state, id, true).await
}

#[utoipa::path(get, path = "/queries/webhook-subscriptions", tag = "queries",
    responses((status = 200, body = Vec<subscriptions::Subscription>, description = "oldest first; never a secret")),
    security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>, _: Allowed<Admins>) -> Result<Response, ApiError> {
    let all = subscriptions::list(&state.pool).await.map_err(refused)?;
    Ok(crate::routes::queries::private_json(&all))
}
