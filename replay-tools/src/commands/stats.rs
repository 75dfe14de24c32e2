//! `stats`: how many events the log holds, by aggregate type, event type and day.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use clap::Args;
use domain::AggregateKind;
use sqlx::PgPool;

/// Count events by aggregate type, event type and day (UTC), read from the log
/// itself.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Only streams of this aggregate type.
    #[arg(long)]
    pub aggregate_type: Option<AggregateKind>,
    /// Recorded at or after this time (RFC 3339).
    #[arg(long, value_parser = crate::filter::parse_time)]
    pub from: Option<DateTime<Utc>>,
    /// Recorded before this time (RFC 3339).
    #[arg(long, value_parser = crate::filter::parse_time)]
    pub to: Option<DateTime<Utc>>,
    /// Every (day, aggregate type, event type) count as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, sqlx::FromRow, serde::Serialize)]
struct Count {
    day: NaiveDate,
    aggregate_type: String,
    event_type: String,
    events: i64,
}

pub async fn run(pool: &PgPool, args: StatsArgs) -> anyhow::Result<ExitCode> {
    // One pass over the log: the counts are grouped in the database.
    let counts: Vec<Count> = sqlx::query_as(
        "SELECT (recorded_at AT TIME ZONE 'UTC')::date AS day, aggregate_type, event_type,
                count(*) AS events
           FROM events
          WHERE ($1::text IS NULL OR aggregate_type = $1)
            AND ($2::timestamptz IS NULL OR recorded_at >= $2)
            AND ($3::timestamptz IS NULL OR recorded_at < $3)
          GROUP BY 1, 2, 3
          ORDER BY 1, 2, 3",
    )
    .bind(args.aggregate_type.map(AggregateKind::type_name))
    .bind(args.from)
    .bind(args.to)
    .fetch_all(pool)
    .await
    .context("failed to count the log")?;
    if args.json {
        say!("{}", serde_json::to_string_pretty(&counts)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut by_type: BTreeMap<&str, i64> = BTreeMap::new();
    let mut by_event: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    let mut by_day: BTreeMap<NaiveDate, i64> = BTreeMap::new();
    for count in &counts {
        *by_type.entry(&count.aggregate_type).or_default() += count.events;
        *by_event
            .entry((&count.aggregate_type, &count.event_type))
            .or_default() += count.events;
        *by_day.entry(count.day).or_default() += count.events;
    }
    let total: i64 = by_type.values().sum();
    say!("{total} events")?;
    say!("\nby aggregate type:")?;
    for (aggregate_type, events) in &by_type {
        say!("  {aggregate_type:<12} {events:>12}")?;
    }
    say!("\nby event type:")?;
    for ((aggregate_type, event_type), events) in &by_event {
        say!("  {aggregate_type:<12} {event_type:<32} {events:>12}")?;
    }
    say!("\nby day (UTC):")?;
    for (day, events) in &by_day {
        say!("  {day} {events:>12}")?;
    }
    Ok(ExitCode::SUCCESS)
}
