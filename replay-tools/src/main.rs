//! `commerce-replay`: the analysts' and auditors' tool. It reads the log directly
//! and never writes an event; `rebuild` writes read models only.
//!
//! One module per subcommand in [`commands`], each with its own arguments and a
//! `run` that returns the process's exit code.

/// `println!` that returns the write's error instead of panicking, so that a
/// reader that stops early (`| head`) ends the run quietly.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}

mod commands;
mod filter;
mod json_diff;
mod progress;

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
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
        hide_default_value = true,
        global = true
    )]
    database_url: String,

    /// The master key of personal data, as the service has it: with it, personal
    /// fields read in the clear (or as erased); without it they stay sealed, and
    /// a rebuild of a read model that shows them fails.
    #[arg(long, env = "PERSONAL_DATA_KEY", hide_env_values = true, global = true)]
    personal_data_key: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Export(commands::export::ExportArgs),
    Rebuild(commands::rebuild::RebuildArgs),
    #[command(subcommand)]
    Parked(commands::parked::ParkedCommand),
    State(commands::state::StateArgs),
    History(commands::history::HistoryArgs),
    Diff(commands::diff::DiffArgs),
    Verify(commands::verify::VerifyArgs),
    Digest(commands::digest::DigestArgs),
    Keygen(commands::digest::KeygenArgs),
    Stats(commands::stats::StatsArgs),
    Tail(commands::tail::TailArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    if let Command::Keygen(args) = &cli.command {
        // Needs no database.
        return commands::digest::keygen(args);
    }
    if let Some(key) = &cli.personal_data_key {
        eventlog::personal::install(key).context("PERSONAL_DATA_KEY")?;
    }
    let pool = PgPoolOptions::new()
        .max_connections(3)
        .connect(&cli.database_url)
        .await
        .context("failed to connect to the event store")?;
    let outcome = match cli.command {
        Command::Export(args) => commands::export::run(&pool, args).await,
        Command::Rebuild(args) => commands::rebuild::run(&pool, args).await,
        Command::Parked(command) => commands::parked::run(&pool, command).await,
        Command::State(args) => commands::state::run(&pool, args).await,
        Command::History(args) => commands::history::run(&pool, args).await,
        Command::Diff(args) => commands::diff::run(&pool, args).await,
        Command::Verify(args) => commands::verify::run(&pool, args).await,
        Command::Digest(args) => commands::digest::run(&pool, args).await,
        Command::Keygen(args) => commands::digest::keygen(&args),
        Command::Stats(args) => commands::stats::run(&pool, args).await,
        Command::Tail(args) => commands::tail::run(&pool, args).await,
    };
    match outcome {
        // Whoever read the output has all they wanted.
        Err(error) if closed_output(&error) => Ok(ExitCode::SUCCESS),
        other => other,
    }
}

/// Whether `error` is a write to an output whose reader went away.
fn closed_output(error: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == BrokenPipe)
            || cause
                .downcast_ref::<serde_json::Error>()
                .is_some_and(|e| e.io_error_kind() == Some(BrokenPipe))
            || cause.downcast_ref::<csv::Error>().is_some_and(
                |e| matches!(e.kind(), csv::ErrorKind::Io(io) if io.kind() == BrokenPipe),
            )
    })
}

/// How long a one-shot reading waits for transactions older than it to end.
const HORIZON_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Waits until everything committed before now is readable in log order; warns
/// when an old transaction keeps part of it back (it is read next time).
async fn settle_horizon(pool: &sqlx::PgPool) -> anyhow::Result<()> {
    let settled = eventlog::horizon::wait_for_horizon(pool, HORIZON_WAIT)
        .await
        .context("failed to read the log's horizon")?;
    if !settled {
        eprintln!(
            "warning: a transaction older than this run is still open somewhere in the \
             PostgreSQL cluster; events it writes come after this reading"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }

    #[test]
    fn every_subcommand_has_help() {
        let cli = super::Cli::command();
        for sub in cli.get_subcommands() {
            assert!(
                sub.get_about().is_some(),
                "{} has no help text",
                sub.get_name()
            );
        }
    }
}
