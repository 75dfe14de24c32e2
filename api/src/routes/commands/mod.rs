//! `POST /commands/...`: every command of the domain. Each handler turns its body
//! into a domain command (prices and names come from the catalog, never from the
//! client), checks who may send it, and runs it through [`send`], which adds the
//! metadata, honours `If-Match` and `Idempotency-Key`, and answers
//! `{id, version, consistency_token}`.

pub mod carts;
pub mod inventory;
pub mod orders;
pub mod payments;
pub mod products;

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use commands::store::Hooks;
use commands::{
    execute, AggregateStore, AppendHook, CommandError, CommandMetadata, CommandOptions, Executed,
    StoreError,
};
use cqrs_es::Aggregate;
use domain::Refusal;
use serde::Serialize;
use uuid::Uuid;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::idempotency::{Answer, Claim, Completion};
use crate::routes::REQUEST_ID;

pub const CORRELATION_ID: HeaderName = HeaderName::from_static("x-correlation-id");

/// What a command request carries besides its body.
#[derive(Debug, Clone)]
pub struct CommandContext {
    pub principal: Option<Principal>,
    pub request_id: Uuid,
    pub correlation_id: Uuid,
    pub if_match: Option<u64>,
    pub claim: Option<Claim>,
}

impl<S: Send + Sync> FromRequestParts<S> for CommandContext {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let principal =
            <Principal as axum::extract::OptionalFromRequestParts<S>>::from_request_parts(
                parts, state,
            )
            .await?;
        let request_id = parts
            .headers
            .get(&REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| Uuid::parse_str(v).ok())
            .unwrap_or_else(Uuid::new_v4);
        let correlation_id = match parts.headers.get(&CORRELATION_ID) {
            None => Uuid::new_v4(),
            Some(value) => value
                .to_str()
                .ok()
                .and_then(|v| Uuid::parse_str(v.trim()).ok())
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid_correlation_id",
                        "X-Correlation-Id must be a UUID",
                    )
                })?,
        };
        let if_match = match parts.headers.get(header::IF_MATCH) {
            None => None,
            Some(value) => Some(
                value
                    .to_str()
                    .ok()
                    .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
                    .and_then(|v| v.parse::<u64>().ok())
                    .ok_or_else(|| {
                        ApiError::bad_request(
                            "invalid_if_match",
                            "If-Match must be the aggregate's version, a whole number (as answered by the last command)",
                        )
                    })?,
            ),
        };
        Ok(CommandContext {
            principal,
            request_id,
            correlation_id,
            if_match,
            claim: parts.extensions.get::<Claim>().cloned(),
        })
    }
}

impl CommandContext {
    pub fn metadata(&self, command: &str) -> CommandMetadata {
        let (actor, role) = match &self.principal {
            Some(p) => (p.subject.clone(), p.role.as_str().to_owned()),
            None => ("anonymous".to_owned(), "guest".to_owned()),
        };
        CommandMetadata {
            actor,
            actor_role: role,
            correlation_id: self.correlation_id,
            causation_id: None,
            request_id: self.request_id,
            command: command.to_owned(),
        }
    }

    pub fn principal(&self) -> Result<&Principal, ApiError> {
        self.principal.as_ref().ok_or_else(|| {
            ApiError::Unauthorized(
                "this needs a bearer token (Authorization: Bearer <token>)".into(),
            )
        })
    }
}

/// The body of commands that need none: nothing, or `{}`; anything else is refused
/// rather than ignored.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

/// The answer to every command.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CommandAccepted {
    /// The aggregate's id.
    pub id: String,
    /// Its version after the command: send it as `If-Match` to update only this version.
    pub version: u64,
    /// Send as `X-Consistency-Token` to a query to read this write. Absent when the
    /// aggregate has no events.
    pub consistency_token: Option<String>,
    /// Returned once, when a guest cart is opened: keep it, it opens the cart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cart_token: Option<String>,
    /// The order a checkout placed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<Uuid>,
}

/// Extra fields of an answer, known before the command runs.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    pub cart_token: Option<String>,
    pub order_id: Option<Uuid>,
}

/// The answer for `executed`: the same bytes whether built for the client or
/// for the idempotency record inside the append's transaction.
pub fn answer(executed: &Executed, extras: &Extras) -> Answer {
    let body = CommandAccepted {
        id: executed.aggregate_id.clone(),
        version: executed.version,
        consistency_token: executed.head.map(|h| h.to_string()),
        cart_token: extras.cart_token.clone(),
        order_id: extras.order_id,
    };
    let status = if executed.created() {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut headers = axum::http::HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Answer::of(
        status,
        &headers,
        serde_json::to_vec(&body).unwrap_or_default().into(),
    )
}

pub fn respond(answer: Answer) -> Response {
    (
        answer.status,
        [(header::CONTENT_TYPE, "application/json")],
        answer.body,
    )
        .into_response()
}

/// Runs `command` on aggregate `id` and answers for it.
pub async fn send<A>(
    store: &AggregateStore<A>,
    context: &CommandContext,
    id: &str,
    name: &str,
    command: A::Command,
    options: CommandOptions,
    extras: Extras,
) -> Result<Response, ApiError>
where
    A: Aggregate<Services = ()> + Clone + 'static,
    A::Command: Clone,
    A::Error: Refusal,
{
    let executed = run(store, context, id, name, command, options, &extras, None).await?;
    Ok(respond(answer(&executed, &extras)))
}

/// Like [`send`], for handlers that go on after the command.
#[allow(clippy::too_many_arguments)]
pub async fn run<A>(
    store: &AggregateStore<A>,
    context: &CommandContext,
    id: &str,
    name: &str,
    command: A::Command,
    options: CommandOptions,
    extras: &Extras,
    also: Option<&dyn AppendHook>,
) -> Result<Executed, ApiError>
where
    A: Aggregate<Services = ()> + Clone + 'static,
    A::Command: Clone,
    A::Error: Refusal,
{
    try_run(store, context, id, name, command, options, extras, also)
        .await
        .map_err(command_error)
}

/// Like [`run`], leaving the command side's error for the handler to look at.
#[allow(clippy::too_many_arguments)]
pub async fn try_run<A>(
    store: &AggregateStore<A>,
    context: &CommandContext,
    id: &str,
    name: &str,
    command: A::Command,
    options: CommandOptions,
    extras: &Extras,
    also: Option<&dyn AppendHook>,
) -> Result<Executed, CommandError<A::Error>>
where
    A: Aggregate<Services = ()> + Clone + 'static,
    A::Command: Clone,
{
    let options = CommandOptions {
        expected_version: context.if_match,
        ..options
    };
    let completion = context.claim.clone().map(|claim| {
        let extras = extras.clone();
        Completion {
            claim,
            answer: Arc::new(move |executed: &Executed| answer(executed, &extras)),
        }
    });
    let hooks = Hooks(
        completion
            .as_ref()
            .map(|c| c as &dyn AppendHook)
            .into_iter()
            .chain(also)
            .collect(),
    );
    let hook = (!hooks.0.is_empty()).then_some(&hooks as &dyn AppendHook);
    execute(store, id, command, &context.metadata(name), options, hook).await
}

/// The one mapping of the command side's errors to HTTP.
pub fn command_error<E: Refusal>(error: CommandError<E>) -> ApiError {
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
        CommandError::Store(StoreError::Conflict) => ApiError::Conflict {
            code: "contended",
            detail: "the aggregate changed while the command ran; retry".into(),
        },
        CommandError::Store(StoreError::Database(error)) if on_constraint(&error).is_some() => {
            on_constraint(&error).unwrap_or_else(|| ApiError::internal("unreachable"))
        }
        CommandError::Store(StoreError::Database(sqlx::Error::PoolTimedOut)) => {
            ApiError::Unavailable("the database is overloaded; retry shortly".into())
        }
        CommandError::Store(other) => ApiError::internal(other),
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
        _ => None,
    }
}
