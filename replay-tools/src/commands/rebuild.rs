//! `rebuild`: a read model built again from the first event, beside the live one,
//! while the live one keeps serving.
//!
//! - A PostgreSQL read model is folded into shadow tables while its live
//!   projector goes on, then swapped in at the live checkpoint
//!   ([`projections::runtime::rebuild_beside`]).
//! - The search index and the Redis hot views build a new generation beside the
//!   live one by themselves: their active instance is asked to start over and
//!   followed until it reaches the head of the log.
//! - The checkout process and the Kafka feed are refused: they are not read
//!   models, and replaying them repeats their effects on the outside world.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use projections::kafka::KafkaSettings;
use projections::read_models::postgres_projections;
use projections::runtime::{
    rebuild_beside, request_and_follow_rebuild, FollowOptions, PostgresProjection, RebuildOptions,
    RebuildProgress,
};
use sqlx::PgPool;

use crate::progress::events_bar;

/// Rebuild a read model from position zero beside the live one, then swap it in.
#[derive(Debug, Args)]
pub struct RebuildArgs {
    /// The projector whose read model to rebuild: a PostgreSQL read model
    /// (`carts`, `products`, `inventory`, `orders`, `payments`, `event_counts`),
    /// `search` or `redis_views`.
    pub projector: String,
    /// Print the report as one JSON object instead of a sentence.
    #[arg(long)]
    pub json: bool,
    /// Events folded per transaction while building.
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(i64).range(1..))]
    pub batch: i64,
}

/// The checkout process manager's projector (`commands::checkout::PROJECTOR`;
/// this tool does not depend on the command side).
const CHECKOUT_PROCESS: &str = "checkout_process";

/// How `rebuild` rebuilds a projector it accepts.
enum Plan {
    Beside(Arc<dyn PostgresProjection>),
    /// A sink that rebuilds into a new generation itself, when asked.
    AskAndFollow,
}

/// `None` for an unknown projector; `Err` says why a known one is refused.
fn plan(projector: &str) -> Option<Result<Plan, &'static str>> {
    if let Some(projection) = postgres_projections()
        .into_iter()
        .find(|projection| projection.name() == projector)
    {
        return Some(Ok(Plan::Beside(projection)));
    }
    if projector == projections::search::PROJECTOR
        || projector == projections::redis_views::PROJECTOR
    {
        return Some(Ok(Plan::AskAndFollow));
    }
    if projector == CHECKOUT_PROCESS {
        return Some(Err(
            "the checkout process is a process manager, not a read model: replaying the log \
             through it would place, reserve, authorize and capture again for every checkout \
             ever made (and its projector refuses to start over, stopping it)",
        ));
    }
    if projector == KafkaSettings::new("").projector_name {
        return Some(Err(
            "the Kafka feed is not a read model: replaying it publishes every event ever \
             recorded to the downstream topics again. Consumers may drop duplicates by \
             event_id, but republishing the whole history is a decision for their owners, \
             not a rebuild",
        ));
    }
    None
}

/// Every projector name `plan` knows, refused ones included.
fn known_projectors() -> Vec<String> {
    let mut names: Vec<String> = postgres_projections()
        .iter()
        .map(|projection| projection.name().to_owned())
        .collect();
    names.extend(
        [
            projections::search::PROJECTOR,
            projections::redis_views::PROJECTOR,
        ]
        .map(str::to_owned),
    );
    names
}

pub async fn run(pool: &PgPool, args: RebuildArgs) -> anyhow::Result<ExitCode> {
    let projector = args.projector.as_str();
    let plan = match plan(projector) {
        Some(Ok(plan)) => plan,
        Some(Err(reason)) => {
            eprintln!("error: {projector} cannot be rebuilt: {reason}");
            return Ok(ExitCode::from(2));
        }
        None => {
            eprintln!(
                "error: unknown projector {projector:?}; rebuild knows: {}",
                known_projectors().join(", ")
            );
            return Ok(ExitCode::from(2));
        }
    };
    let bar = events_bar(Some(0), &format!("rebuilding {projector}"));
    let progress = |progress: RebuildProgress| {
        // Positions stand in for event counts: they are dense but for rolled-back
        // appends, and the bar needs a length before the events are counted. The
        // reader's order is not quite position order, so a position read may pass
        // the target's for a moment: the bar stops at full.
        let target = progress.target.global_position.max(0) as u64;
        bar.set_length(target);
        bar.set_position((progress.reached.global_position.max(0) as u64).min(target));
    };
    let report = match plan {
        Plan::Beside(projection) => {
            let options = RebuildOptions {
                batch: args.batch,
                ..RebuildOptions::default()
            };
            let report = rebuild_beside(pool, projection.as_ref(), &options, &progress)
                .await
                .with_context(|| format!("failed to rebuild {projector}"))?;
            bar.finish_and_clear();
            Report {
                projector: report.projector.clone(),
                how: "beside",
                events: report.events,
                seconds: report.elapsed.as_secs_f64(),
                events_per_second: report.events_per_second(),
                at: report.swapped_at.to_string(),
                tables: report.tables.clone(),
                rounds: Some(report.rounds),
                swap_attempts: Some(report.swap_attempts),
                retired_dropped: Some(report.retired_dropped),
            }
        }
        Plan::AskAndFollow => {
            let followed =
                request_and_follow_rebuild(pool, projector, &FollowOptions::default(), &progress)
                    .await
                    .with_context(|| format!("failed to rebuild {projector}"))?;
            bar.finish_and_clear();
            Report {
                projector: followed.projector.clone(),
                how: "new_generation",
                events: followed.events,
                seconds: followed.elapsed.as_secs_f64(),
                events_per_second: followed.events_per_second(),
                at: followed.head.to_string(),
                tables: Vec::new(),
                rounds: None,
                swap_attempts: None,
                retired_dropped: None,
            }
        }
    };
    if args.json {
        say!("{}", serde_json::to_string(&report)?)?;
    } else {
        say!("{}", report.sentence())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// What `--json` prints.
#[derive(Debug, serde::Serialize)]
struct Report {
    projector: String,
    /// `beside` (shadow tables swapped in) or `new_generation` (the sink's own).
    how: &'static str,
    events: u64,
    seconds: f64,
    events_per_second: f64,
    /// The checkpoint the new read model took over at.
    at: String,
    tables: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rounds: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    swap_attempts: Option<u32>,
    /// False when the old tables are left as `<table>__retired` (the next rebuild
    /// drops them).
    #[serde(skip_serializing_if = "Option::is_none")]
    retired_dropped: Option<bool>,
}

impl Report {
    fn sentence(&self) -> String {
        let took = format!(
            "rebuilt {}: {} events in {:.1} s ({:.0} events/s)",
            self.projector, self.events, self.seconds, self.events_per_second
        );
        match self.retired_dropped {
            Some(dropped) => format!(
                "{took}, swapped at {}{}",
                self.at,
                if dropped {
                    ""
                } else {
                    "; the old tables are left as <table>__retired"
                }
            ),
            None => format!("{took}, caught up with {}", self.at),
        }
    }
}
