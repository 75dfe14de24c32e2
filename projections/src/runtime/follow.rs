//! Following a rebuild that a projector's active instance performs itself: the
//! search index and the Redis views build a new generation beside the one
//! readers use and switch to it once it has caught up, so asking their active
//! instance to start over takes nothing down. This asks, then watches the
//! projector's checkpoint row until it reaches the head of the log as it was
//! when asked.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::{request_rebuild, RebuildProgress};
use crate::Error;
use eventlog::horizon::wait_for_horizon;
use eventlog::integrity::log_head;
use eventlog::{Checkpoint, TransactionId};

/// How long the head waits for transactions older than the request to end.
const HORIZON_WAIT: Duration = Duration::from_secs(10);

/// How a followed rebuild is watched.
#[derive(Debug, Clone)]
pub struct FollowOptions {
    /// How often the checkpoint row is read.
    pub poll: Duration,
    /// How long the active instance may take to start on the request before
    /// following gives up (the request stays for whichever instance runs next).
    pub pickup_timeout: Duration,
    /// How long the checkpoint may stand still once the rebuild was taken up
    /// before following gives up: an instance that died without recording a
    /// failure would otherwise be followed for ever.
    pub stall_timeout: Duration,
}

impl Default for FollowOptions {
    fn default() -> Self {
        FollowOptions {
            poll: Duration::from_millis(250),
            pickup_timeout: Duration::from_secs(60),
            stall_timeout: Duration::from_secs(120),
        }
    }
}

/// A rebuild its active instance performed, as seen from its checkpoint row.
#[derive(Debug, Clone, PartialEq)]
pub struct FollowedRebuild {
    pub projector: String,
    /// Events the projector applied since it started over.
    pub events: u64,
    pub elapsed: Duration,
    /// The head of the log when the rebuild was asked for, which it has reached.
    pub head: Checkpoint,
}

impl FollowedRebuild {
    pub fn events_per_second(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Asks the active instance of `projector` to start over from the first event
/// ([`request_rebuild`]) and waits until it has caught up with today's head.
pub async fn request_and_follow_rebuild(
    pool: &PgPool,
    projector: &str,
    options: &FollowOptions,
    progress: &(dyn Fn(RebuildProgress) + Send + Sync),
) -> Result<FollowedRebuild, Error> {
    // The head as of now, not as of the oldest transaction still open somewhere.
    wait_for_horizon(pool, HORIZON_WAIT).await?;
    let head = log_head(pool).await?;
    let asked_at: DateTime<Utc> = sqlx::query_scalar("SELECT clock_timestamp()")
        .fetch_one(pool)
        .await?;
    request_rebuild(pool, projector).await?;
    let started = Instant::now();
    let mut last_move: Option<(Checkpoint, Instant)> = None;
    loop {
        tokio::time::sleep(options.poll).await;
        let (transaction_id, global_position, events, requested, failed_at, failure): (
            TransactionId,
            i64,
            i64,
            bool,
            Option<DateTime<Utc>>,
            Option<String>,
        ) = sqlx::query_as(
            "SELECT transaction_id, global_position, events_applied, rebuild_requested,
                    failed_at, failure
               FROM projector_checkpoints WHERE projector = $1",
        )
        .bind(projector)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::UnknownProjector(projector.to_owned()))?;
        if let (Some(failed_at), Some(failure)) = (failed_at, failure) {
            if failed_at >= asked_at {
                return Err(Error::Rejected(format!(
                    "{projector} stopped while rebuilding: {failure}"
                )));
            }
        }
        if requested {
            if started.elapsed() > options.pickup_timeout {
                return Err(Error::Rejected(format!(
                    "no active instance of {projector} took up the rebuild within {:?}: is it running? \
                     The request stays; the next active instance acts on it",
                    options.pickup_timeout
                )));
            }
            continue;
        }
        let reached = Checkpoint {
            transaction_id,
            global_position,
        };
        match last_move {
            Some((at, since)) if at == reached => {
                if since.elapsed() > options.stall_timeout {
                    return Err(Error::Rejected(format!(
                        "{projector} has not moved past {reached} for {:?} while rebuilding: \
                         is its active instance still running? (see /health/ready)",
                        options.stall_timeout
                    )));
                }
            }
            _ => last_move = Some((reached, Instant::now())),
        }
        let events = u64::try_from(events).unwrap_or_default();
        progress(RebuildProgress {
            events,
            reached,
            target: head,
        });
        if reached >= head {
            return Ok(FollowedRebuild {
                projector: projector.to_owned(),
                events,
                elapsed: started.elapsed(),
                head,
            });
        }
    }
}
