//! `state`: an aggregate's state as it was, folded by the domain's own `apply`.

use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;
use domain::AggregateKind;
use eventlog::replay::{StateAt, StreamPoint};
use sqlx::PgPool;

/// Show an aggregate's state as it was at a time or after a version, folded by the
/// domain's own apply, as JSON.
#[derive(Debug, Args)]
pub struct StateArgs {
    /// The aggregate type: Cart, Order, Inventory, Payment or Product.
    pub aggregate_type: String,
    /// The aggregate's id (a SKU for Inventory).
    pub aggregate_id: String,
    /// The state as it stood at this time (RFC 3339).
    #[arg(long, value_parser = crate::filter::parse_time, conflicts_with = "version")]
    pub at: Option<chrono::DateTime<chrono::Utc>>,
    /// The state after this many events of the stream.
    #[arg(long)]
    pub version: Option<i64>,
}

pub async fn run(pool: &PgPool, args: StateArgs) -> anyhow::Result<ExitCode> {
    let kind = AggregateKind::parse(&args.aggregate_type)?;
    let point = match (args.at, args.version) {
        (Some(at), _) => StreamPoint::At(at),
        (None, Some(version)) if version >= 0 => StreamPoint::Version(version),
        (None, Some(version)) => bail!("--version is 0 or more, not {version}"),
        (None, None) => StreamPoint::Version(i64::MAX),
    };
    let state = load(pool, kind, &args.aggregate_id, point).await?;
    say!("{}", serde_json::to_string_pretty(&state_json(&state))?)?;
    Ok(ExitCode::SUCCESS)
}

/// The stream at `point`; an error when the stream has no event at all.
pub async fn load(
    pool: &PgPool,
    kind: AggregateKind,
    aggregate_id: &str,
    point: StreamPoint,
) -> anyhow::Result<StateAt> {
    let mut history = eventlog::query::stream_history(pool, kind.type_name(), aggregate_id)
        .await
        .context("failed to read the stream")?;
    eventlog::personal::unseal_hashed(pool, &mut history)
        .await
        .context("failed to open a personal field")?;
    if history.is_empty() {
        bail!(
            "the log has no {} stream {aggregate_id:?}",
            kind.type_name()
        );
    }
    Ok(StateAt::fold(kind, aggregate_id, history, point)?)
}

/// What `state` prints: where the stream stood and the state there.
pub fn state_json(state: &StateAt) -> serde_json::Value {
    let last = state.events.last().map(|hashed| &hashed.event);
    serde_json::json!({
        "aggregate_type": state.kind.type_name(),
        "aggregate_id": state.aggregate_id,
        "version": state.version,
        "global_position": last.map(|event| event.global_position),
        "recorded_at": last.map(|event| event.recorded_at),
        "state": state.state,
    })
}
