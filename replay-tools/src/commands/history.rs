//! `history`: one stream's events with their metadata, in order.

use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;
use domain::AggregateKind;
use eventlog::query::stream_history;
use sqlx::PgPool;

/// Print one stream's events with their metadata (who, why, in which request), in
/// sequence order.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The aggregate type: Cart, Order, Inventory, Payment or Product.
    pub aggregate_type: String,
    /// The aggregate's id (a SKU for Inventory).
    pub aggregate_id: String,
    /// Every column of every event as JSON lines, payloads included.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(pool: &PgPool, args: HistoryArgs) -> anyhow::Result<ExitCode> {
    let kind = AggregateKind::parse(&args.aggregate_type)?;
    let mut history = stream_history(pool, kind.type_name(), &args.aggregate_id)
        .await
        .context("failed to read the stream")?;
    eventlog::personal::unseal_hashed(pool, &mut history)
        .await
        .context("failed to open a personal field")?;
    if history.is_empty() {
        bail!(
            "the log has no {} stream {:?}",
            kind.type_name(),
            args.aggregate_id
        );
    }
    for hashed in &history {
        if args.json {
            say!("{}", serde_json::to_string(hashed)?)?;
            continue;
        }
        let event = &hashed.event;
        let metadata: serde_json::Value = serde_json::from_str(&event.metadata).unwrap_or_default();
        let field = |key: &str| {
            metadata
                .get(key)
                .and_then(|v| v.as_str())
                .unwrap_or("-")
                .to_owned()
        };
        say!(
            "#{:<4} {}  position {:<8} {:<28} by {} ({}) via {}  correlation {}  causation {}  request {}",
            event.sequence,
            event.recorded_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            event.global_position,
            event.event_type,
            field("actor"),
            field("actor_role"),
            field("command"),
            field("correlation_id"),
            field("causation_id"),
            field("request_id"),
        )?;
        say!("      {}", event.payload)?;
    }
    Ok(ExitCode::SUCCESS)
}
