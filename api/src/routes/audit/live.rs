//! `GET /audit/events/stream`: the log followed live, as Server-Sent Events.
//!
//! Each open stream is a [`LogTail`]: it borrows a pooled connection only for
//! each read and holds none while it waits, so idle auditors cost the database
//! nothing. It reads every event in the gap-free reader's order and sends those
//! that pass the filter; each event's `id` is its cursor, so a client that
//! reconnects with `Last-Event-ID` (browsers do so on their own) misses nothing
//! and sees nothing twice.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderName};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use eventlog::integrity::log_head;
use eventlog::query::EventFilter;
use eventlog::{Checkpoint, LogTail};
use futures::Stream;
use tokio_util::sync::CancellationToken;

use super::{decode_cursor, encode_cursor, LogParams, READERS};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::Query;
use crate::state::AppState;

/// Events read from the log per query, matching or not.
const BATCH: i64 = 500;

/// How often a stream looks at the log when no wakeup came: covers writers in
/// other processes whose NOTIFY was lost, and events held back behind a slow
/// transaction.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Comments sent while nothing matches, so proxies keep the connection open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

/// Follows the log from the current head (or after `cursor`, or after the
/// `Last-Event-ID` header, which wins: it is where a reconnecting client stopped).
#[utoipa::path(get, path = "/audit/events/stream", tag = "audit",
    params(LogParams, ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event (its `id`)")),
    responses((status = 200, description = "Server-Sent Events: `id` is the event's cursor, `event` its event_type, `data` the event as /audit/events lists it", content_type = "text/event-stream", body = String)),
    security(("bearer" = [])))]
pub async fn follow(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Query(params): Query<LogParams>,
) -> Result<Response, ApiError> {
    principal.require(&READERS)?;
    if params.limit.is_some() {
        return Err(ApiError::bad_request(
            "invalid_query",
            "the live stream has no pages: leave limit out",
        ));
    }
    let filter = params.filter()?;
    let resume = match headers.get(LAST_EVENT_ID) {
        Some(value) => Some(decode_cursor(
            "the Last-Event-ID header",
            value.to_str().unwrap_or_default(),
        )?),
        None => None,
    };
    let start = match (resume, params.cursor.as_deref()) {
        (Some(checkpoint), _) => checkpoint,
        (None, Some(cursor)) => decode_cursor("cursor", cursor)?,
        // Read before the answer starts: whatever is appended once the client has
        // the response headers comes after this point.
        (None, None) => log_head(&state.pool).await?,
    };
    let tail = LogTail::new(
        state.pool.clone(),
        state.wakeups.subscribe(),
        start,
        POLL_INTERVAL,
    );
    let follower = Follower {
        tail,
        filter,
        shutdown: state.shutdown.clone(),
        pending: VecDeque::new(),
        failed: false,
    };
    Ok(Sse::new(follower.into_stream())
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response())
}

/// One client's reading of the live log.
struct Follower {
    tail: LogTail,
    filter: EventFilter,
    shutdown: CancellationToken,
    /// Matching events read but not sent yet.
    pending: VecDeque<Event>,
    /// A read failed: the error event is queued and the stream ends after it.
    failed: bool,
}

impl Follower {
    fn into_stream(self) -> impl Stream<Item = Result<Event, Infallible>> + Send {
        futures::stream::unfold(self, |mut follower| async move {
            let event = follower.next_event().await?;
            Some((Ok(event), follower))
        })
    }

    /// The next event to send; `None` ends the stream (shutdown, or after a
    /// failed read's error event).
    async fn next_event(&mut self) -> Option<Event> {
        loop {
            if self.shutdown.is_cancelled() {
                return None;
            }
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            if self.failed {
                return None;
            }
            match self.read().await {
                Ok(true) => {}
                Ok(false) => {
                    if !self.tail.wait(&self.shutdown).await {
                        return None;
                    }
                }
                Err(error) => {
                    // The client reconnects with Last-Event-ID and loses nothing.
                    tracing::warn!(%error, "the audit event stream cannot read the log");
                    self.failed = true;
                    self.pending.push_back(
                        Event::default()
                            .event("error")
                            .data("the log cannot be read now; reconnect to resume"),
                    );
                }
            }
        }
    }

    /// Reads the next batch after the tail's checkpoint, queues the events that
    /// match and moves past all of them; `false` when there was nothing to read.
    async fn read(&mut self) -> Result<bool, ApiError> {
        let batch = self.tail.read_hashed(BATCH).await?;
        let Some(last) = batch.last() else {
            return Ok(false);
        };
        let last: Checkpoint = last.event.checkpoint();
        for hashed in batch.iter().filter(|h| self.filter.matches(&h.event)) {
            let data = serde_json::to_string(hashed).map_err(ApiError::internal)?;
            self.pending.push_back(
                Event::default()
                    .id(encode_cursor(hashed.event.checkpoint()))
                    // A line break would end the SSE field early (and axum refuses it).
                    .event(hashed.event.event_type.replace(['\r', '\n'], " "))
                    .data(data),
            );
        }
        self.tail.seek(last);
        Ok(true)
    }
}
