//! `verify`: the hash chain and sequence continuity of every stream (or some), and
//! with `--digest`, that the log up to a signed digest's checkpoint is unchanged.

use std::fs;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use domain::AggregateKind;
use eventlog::integrity::{log_root, verify_chains_reporting, ChainReport, ChainScope};
use sqlx::PgPool;

use super::digest::{read_public_key, SignedDigest};
use crate::progress::events_bar;

/// Check the hash chain and sequence continuity of every stream (or some); exits 1
/// and names each broken event when the log was altered. With --digest, also
/// proves the log up to the digest's checkpoint is the one that was signed.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Only streams of this aggregate type.
    #[arg(long)]
    pub aggregate_type: Option<AggregateKind>,
    /// Only this stream (with --aggregate-type).
    #[arg(long, requires = "aggregate_type")]
    pub aggregate_id: Option<String>,
    /// A digest written by `digest`: the log up to its checkpoint must match it.
    #[arg(long, requires = "public_key", conflicts_with = "aggregate_type")]
    pub digest: Option<PathBuf>,
    /// The public key the digest must be signed with (hex, or a file holding it):
    /// the one the auditor kept, never the one inside the digest.
    #[arg(long)]
    pub public_key: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(pool: &PgPool, args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let scope = ChainScope {
        aggregate_type: args.aggregate_type.map(|kind| kind.type_name().to_owned()),
        aggregate_id: args.aggregate_id,
    };
    let bar = events_bar(None, "verifying");
    let report = verify_chains_reporting(pool, &scope, |checked| bar.set_position(checked))
        .await
        .context("failed to read the log")?;
    bar.finish_and_clear();
    let digest_finding = match (&args.digest, &args.public_key) {
        (Some(path), Some(key)) => Some(check_digest(pool, path, key).await?),
        _ => None,
    };
    if args.json {
        let mut json = serde_json::to_value(&report)?;
        json["intact"] = report.is_intact().into();
        if let Some(finding) = &digest_finding {
            json["digest"] = serde_json::json!({
                "matches": finding.is_ok(),
                "detail": match finding { Ok(detail) | Err(detail) => detail },
            });
        }
        say!("{}", serde_json::to_string_pretty(&json)?)?;
    } else {
        print_report(&report)?;
        match &digest_finding {
            Some(Ok(detail)) => say!("digest: {detail}")?,
            Some(Err(detail)) => say!("DIGEST MISMATCH: {detail}")?,
            None => {}
        }
    }
    let digest_holds = digest_finding.as_ref().is_none_or(Result::is_ok);
    Ok(if report.is_intact() && digest_holds {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_report(report: &ChainReport) -> anyhow::Result<()> {
    for broken in &report.broken {
        say!(
            "BROKEN position {} {}/{} sequence {} ({}, event {}): {}",
            broken.global_position,
            broken.aggregate_type,
            broken.aggregate_id,
            broken.sequence,
            broken.event_type,
            broken.event_id,
            serde_json::to_string(&broken.problem)?,
        )?;
    }
    say!(
        "{} streams, {} events checked: {}",
        report.streams,
        report.events,
        if report.is_intact() {
            "intact".to_owned()
        } else {
            format!("{} broken", report.broken.len())
        }
    )?;
    Ok(())
}

/// `Ok` with what was proven, or `Err` with how the log differs from the digest.
/// Failing to read the digest or the key is an error of the run, not a finding.
async fn check_digest(
    pool: &PgPool,
    path: &PathBuf,
    public_key: &str,
) -> anyhow::Result<Result<String, String>> {
    let text =
        fs::read_to_string(path).with_context(|| format!("failed to read {}", path.display()))?;
    let digest: SignedDigest = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a digest written by `digest`", path.display()))?;
    let key = read_public_key(public_key)?;
    if let Err(error) = digest.check_signature(&key) {
        return Ok(Err(format!("{error:#}")));
    }
    let now = log_root(pool, digest.root.checkpoint())
        .await
        .context("failed to read the log")?;
    let stated = &digest.root;
    Ok(if &now == stated {
        Ok(format!(
            "the log up to {} ({} events, {} streams) is the one signed at {}",
            stated.checkpoint(),
            stated.events,
            stated.streams,
            digest.created_at
        ))
    } else {
        Err(format!(
            "the log up to {} differs from the digest signed at {}: {} events in {} streams \
             (signed: {} in {}), root {} (signed: {})",
            stated.checkpoint(),
            digest.created_at,
            now.events,
            now.streams,
            stated.events,
            stated.streams,
            now.root_hash,
            stated.root_hash
        ))
    })
}
