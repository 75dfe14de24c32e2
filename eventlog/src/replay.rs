//! An aggregate's state as it was at some point of its stream, folded by the
//! domain's own `apply`: what analysts' `state --at` and auditors' `as_of` show.
//!
//! The fold is the command side's, not a read model's: the state shown is the one
//! the aggregate decided its next command on. Older payloads are upcast first, as
//! when the command side loads them.

use chrono::{DateTime, Utc};
use domain::{AggregateKind, ForEachAggregate, RegisteredAggregate};
use sqlx::PgExecutor;

use crate::integrity::HashedEvent;
use crate::payload::decode;
use crate::{Error, RecordedEvent};

/// The state of `kind`'s aggregate after `events` (one stream's, in sequence
/// order), as JSON: the kind's own `apply`, with upcasting.
pub fn fold(kind: AggregateKind, events: &[&RecordedEvent]) -> Result<serde_json::Value, Error> {
    kind.visit(&mut Fold { events })
}

struct Fold<'a> {
    events: &'a [&'a RecordedEvent],
}

impl ForEachAggregate for Fold<'_> {
    type Output = Result<serde_json::Value, Error>;

    fn visit<A: RegisteredAggregate>(&mut self) -> Self::Output {
        let mut aggregate = A::default();
        for event in self.events {
            aggregate.apply(decode::<A::Event>(event)?);
        }
        serde_json::to_value(&aggregate).map_err(|source| Error::State {
            aggregate_type: A::TYPE,
            source,
        })
    }
}

/// A point in a stream: after its `n`th event, or as it stood at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamPoint {
    Version(i64),
    At(DateTime<Utc>),
}

impl StreamPoint {
    /// Whether `event` had happened by this point.
    pub fn includes(self, event: &RecordedEvent) -> bool {
        match self {
            StreamPoint::Version(version) => event.sequence <= version,
            StreamPoint::At(at) => event.recorded_at <= at,
        }
    }
}

impl std::str::FromStr for StreamPoint {
    type Err = String;

    /// A version (`12`) or an RFC 3339 time (`2026-12-01T10:00:00Z`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(version) = s.parse::<i64>() {
            return if version >= 0 {
                Ok(StreamPoint::Version(version))
            } else {
                Err(format!("a version is 0 or more, not {version}"))
            };
        }
        DateTime::parse_from_rfc3339(s)
            .map(|at| StreamPoint::At(at.with_timezone(&Utc)))
            .map_err(|_| {
                format!("{s:?} is neither a version nor an RFC 3339 time (2026-12-01T10:00:00Z)")
            })
    }
}

/// One stream's state at a point, with the events that led to it.
#[derive(Debug, Clone)]
pub struct StateAt {
    pub kind: AggregateKind,
    pub aggregate_id: String,
    /// The version reached: the sequence of the last event folded in (0: none).
    pub version: i64,
    pub state: serde_json::Value,
    /// Every event of the stream up to the point, in order.
    pub events: Vec<HashedEvent>,
}

impl StateAt {
    /// The stream's state at `point`, from `history` (the whole stream, in order).
    pub fn fold(
        kind: AggregateKind,
        aggregate_id: &str,
        history: Vec<HashedEvent>,
        point: StreamPoint,
    ) -> Result<Self, Error> {
        let events: Vec<HashedEvent> = history
            .into_iter()
            .take_while(|hashed| point.includes(&hashed.event))
            .collect();
        let refs: Vec<&RecordedEvent> = events.iter().map(|hashed| &hashed.event).collect();
        Ok(StateAt {
            kind,
            aggregate_id: aggregate_id.to_owned(),
            version: refs.last().map_or(0, |event| event.sequence),
            state: fold(kind, &refs)?,
            events,
        })
    }

    /// Reads the stream and folds it to `point`.
    pub async fn load<'e>(
        executor: impl PgExecutor<'e>,
        kind: AggregateKind,
        aggregate_id: &str,
        point: StreamPoint,
    ) -> Result<Self, Error> {
        let history =
            crate::query::stream_history(executor, kind.type_name(), aggregate_id).await?;
        Self::fold(kind, aggregate_id, history, point)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_is_a_version_or_a_time() {
        assert_eq!("3".parse(), Ok(StreamPoint::Version(3)));
        assert!(
            matches!("2026-12-01T10:00:00+01:00".parse(), Ok(StreamPoint::At(at)) if at.to_rfc3339() == "2026-12-01T09:00:00+00:00")
        );
        assert!("-1".parse::<StreamPoint>().is_err());
        assert!("yesterday"
            .parse::<StreamPoint>()
            .unwrap_err()
            .contains("RFC 3339"));
    }
}
