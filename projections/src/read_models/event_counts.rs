//! Events recorded per day, aggregate type and event type: what analysts' `stats`
//! and operators' dashboards read, built without scanning the log.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDate;
use sqlx::{FromRow, PgConnection, PgExecutor};

use crate::runtime::PostgresProjection;
use crate::Error;
use eventlog::{PayloadsOf, RecordedEvent};

pub const PROJECTOR: &str = "event_counts";

/// The live read model's table.
pub const TABLE: &str = "read_event_counts";

/// Builds `read_event_counts`, one upsert per batch.
#[derive(Debug, Default, Clone, Copy)]
pub struct EventCountsProjection;

impl EventCountsProjection {
    /// The same counts written to `table`, a copy of `read_event_counts`'s shape: a
    /// rebuild fills one beside the live table and swaps it in.
    pub fn on_table(table: &str) -> EventCountsOnTable {
        EventCountsOnTable {
            table: table.to_owned(),
        }
    }
}

/// [`EventCountsProjection`] writing to a table other than the live one.
#[derive(Debug, Clone)]
pub struct EventCountsOnTable {
    table: String,
}

#[async_trait]
impl PostgresProjection for EventCountsProjection {
    fn name(&self) -> &str {
        PROJECTOR
    }

    /// Counts read no payload.
    fn payloads(&self) -> Option<PayloadsOf> {
        Some(PayloadsOf::default())
    }

    async fn apply(&self, tx: &mut PgConnection, events: &[RecordedEvent]) -> Result<(), Error> {
        count_into(TABLE, tx, events).await
    }

    async fn reset(&self, tx: &mut PgConnection) -> Result<(), Error> {
        empty(TABLE, tx).await
    }

    fn tables(&self) -> Vec<String> {
        vec![TABLE.to_owned()]
    }

    fn writing_to(&self, shadow: &dyn Fn(&str) -> String) -> Option<Arc<dyn PostgresProjection>> {
        Some(Arc::new(Self::on_table(&shadow(TABLE))))
    }
}

#[async_trait]
impl PostgresProjection for EventCountsOnTable {
    fn name(&self) -> &str {
        PROJECTOR
    }

    /// Counts read no payload.
    fn payloads(&self) -> Option<PayloadsOf> {
        Some(PayloadsOf::default())
    }

    async fn apply(&self, tx: &mut PgConnection, events: &[RecordedEvent]) -> Result<(), Error> {
        count_into(&self.table, tx, events).await
    }

    async fn reset(&self, tx: &mut PgConnection) -> Result<(), Error> {
        empty(&self.table, tx).await
    }

    fn tables(&self) -> Vec<String> {
        vec![self.table.clone()]
    }

    fn writing_to(&self, shadow: &dyn Fn(&str) -> String) -> Option<Arc<dyn PostgresProjection>> {
        Some(Arc::new(EventCountsProjection::on_table(&shadow(
            &self.table,
        ))))
    }
}

async fn count_into(
    table: &str,
    tx: &mut PgConnection,
    events: &[RecordedEvent],
) -> Result<(), Error> {
    let mut counts: BTreeMap<(NaiveDate, &str, &str), i64> = BTreeMap::new();
    for event in events {
        let key = (
            event.recorded_at.date_naive(),
            event.aggregate_type.as_str(),
            event.event_type.as_str(),
        );
        *counts.entry(key).or_default() += 1;
    }
    let mut days = Vec::with_capacity(counts.len());
    let mut aggregate_types = Vec::with_capacity(counts.len());
    let mut event_types = Vec::with_capacity(counts.len());
    let mut numbers = Vec::with_capacity(counts.len());
    for ((day, aggregate_type, event_type), count) in counts {
        days.push(day);
        aggregate_types.push(aggregate_type);
        event_types.push(event_type);
        numbers.push(count);
    }
    sqlx::query(&format!(
        "INSERT INTO {table} (day, aggregate_type, event_type, events)
         SELECT * FROM UNNEST($1::date[], $2::text[], $3::text[], $4::bigint[])
         ON CONFLICT (day, aggregate_type, event_type)
         DO UPDATE SET events = {table}.events + EXCLUDED.events"
    ))
    .bind(days)
    .bind(aggregate_types)
    .bind(event_types)
    .bind(numbers)
    .execute(tx)
    .await?;
    Ok(())
}

async fn empty(table: &str, tx: &mut PgConnection) -> Result<(), Error> {
    sqlx::query(&format!("TRUNCATE {table}"))
        .execute(tx)
        .await?;
    Ok(())
}

/// One row of the read model.
#[derive(Debug, Clone, PartialEq, Eq, FromRow, serde::Serialize)]
pub struct EventCount {
    pub day: NaiveDate,
    pub aggregate_type: String,
    pub event_type: String,
    pub events: i64,
}

/// Every count, by day, then aggregate type, then event type.
pub async fn all<'e>(executor: impl PgExecutor<'e>) -> Result<Vec<EventCount>, Error> {
    let counts = sqlx::query_as::<_, EventCount>(
        "SELECT day, aggregate_type, event_type, events FROM read_event_counts
          ORDER BY day, aggregate_type, event_type",
    )
    .fetch_all(executor)
    .await?;
    Ok(counts)
}
