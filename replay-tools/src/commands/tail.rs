//! `tail`: the live log as it is written, through the gap-free reader.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use eventlog::integrity::log_head;
use eventlog::{Checkpoint, LogTail, LogWakeups};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::filter::FilterArgs;

/// Follow the live log as JSON lines, from now (or the start, or a checkpoint),
/// with filters; stops on Ctrl-C.
#[derive(Debug, Args)]
pub struct TailArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Start at the first event of the log instead of now.
    #[arg(long, conflicts_with = "after")]
    pub from_start: bool,
    /// Start after this checkpoint (`<transaction_id>:<global_position>`).
    #[arg(long)]
    pub after: Option<Checkpoint>,
    /// Stop after printing this many events.
    #[arg(long)]
    pub limit: Option<u64>,
}

/// How often the log is read when no notification arrives.
const POLL: Duration = Duration::from_millis(500);

pub async fn run(pool: &PgPool, args: TailArgs) -> anyhow::Result<ExitCode> {
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_signal.cancel();
        }
    });
    let from = match (args.from_start, args.after) {
        (true, _) => Checkpoint::START,
        (false, Some(after)) => after,
        (false, None) => log_head(pool)
            .await
            .context("failed to read the log's head")?,
    };
    let wakeups = LogWakeups::start(pool.clone(), cancel.clone());
    let mut tail = LogTail::new(pool.clone(), wakeups.subscribe(), from, POLL);
    let filter = args.filter.to_filter();
    let mut printed = 0u64;
    loop {
        let batch = tail
            .read_hashed(1000)
            .await
            .context("failed to read the log")?;
        let Some(last) = batch.last().map(|hashed| hashed.event.checkpoint()) else {
            if !tail.wait(&cancel).await {
                break;
            }
            continue;
        };
        for hashed in batch.iter().filter(|hashed| filter.matches(&hashed.event)) {
            say!("{}", serde_json::to_string(hashed)?)?;
            printed += 1;
            if args.limit.is_some_and(|limit| printed >= limit) {
                cancel.cancel();
                return Ok(ExitCode::SUCCESS);
            }
        }
        tail.seek(last);
    }
    Ok(ExitCode::SUCCESS)
}
