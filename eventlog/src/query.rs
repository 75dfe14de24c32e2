//! The log as auditors and analysts read it: filtered, with every column, in
//! reader order.
//!
//! Every reading here follows the gap-free reader's rules: events come in
//! `(transaction_id, global_position)` order and only from transactions older than
//! the oldest one still running. So a page's cursor (the checkpoint of its last
//! event) never passes over an event that commits later, and an export taken "up
//! to now" is the same set of events whenever it is read again.
//!
//! The SQL names only the filters that are set, so the planner sees plain
//! conditions it can serve from an index (`aggregate_id = $1` uses the primary key,
//! `actor = $1` its own index); a generic `($1 IS NULL OR …)` plan would scan the
//! whole log.

use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use serde::ser::SerializeMap;
use serde::Serialize;
use sqlx::postgres::PgArguments;
use sqlx::{Arguments, PgExecutor, PgPool};

use super::integrity::HashedEvent;
use super::{Checkpoint, RecordedEvent};
use crate::Error;

/// What narrows the log. Every field left `None` matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub aggregate_type: Option<String>,
    pub aggregate_id: Option<String>,
    pub event_type: Option<String>,
    /// The acting subject, as the metadata's `actor` holds it.
    pub actor: Option<String>,
    pub correlation_id: Option<String>,
    /// Recorded at or after.
    pub from: Option<DateTime<Utc>>,
    /// Recorded before.
    pub to: Option<DateTime<Utc>>,
    /// `global_position` above this.
    pub after_position: Option<i64>,
    /// `global_position` at or below this.
    pub up_to_position: Option<i64>,
}

impl EventFilter {
    /// Whether `event` passes the filter: what a live reader checks on events it
    /// has already read. Agrees with the SQL of [`LogQuery`].
    pub fn matches(&self, event: &RecordedEvent) -> bool {
        fn same(wanted: &Option<String>, actual: &str) -> bool {
            wanted.as_deref().is_none_or(|wanted| wanted == actual)
        }
        let metadata_matches = || {
            if self.actor.is_none() && self.correlation_id.is_none() {
                return true;
            }
            let metadata: serde_json::Value =
                serde_json::from_str(&event.metadata).unwrap_or_default();
            let field = |key: &str| metadata.get(key).and_then(|v| v.as_str()).unwrap_or("");
            same(&self.actor, field("actor")) && same(&self.correlation_id, field("correlation_id"))
        };
        same(&self.aggregate_type, &event.aggregate_type)
            && same(&self.aggregate_id, &event.aggregate_id)
            && same(&self.event_type, &event.event_type)
            && self.from.is_none_or(|from| event.recorded_at >= from)
            && self.to.is_none_or(|to| event.recorded_at < to)
            && self
                .after_position
                .is_none_or(|after| event.global_position > after)
            && self
                .up_to_position
                .is_none_or(|up_to| event.global_position <= up_to)
            && metadata_matches()
    }
}

const COLUMNS: &str = concat!(crate::event_columns!(), ", hash");

/// One filtered reading of the log, its SQL built once with only the conditions
/// that are set.
pub struct LogQuery {
    sql: String,
    arguments: PgArguments,
}

impl LogQuery {
    /// Events matching `filter` after `after`, in reader order, at most `limit`
    /// (all of them when `None`).
    pub fn new(filter: &EventFilter, after: Checkpoint, limit: Option<i64>) -> Result<Self, Error> {
        let mut query = LogQuery {
            sql: format!(
                "SELECT {COLUMNS} FROM events
                  WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())"
            ),
            arguments: PgArguments::default(),
        };
        if after != Checkpoint::START {
            // The first two parameters, whatever else is set.
            query.bind(after.transaction_id)?;
            query.bind(after.global_position)?;
            query
                .sql
                .push_str(" AND (transaction_id, global_position) > ($1, $2)");
        }
        if let Some(value) = &filter.aggregate_type {
            query.condition("aggregate_type = $", value.clone())?;
        }
        if let Some(value) = &filter.aggregate_id {
            query.condition("aggregate_id = $", value.clone())?;
        }
        if let Some(value) = &filter.event_type {
            query.condition("event_type = $", value.clone())?;
        }
        if let Some(value) = &filter.actor {
            query.condition("actor = $", value.clone())?;
        }
        if let Some(value) = &filter.correlation_id {
            query.condition("correlation_id = $", value.clone())?;
        }
        if let Some(value) = filter.from {
            query.condition("recorded_at >= $", value)?;
        }
        if let Some(value) = filter.to {
            query.condition("recorded_at < $", value)?;
        }
        if let Some(value) = filter.after_position {
            query.condition("global_position > $", value)?;
        }
        if let Some(value) = filter.up_to_position {
            query.condition("global_position <= $", value)?;
        }
        query
            .sql
            .push_str(" ORDER BY transaction_id, global_position");
        if let Some(limit) = limit {
            query.condition_text(" LIMIT $", limit)?;
        }
        Ok(query)
    }

    fn bind<T>(&mut self, value: T) -> Result<(), Error>
    where
        T: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + 'static,
    {
        self.arguments.add(value).map_err(Error::Filter)
    }

    /// Appends `AND <sql><n>` with the value bound as parameter `n`.
    fn condition<T>(&mut self, sql: &str, value: T) -> Result<(), Error>
    where
        T: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + 'static,
    {
        self.sql.push_str(" AND ");
        self.condition_text(sql, value)
    }

    fn condition_text<T>(&mut self, sql: &str, value: T) -> Result<(), Error>
    where
        T: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + 'static,
    {
        self.bind(value)?;
        self.sql.push_str(sql);
        self.sql.push_str(&self.arguments.len().to_string());
        Ok(())
    }

    /// The whole answer at once: a page.
    pub async fn fetch_all<'e>(
        self,
        executor: impl PgExecutor<'e>,
    ) -> Result<Vec<HashedEvent>, Error> {
        Ok(
            sqlx::query_as_with::<_, HashedEvent, _>(&self.sql, self.arguments)
                .fetch_all(executor)
                .await?,
        )
    }

    /// The answer row by row, as the server sends it: constant memory whatever
    /// the size of the log.
    pub fn fetch<'a>(&'a self, pool: &'a PgPool) -> BoxStream<'a, Result<HashedEvent, Error>> {
        sqlx::query_as_with::<_, HashedEvent, _>(&self.sql, self.arguments.clone())
            .fetch(pool)
            .map_err(Error::from)
            .boxed()
    }
}

/// One page of the filtered log and where the next one starts (`None`: nothing
/// more for now; a live log may have more later, from the same cursor).
pub async fn read_page<'e>(
    executor: impl PgExecutor<'e>,
    filter: &EventFilter,
    after: Checkpoint,
    limit: i64,
) -> Result<(Vec<HashedEvent>, Option<Checkpoint>), Error> {
    let events = LogQuery::new(filter, after, Some(limit))?
        .fetch_all(executor)
        .await?;
    let next = (events.len() as i64 == limit)
        .then(|| events.last().map(|last| last.event.checkpoint()))
        .flatten();
    Ok((events, next))
}

/// One stream's events in sequence order, each with its hash: its history.
pub async fn stream_history<'e>(
    executor: impl PgExecutor<'e>,
    aggregate_type: &str,
    aggregate_id: &str,
) -> Result<Vec<HashedEvent>, Error> {
    Ok(sqlx::query_as::<_, HashedEvent>(&format!(
        "SELECT {COLUMNS} FROM events
          WHERE aggregate_type = $1 AND aggregate_id = $2
          ORDER BY sequence"
    ))
    .bind(aggregate_type)
    .bind(aggregate_id)
    .fetch_all(executor)
    .await?)
}

/// The JSON form of an event for people and their tools: every column, payload
/// and metadata as the JSON they are (byte for byte), the hash in hex.
impl Serialize for HashedEvent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let event = &self.event;
        let raw = |text: &str| {
            serde_json::value::RawValue::from_string(text.to_owned())
                .map_err(serde::ser::Error::custom)
        };
        let mut map = serializer.serialize_map(Some(12))?;
        map.serialize_entry("global_position", &event.global_position)?;
        map.serialize_entry("transaction_id", &event.transaction_id.0)?;
        map.serialize_entry("event_id", &event.event_id)?;
        map.serialize_entry("aggregate_type", &event.aggregate_type)?;
        map.serialize_entry("aggregate_id", &event.aggregate_id)?;
        map.serialize_entry("sequence", &event.sequence)?;
        map.serialize_entry("event_type", &event.event_type)?;
        map.serialize_entry("event_version", &event.event_version)?;
        map.serialize_entry("recorded_at", &event.recorded_at)?;
        map.serialize_entry("payload", &raw(&event.payload)?)?;
        map.serialize_entry("metadata", &raw(&event.metadata)?)?;
        map.serialize_entry("hash", &hex::encode(&self.hash))?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use uuid::Uuid;

    use super::*;
    use crate::TransactionId;

    fn event() -> RecordedEvent {
        RecordedEvent {
            global_position: 42,
            transaction_id: TransactionId(900),
            event_id: Uuid::from_u128(7),
            aggregate_type: "Cart".into(),
            aggregate_id: "c1".into(),
            sequence: 3,
            event_type: "ItemAdded".into(),
            event_version: "1".into(),
            payload: r#"{"ItemAdded": {"quantity": 2}}"#.into(),
            metadata: r#"{"actor": "u1", "correlation_id": "k1"}"#.into(),
            recorded_at: Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap(),
        }
    }

    #[test]
    fn an_empty_filter_matches_everything_and_each_field_narrows() {
        let event = event();
        assert!(EventFilter::default().matches(&event));
        let at = event.recorded_at;
        let cases = [
            (
                EventFilter {
                    aggregate_type: Some("Cart".into()),
                    ..Default::default()
                },
                true,
            ),
            (
                EventFilter {
                    aggregate_type: Some("Order".into()),
                    ..Default::default()
                },
                false,
            ),
            (
                EventFilter {
                    aggregate_id: Some("c2".into()),
                    ..Default::default()
                },
                false,
            ),
            (
                EventFilter {
                    event_type: Some("ItemAdded".into()),
                    ..Default::default()
                },
                true,
            ),
            (
                EventFilter {
                    actor: Some("u1".into()),
                    ..Default::default()
                },
                true,
            ),
            (
                EventFilter {
                    actor: Some("u2".into()),
                    ..Default::default()
                },
                false,
            ),
            (
                EventFilter {
                    correlation_id: Some("k2".into()),
                    ..Default::default()
                },
                false,
            ),
            (
                EventFilter {
                    from: Some(at),
                    ..Default::default()
                },
                true,
            ),
            (
                EventFilter {
                    to: Some(at),
                    ..Default::default()
                },
                false,
            ),
            (
                EventFilter {
                    after_position: Some(42),
                    ..Default::default()
                },
                false,
            ),
            (
                EventFilter {
                    up_to_position: Some(42),
                    ..Default::default()
                },
                true,
            ),
        ];
        for (filter, expected) in cases {
            assert_eq!(filter.matches(&event), expected, "{filter:?}");
        }
    }

    #[test]
    fn the_sql_names_only_the_filters_that_are_set_numbered_in_order() {
        let filter = EventFilter {
            aggregate_id: Some("c1".into()),
            actor: Some("u1".into()),
            ..Default::default()
        };
        let query = LogQuery::new(&filter, Checkpoint::new(5, 9), Some(10)).unwrap();
        assert!(
            query
                .sql
                .contains("(transaction_id, global_position) > ($1, $2)"),
            "{}",
            query.sql
        );
        assert!(
            query.sql.contains("AND aggregate_id = $3 AND actor = $4"),
            "{}",
            query.sql
        );
        assert!(query.sql.ends_with("LIMIT $5"), "{}", query.sql);
        assert!(!query.sql.contains("event_type ="));
        assert_eq!(query.arguments.len(), 5);
    }

    #[test]
    fn an_event_serialises_with_its_payload_and_metadata_as_json() {
        let hashed = HashedEvent {
            event: event(),
            hash: vec![0xab, 0x01],
        };
        let json = serde_json::to_value(&hashed).unwrap();
        assert_eq!(json["payload"]["ItemAdded"]["quantity"], 2);
        assert_eq!(json["metadata"]["actor"], "u1");
        assert_eq!(json["hash"], "ab01");
        assert_eq!(json["transaction_id"], 900);
        assert_eq!(json["recorded_at"], "2026-12-01T10:00:00Z");
    }
}
