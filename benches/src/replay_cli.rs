//! The analysts' and auditors' tool, `commerce-replay`, measured as they run it: the
//! release binary as a child process on the bench's log, wall-clock time
//! included start-up and connection, output to /dev/null.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context};

/// The `commerce-replay` built beside this binary (`make bench` builds both).
pub fn default_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find the running binary")?;
    Ok(exe.with_file_name("commerce-replay"))
}

/// Runs `commerce-replay args…` on `database_url` and returns the run's stdout
/// and how long it took.
pub fn run(binary: &Path, database_url: &str, args: &[&str]) -> anyhow::Result<(String, f64)> {
    let started = Instant::now();
    let output = Command::new(binary)
        .args(args)
        .args(["--database-url", database_url])
        .output()
        .with_context(|| {
            format!(
                "cannot run {}: build it with `cargo build --release -p replay-tools`",
                binary.display()
            )
        })?;
    let seconds = started.elapsed().as_secs_f64();
    if !output.status.success() {
        bail!(
            "commerce-replay {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok((
        String::from_utf8_lossy(&output.stdout).into_owned(),
        seconds,
    ))
}

/// Events/s of `commerce-replay args…` over a log of `events`.
pub fn rate(binary: &Path, database_url: &str, args: &[&str], events: i64) -> anyhow::Result<f64> {
    let (_, seconds) = run(binary, database_url, args)?;
    Ok(events as f64 / seconds)
}

/// `commerce-replay rebuild <projector> --json`: the tool's own events/s.
pub fn rebuild(binary: &Path, database_url: &str, projector: &str) -> anyhow::Result<f64> {
    let (stdout, _) = run(binary, database_url, &["rebuild", projector, "--json"])?;
    let report: serde_json::Value =
        serde_json::from_str(&stdout).context("rebuild --json printed no report")?;
    report["events_per_second"]
        .as_f64()
        .context("the rebuild report has no events_per_second")
}
