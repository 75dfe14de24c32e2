//! `parked`: the events that park-on-failure projectors set aside, and asking for
//! them to be tried again.

use std::process::ExitCode;

use clap::Subcommand;
use projections::runtime::{parked, request_parked_retry};
use sqlx::PgPool;

/// Events that park-on-failure projectors set aside.
#[derive(Debug, Subcommand)]
pub enum ParkedCommand {
    /// List parked events (unresolved ones unless --all), oldest first, as JSON lines.
    List {
        /// Only this projector's.
        #[arg(long)]
        projector: Option<String>,
        /// Include events that a retry has since applied.
        #[arg(long)]
        all: bool,
    },
    /// Ask the projector's active instance, wherever it runs, to retry its
    /// unresolved parked events.
    Retry { projector: String },
}

pub async fn run(pool: &PgPool, command: ParkedCommand) -> anyhow::Result<ExitCode> {
    match command {
        ParkedCommand::List { projector, all } => {
            for event in parked::list(pool, projector.as_deref(), all).await? {
                say!("{}", serde_json::to_string(&event)?)?;
            }
        }
        ParkedCommand::Retry { projector } => {
            request_parked_retry(pool, &projector).await?;
            say!("asked the active instance of {projector} to retry its parked events")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
