//! `commerce-replay`: the analysts' and auditors' tool. It reads the log directly
//! and never writes events.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use projections::log::integrity::{verify_chains, ChainScope};
use projections::runtime::{parked, request_parked_retry};
use sqlx::postgres::PgPoolOptions;

#[derive(Debug, Parser)]
#[command(
    name = "commerce-replay",
    version,
    about = "Replay, export and verify the commerce event log"
)]
struct Cli {
    /// The event store. Printed nowhere: it may carry a password.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/commerce",
        hide_env_values = true,
        global = true
    )]
    database_url: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check the hash chain and sequence continuity of every stream (or some);
    /// exits 1 and names each broken event when the log was altered.
    Verify {
        #[arg(long)]
        aggregate_type: Option<String>,
        #[arg(long, requires = "aggregate_type")]
        aggregate_id: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Events that park-on-failure projectors set aside.
    #[command(subcommand)]
    Parked(ParkedCommand),
}

#[derive(Debug, Subcommand)]
enum ParkedCommand {
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

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(&cli.database_url)
        .await
        .context("failed to connect to the event store")?;
    match cli.command {
        Command::Verify {
            aggregate_type,
            aggregate_id,
            json,
        } => {
            let scope = ChainScope {
                aggregate_type,
                aggregate_id,
            };
            let report = verify_chains(&pool, &scope)
                .await
                .context("failed to read the log")?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                for broken in &report.broken {
                    println!(
                        "BROKEN position {} {}/{} sequence {} ({}, event {}): {}",
                        broken.global_position,
                        broken.aggregate_type,
                        broken.aggregate_id,
                        broken.sequence,
                        broken.event_type,
                        broken.event_id,
                        serde_json::to_string(&broken.problem)?,
                    );
                }
                println!(
                    "{} streams, {} events checked: {}",
                    report.streams,
                    report.events,
                    if report.is_intact() {
                        "intact".to_owned()
                    } else {
                        format!("{} broken", report.broken.len())
                    }
                );
            }
            Ok(if report.is_intact() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Parked(ParkedCommand::List { projector, all }) => {
            for event in parked::list(&pool, projector.as_deref(), all).await? {
                println!("{}", serde_json::to_string(&event)?);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Parked(ParkedCommand::Retry { projector }) => {
            request_parked_retry(&pool, &projector).await?;
            println!("asked the active instance of {projector} to retry its parked events");
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
