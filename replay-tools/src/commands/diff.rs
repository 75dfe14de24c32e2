//! `diff`: what happened to a stream between two points, and what it changed.

use std::process::ExitCode;

use anyhow::bail;
use clap::Args;
use domain::AggregateKind;
use eventlog::replay::StreamPoint;
use sqlx::PgPool;

use super::state::{load, state_json};
use crate::json_diff::diff;

/// Show the events of a stream between two points (times or versions) and the
/// state change they made, as a structural JSON diff.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The aggregate type: Cart, Order, Inventory, Payment or Product.
    pub aggregate_type: String,
    /// The aggregate's id (a SKU for Inventory).
    pub aggregate_id: String,
    /// The earlier point: a version (events folded) or an RFC 3339 time.
    #[arg(long)]
    pub from: StreamPoint,
    /// The later point: a version or an RFC 3339 time.
    #[arg(long)]
    pub to: StreamPoint,
    /// The events and changes as one JSON document.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(pool: &PgPool, args: DiffArgs) -> anyhow::Result<ExitCode> {
    let kind = AggregateKind::parse(&args.aggregate_type)?;
    let before = load(pool, kind, &args.aggregate_id, args.from).await?;
    let after = load(pool, kind, &args.aggregate_id, args.to).await?;
    if after.version < before.version {
        bail!(
            "--to (version {}) is before --from (version {})",
            after.version,
            before.version
        );
    }
    let between: Vec<_> = after
        .events
        .iter()
        .filter(|hashed| hashed.event.sequence > before.version)
        .collect();
    let changes = diff(&state_json(&before)["state"], &state_json(&after)["state"]);
    if args.json {
        let document = serde_json::json!({
            "aggregate_type": kind.type_name(),
            "aggregate_id": args.aggregate_id,
            "from_version": before.version,
            "to_version": after.version,
            "events": between,
            "changes": changes,
        });
        say!("{}", serde_json::to_string_pretty(&document)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    say!(
        "{} {}: version {} -> {}, {} events",
        kind.type_name(),
        args.aggregate_id,
        before.version,
        after.version,
        between.len()
    )?;
    for hashed in &between {
        let event = &hashed.event;
        say!(
            "  #{} {} {} {}",
            event.sequence,
            event.recorded_at,
            event.event_type,
            event.payload
        )?;
    }
    say!("changes:")?;
    for change in &changes {
        say!("  {change}")?;
    }
    Ok(ExitCode::SUCCESS)
}
