//! `POST /commands/...`: every command of the domain. Each route says who may send
//! it (an extractor, so before the body is read), turns its body into a domain
//! command (prices and names come from the catalog, never from the client), and
//! runs it as a [`Call`], which adds the metadata, honours `If-Match` and
//! `Idempotency-Key`, and answers `{id, version, consistency_token}`.

/// An admin's command that takes no body, sent to the aggregate `A` named by the
/// path's `id`: one handler, with its OpenAPI entry.
macro_rules! admin_command_without_body {
    ($aggregate:ty, $handler:ident, $path:literal, $name:literal, $command:expr) => {
        #[utoipa::path(post, path = $path, tag = "commands", params(("id" = uuid::Uuid, Path)),
            responses((status = 200, body = super::CommandAccepted)), security(("bearer" = [])))]
        pub async fn $handler(
            axum::extract::State(state): axum::extract::State<crate::state::AppState>,
            _: crate::auth::Allowed<crate::auth::Admins>,
            context: super::CommandContext,
            crate::extract::Path(id): crate::extract::Path<uuid::Uuid>,
            _: Option<crate::extract::Json<super::Empty>>,
        ) -> Result<axum::response::Response, crate::error::ApiError> {
            super::Call::<$aggregate>::new(id, $name, $command)
                .send(&state, &context)
                .await
        }
    };
}

pub mod carts;
pub mod customers;
pub mod inventory;
pub mod orders;
pub mod payments;
pub mod products;
pub mod promotions;
pub mod returns;
pub mod shipping_and_tax;
pub mod webhook_subscriptions;

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use commands::store::Hooks;
use commands::{execute, AppendHook, CommandError, CommandMetadata, CommandOptions, Executed};
use domain::RegisteredAggregate;
use serde::Serialize;
use uuid::Uuid;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::idempotency::{Answer, Claim, Completion};
use crate::routes::REQUEST_ID;
use crate::state::AppState;

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
            // A person's command is caused by their request: with the request id
            // as causation, every event in the log names what caused it.
            causation_id: Some(self.request_id),
            request_id: self.request_id,
            command: command.to_owned(),
        }
    }
}

/// The body of commands that need none: nothing, or `{}`; anything else is refused
/// rather than ignored.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

/// The answer to every command. Routes whose answers carry more (a cart's
/// `cart_token`) document it with a schema of their own.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CommandAccepted {
    /// The aggregate's id.
    pub id: String,
    /// Its version after the command: send it as `If-Match` to update only this version.
    pub version: u64,
    /// Send as `X-Consistency-Token` to a query to read this write. Absent when the
    /// aggregate has no events.
    pub consistency_token: Option<String>,
}

/// The answer's body: [`CommandAccepted`] and a route's own fields after it.
#[derive(Serialize)]
struct Accepted<'a> {
    #[serde(flatten)]
    accepted: CommandAccepted,
    #[serde(flatten)]
    more: &'a AnswerFields,
}

/// Fields a route adds to its answers, known before the command runs.
pub type AnswerFields = serde_json::Map<String, serde_json::Value>;

/// The answer for `executed`: the same bytes whether built for the client or
/// for the idempotency record inside the append's transaction.
pub fn answer(executed: &Executed, more: &AnswerFields) -> Answer {
    let body = Accepted {
        accepted: CommandAccepted {
            id: executed.aggregate_id.clone(),
            version: executed.version,
            consistency_token: executed.head.map(|h| h.to_string()),
        },
        more,
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

/// One command call: which aggregate, which command, under which name, and what
/// else goes with it. Built by a route, run by [`Call::send`] (or `run`), which
/// add the request's metadata and honour `If-Match` and `Idempotency-Key`.
pub struct Call<'h, A: RegisteredAggregate> {
    pub aggregate_id: String,
    /// The command's name in the metadata (`add-item`).
    pub name: &'static str,
    pub command: A::Command,
    pub options: CommandOptions,
    /// Fields the answer carries besides [`CommandAccepted`]'s.
    pub answer_fields: AnswerFields,
    /// More work inside the append's transaction (claiming a SKU).
    pub hook: Option<&'h dyn AppendHook>,
}

impl<'h, A: RegisteredAggregate> Call<'h, A> {
    pub fn new(aggregate_id: impl ToString, name: &'static str, command: A::Command) -> Self {
        Call {
            aggregate_id: aggregate_id.to_string(),
            name,
            command,
            options: CommandOptions::default(),
            answer_fields: AnswerFields::new(),
            hook: None,
        }
    }

    /// The command creates the aggregate: an existing one refuses it.
    pub fn creating(mut self) -> Self {
        self.options.new_aggregate = true;
        self
    }

    /// `hook` runs inside the append's transaction.
    pub fn with_hook(mut self, hook: &'h dyn AppendHook) -> Self {
        self.hook = Some(hook);
        self
    }

    /// The answer also carries `fields` (an object; anything else adds nothing).
    pub fn answering(mut self, fields: impl Serialize) -> Self {
        if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(fields) {
            self.answer_fields = fields;
        }
        self
    }

    /// Runs the call and answers for it.
    pub async fn send(
        self,
        state: &AppState,
        context: &CommandContext,
    ) -> Result<Response, ApiError> {
        let fields = self.answer_fields.clone();
        let executed = self.run(state, context).await?;
        Ok(respond(answer(&executed, &fields)))
    }

    /// Runs the call, for routes that go on after it.
    pub async fn run(
        self,
        state: &AppState,
        context: &CommandContext,
    ) -> Result<Executed, ApiError> {
        Ok(self.try_run(state, context).await?)
    }

    /// Runs the call, leaving the command side's error for the route to look at.
    pub async fn try_run(
        self,
        state: &AppState,
        context: &CommandContext,
    ) -> Result<Executed, CommandError<A::Error>> {
        let options = CommandOptions {
            expected_version: context.if_match,
            ..self.options
        };
        let completion = context.claim.clone().map(|claim| {
            let fields = self.answer_fields.clone();
            Completion {
                claim,
                answer: Arc::new(move |executed: &Executed| answer(executed, &fields)),
            }
        });
        let hooks = Hooks(
            completion
                .as_ref()
                .map(|c| c as &dyn AppendHook)
                .into_iter()
                .chain(self.hook)
                .collect(),
        );
        let hook = (!hooks.0.is_empty()).then_some(&hooks as &dyn AppendHook);
        execute(
            state.stores.of::<A>(),
            &self.aggregate_id,
            self.command,
            &context.metadata(self.name),
            options,
            hook,
        )
        .await
    }
}
