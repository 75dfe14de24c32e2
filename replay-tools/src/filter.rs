//! The filter flags that every reading of the log shares (`export`, `tail`,
//! `stats`), turned into the query side's [`EventFilter`].

use chrono::{DateTime, Utc};
use clap::Args;
use domain::AggregateKind;
use eventlog::query::EventFilter;

/// Which events: every flag narrows, none means the whole log.
#[derive(Debug, Clone, Default, Args)]
pub struct FilterArgs {
    /// Only streams of this aggregate type (Cart, Order, Inventory, Payment, Product;
    /// any spelling: cart, carts).
    #[arg(long)]
    pub aggregate_type: Option<AggregateKind>,
    /// Only this stream (with --aggregate-type).
    #[arg(long, requires = "aggregate_type")]
    pub aggregate_id: Option<String>,
    /// Only events of this type (ItemAdded, OrderPlaced, …).
    #[arg(long)]
    pub event_type: Option<String>,
    /// Only events caused by this actor (the metadata's `actor`).
    #[arg(long)]
    pub actor: Option<String>,
    /// Only events of this business conversation (the metadata's `correlation_id`).
    #[arg(long)]
    pub correlation_id: Option<String>,
    /// Recorded at or after this time (RFC 3339: 2026-12-01T00:00:00Z).
    #[arg(long, value_parser = parse_time)]
    pub from: Option<DateTime<Utc>>,
    /// Recorded before this time (RFC 3339).
    #[arg(long, value_parser = parse_time)]
    pub to: Option<DateTime<Utc>>,
    /// Only events at a global position above this one.
    #[arg(long)]
    pub after_position: Option<i64>,
    /// Only events at or below this global position.
    #[arg(long)]
    pub up_to_position: Option<i64>,
}

impl FilterArgs {
    pub fn to_filter(&self) -> EventFilter {
        EventFilter {
            aggregate_type: self.aggregate_type.map(|kind| kind.type_name().to_owned()),
            aggregate_id: self.aggregate_id.clone(),
            event_type: self.event_type.clone(),
            actor: self.actor.clone(),
            correlation_id: self.correlation_id.clone(),
            from: self.from,
            to: self.to,
            after_position: self.after_position,
            up_to_position: self.up_to_position,
        }
    }
}

/// An RFC 3339 time, in any offset, as UTC.
pub fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|e| format!("{text:?} is not an RFC 3339 time such as 2026-12-01T00:00:00Z: {e}"))
}
