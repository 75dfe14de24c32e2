//! Endpoints for auditors (and analysts): the event log with every column and its
//! who/when/why metadata, one stream's history and past state, the hash-chain
//! check, and the log followed live as Server-Sent Events.
//!
//! Everything here reads the event store itself, never a read model: what an
//! auditor sees cannot lag behind or disagree with the log. Lists follow the
//! gap-free reader's order `(transaction_id, global_position)` and its rule of
//! reading only ended transactions, so a cursor never passes over an event that
//! commits late.

pub mod live;

use axum::extract::State;
use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use domain::AggregateKind;
use eventlog::integrity::{verify_chains, ChainReport, ChainScope, HashedEvent};
use eventlog::query::{read_page, stream_history, EventFilter};
use eventlog::replay::{StateAt, StreamPoint};
use eventlog::Checkpoint;
use serde::{Deserialize, Serialize};

use super::queries::private_json;
use crate::auth::{Principal, Role};
use crate::error::ApiError;
use crate::extract::{Path, Query};
use crate::state::AppState;

/// Who may read the log: auditors, and analysts (who replay it anyway).
const READERS: [Role; 2] = [Role::Auditor, Role::Analyst];

/// A page's length when the caller names none, and the most it may ask for.
const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1000;

/// Cursors longer than this were not made here; refused before decoding.
const MAX_CURSOR_LEN: usize = 128;

/// Which events, and where a page starts. Unknown parameters are refused: an
/// auditor who misspells `actor` must not be shown the whole log as if it were
/// one person's.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LogParams {
    /// As stored: `Cart`, `Order`, `Inventory`, `Payment`, `Product`.
    pub aggregate_type: Option<String>,
    pub aggregate_id: Option<String>,
    /// As stored, such as `ItemAdded`.
    pub event_type: Option<String>,
    /// The acting subject (the metadata's `actor`).
    pub actor: Option<String>,
    pub correlation_id: Option<String>,
    /// RFC 3339; events recorded at or after it. Encode `+` as `%2B`.
    pub from: Option<String>,
    /// RFC 3339; events recorded before it.
    pub to: Option<String>,
    /// Events whose `global_position` is above this.
    pub after_position: Option<i64>,
    /// 1 to 1000; 100 when absent. Not taken by the live stream.
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page, or an event stream's event `id`.
    pub cursor: Option<String>,
}

impl LogParams {
    pub fn filter(&self) -> Result<EventFilter, ApiError> {
        stream_needs_type(&self.aggregate_type, &self.aggregate_id)?;
        Ok(EventFilter {
            aggregate_type: stored_type(self.aggregate_type.as_deref())?,
            aggregate_id: self.aggregate_id.clone(),
            event_type: self.event_type.clone(),
            actor: self.actor.clone(),
            correlation_id: self.correlation_id.clone(),
            from: self
                .from
                .as_deref()
                .map(|t| rfc3339("from", t))
                .transpose()?,
            to: self.to.as_deref().map(|t| rfc3339("to", t)).transpose()?,
            after_position: self.after_position,
            up_to_position: None,
        })
    }

    fn limit(&self) -> Result<i64, ApiError> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(limit) if (1..=MAX_LIMIT).contains(&limit) => Ok(limit),
            Some(limit) => Err(ApiError::bad_request(
                "invalid_query",
                format!("limit must be between 1 and {MAX_LIMIT}, not {limit}"),
            )),
        }
    }
}

/// A stream is named by its type and id together: ids of different types may
/// coincide, and the log's index is on the pair (an id alone scans it whole).
fn stream_needs_type(
    aggregate_type: &Option<String>,
    aggregate_id: &Option<String>,
) -> Result<(), ApiError> {
    if aggregate_id.is_some() && aggregate_type.is_none() {
        return Err(ApiError::bad_request(
            "invalid_query",
            "aggregate_id names a stream only together with aggregate_type",
        ));
    }
    Ok(())
}

/// The stored `aggregate_type` of a kind the registry knows, in any spelling: a
/// misspelt type is refused rather than answered with an empty log.
fn stored_type(name: Option<&str>) -> Result<Option<String>, ApiError> {
    name.map(|name| {
        AggregateKind::parse(name)
            .map(|kind| kind.type_name().to_owned())
            .map_err(|error| ApiError::bad_request("unknown_aggregate_type", error.to_string()))
    })
    .transpose()
}

fn rfc3339(name: &str, text: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| {
            ApiError::bad_request(
                "invalid_time",
                format!(
                    "{name} must be an RFC 3339 time such as 2026-12-01T10:00:00Z, not {text:?} \
                     (a `+` in a query string must be sent as %2B)"
                ),
            )
        })
}

/// The opaque cursor of a position in the log: base64url of `<txid>:<position>`.
pub fn encode_cursor(checkpoint: Checkpoint) -> String {
    URL_SAFE_NO_PAD.encode(checkpoint.to_string())
}

/// The position a cursor names; 400 `invalid_cursor` for anything not made by
/// [`encode_cursor`]. `source` names where it came from, for the message.
pub fn decode_cursor(source: &str, cursor: &str) -> Result<Checkpoint, ApiError> {
    let invalid = |reason: &str| {
        ApiError::bad_request(
            "invalid_cursor",
            format!("{source} is not a cursor of the audit log: {reason}"),
        )
    };
    if cursor.len() > MAX_CURSOR_LEN {
        return Err(invalid("too long"));
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor.trim())
        .map_err(|_| invalid("not base64url"))?;
    let text = String::from_utf8(bytes).map_err(|_| invalid("not text"))?;
    text.parse().map_err(|_| invalid("no position inside"))
}

/// One page of the log.
#[derive(Debug, Serialize)]
struct EventPage {
    items: Vec<HashedEvent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
    /// Where this reading ended, always: the cursor a client polling for new
    /// events keeps once it has read everything there was.
    resume_cursor: String,
}

/// The log, filtered, in reader order. `next_cursor` is absent when the page
/// holds everything there is for now; `resume_cursor` is where to ask again later.
#[utoipa::path(get, path = "/audit/events", tag = "audit",
    params(LogParams),
    responses((status = 200, body = AuditPageSchema)),
    security(("bearer" = [])))]
pub async fn events(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<LogParams>,
) -> Result<Response, ApiError> {
    principal.require(&READERS)?;
    let filter = params.filter()?;
    let limit = params.limit()?;
    let after = match params.cursor.as_deref() {
        Some(cursor) => decode_cursor("cursor", cursor)?,
        None => Checkpoint::START,
    };
    let (mut items, next) = read_page(&state.pool, &filter, after, limit).await?;
    eventlog::personal::unseal_hashed(&state.pool, &mut items)
        .await
        .map_err(eventlog::Error::from)?;
    let resume = items.last().map_or(after, |last| last.event.checkpoint());
    Ok(private_json(&EventPage {
        items,
        next_cursor: next.map(encode_cursor),
        resume_cursor: encode_cursor(resume),
    }))
}

/// Where in a stream to show its state.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PointParams {
    /// RFC 3339: the state as it stood at this time.
    pub as_of: Option<String>,
    /// The state after this many events.
    pub version: Option<i64>,
}

impl PointParams {
    fn point(&self) -> Result<Option<StreamPoint>, ApiError> {
        match (&self.as_of, self.version) {
            (Some(_), Some(_)) => Err(ApiError::bad_request(
                "invalid_query",
                "give as_of or version, not both",
            )),
            (Some(at), None) => Ok(Some(StreamPoint::At(rfc3339("as_of", at)?))),
            (None, Some(version)) if version >= 0 => Ok(Some(StreamPoint::Version(version))),
            (None, Some(version)) => Err(ApiError::bad_request(
                "invalid_query",
                format!("version is 0 or more, not {version}"),
            )),
            (None, None) => Ok(None),
        }
    }
}

/// A stream's whole history and, when asked, its state at a point.
#[derive(Debug, Serialize)]
struct StreamHistory {
    aggregate_type: &'static str,
    aggregate_id: String,
    events: Vec<HashedEvent>,
    /// The version reached at the point: the last event folded in (0: none yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<i64>,
    /// The aggregate's state at the point, folded by the domain's own `apply`.
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<serde_json::Value>,
}

/// One stream's events in sequence order; with `as_of` or `version`, also the
/// aggregate's state at that point.
#[utoipa::path(get, path = "/audit/streams/{type}/{id}", tag = "audit",
    params(("type" = String, Path, description = "cart, order, inventory, payment or product"),
           ("id" = String, Path), PointParams),
    responses((status = 200, body = StreamHistorySchema)),
    security(("bearer" = [])))]
pub async fn stream(
    State(state): State<AppState>,
    principal: Principal,
    Path((kind, id)): Path<(String, String)>,
    Query(params): Query<PointParams>,
) -> Result<Response, ApiError> {
    principal.require(&READERS)?;
    let kind = AggregateKind::parse(&kind)
        .map_err(|error| ApiError::bad_request("unknown_aggregate_type", error.to_string()))?;
    let point = params.point()?;
    let mut history = stream_history(&state.pool, kind.type_name(), &id).await?;
    eventlog::personal::unseal_hashed(&state.pool, &mut history)
        .await
        .map_err(eventlog::Error::from)?;
    if history.is_empty() {
        return Err(ApiError::Missing(format!(
            "no events in the stream {}/{id}",
            kind.type_name()
        )));
    }
    let at = point
        .map(|point| StateAt::fold(kind, &id, history.clone(), point))
        .transpose()
        .map_err(|error| ApiError::Refused {
            // The stored events are what they are: one the domain cannot read
            // (an altered payload) leaves no state to show, which is no fault
            // of ours nor of the request.
            code: "state_unavailable",
            detail: format!("the state cannot be folded from this stream: {error}"),
        })?;
    Ok(private_json(&StreamHistory {
        aggregate_type: kind.type_name(),
        aggregate_id: id,
        events: history,
        version: at.as_ref().map(|at| at.version),
        state: at.map(|at| at.state),
    }))
}

/// Which streams to check.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct VerifyParams {
    /// As stored (`Cart`, …); every type when absent.
    pub aggregate_type: Option<String>,
    /// One stream; needs `aggregate_type`.
    pub aggregate_id: Option<String>,
}

/// The check's outcome, with its verdict spelled out.
#[derive(Debug, Serialize)]
struct Verdict {
    intact: bool,
    #[serde(flatten)]
    report: ChainReport,
}

/// Recomputes every hash chain in scope from the stored columns and names each
/// event that does not match (altered) or is missing (a sequence gap).
#[utoipa::path(get, path = "/audit/verify", tag = "audit",
    params(VerifyParams),
    responses((status = 200, body = VerdictSchema)),
    security(("bearer" = [])))]
pub async fn verify(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<VerifyParams>,
) -> Result<Response, ApiError> {
    principal.require(&READERS)?;
    stream_needs_type(&params.aggregate_type, &params.aggregate_id)?;
    let scope = ChainScope {
        aggregate_type: stored_type(params.aggregate_type.as_deref())?,
        aggregate_id: params.aggregate_id,
    };
    let report = verify_chains(&state.pool, &scope).await?;
    Ok(private_json(&Verdict {
        intact: report.is_intact(),
        report,
    }))
}

// The shapes below only describe the answers in the OpenAPI document; the answers
// themselves are the projections' own types, serialized as they are.

/// One event of the log with every column: payload and metadata are the JSON
/// stored (byte for byte), the hash is hex.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct AuditEventSchema {
    global_position: i64,
    transaction_id: u64,
    event_id: uuid::Uuid,
    #[schema(example = "Cart")]
    aggregate_type: String,
    aggregate_id: String,
    sequence: i64,
    #[schema(example = "ItemAdded")]
    event_type: String,
    event_version: String,
    recorded_at: DateTime<Utc>,
    payload: serde_json::Value,
    /// `actor`, `actor_role`, `correlation_id`, `causation_id`, `request_id`, `command`.
    metadata: serde_json::Value,
    /// sha256 over the previous event's hash in the stream and this event, hex.
    hash: String,
}

/// A page of the log.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct AuditPageSchema {
    items: Vec<AuditEventSchema>,
    /// Pass as `cursor` for the next page; absent when nothing more is there now.
    next_cursor: Option<String>,
    /// After the last event of this page (or the `cursor` given, when the page is
    /// empty): where to ask again later for events written since.
    resume_cursor: String,
}

/// A stream's history, and its state at a point when one was asked for.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct StreamHistorySchema {
    aggregate_type: String,
    aggregate_id: String,
    events: Vec<AuditEventSchema>,
    version: Option<i64>,
    state: Option<serde_json::Value>,
}

/// An event that fails the check: `problem` is `hash_mismatch` (with `stored` and
/// `computed`) or `sequence_gap` (with `expected` and `found`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct BrokenEventSchema {
    global_position: i64,
    event_id: uuid::Uuid,
    aggregate_type: String,
    aggregate_id: String,
    sequence: i64,
    event_type: String,
    problem: String,
}

/// The hash-chain check's outcome.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct VerdictSchema {
    /// No event broken.
    intact: bool,
    streams: u64,
    events: u64,
    broken: Vec<BrokenEventSchema>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_its_checkpoint_and_is_url_safe() {
        let checkpoint = Checkpoint::new(78_153, 42);
        let cursor = encode_cursor(checkpoint);
        assert!(cursor
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(decode_cursor("cursor", &cursor).unwrap(), checkpoint);
    }

    #[test]
    fn a_garbled_cursor_is_a_bad_request_not_a_panic() {
        let not_a_checkpoint = URL_SAFE_NO_PAD.encode("hello");
        for bad in ["%%%", "", &not_a_checkpoint, &"A".repeat(200)] {
            let error = decode_cursor("cursor", bad).unwrap_err();
            assert!(
                matches!(
                    error,
                    ApiError::BadRequest {
                        code: "invalid_cursor",
                        ..
                    }
                ),
                "{bad}: {error}"
            );
        }
    }
}
