//! `rebuild`: a read model built again from the first event, beside the live one.

use std::process::ExitCode;

use clap::Args;
use sqlx::PgPool;

/// Rebuild a read model from position zero beside the live one, then swap it in.
#[derive(Debug, Args)]
pub struct RebuildArgs {
    /// The projector whose read model to rebuild.
    pub projector: String,
}

pub async fn run(_pool: &PgPool, args: RebuildArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("rebuild of {} is being written", args.projector)
}
