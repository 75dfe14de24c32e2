//! The projector runtime: every sink is a named projector that reads the log in
//! batches from its checkpoint and moves the checkpoint as it goes.
//!
//! What must stay true:
//! - A PostgreSQL projection applies a batch and moves its checkpoint in one
//!   transaction, guarded by the checkpoint it started from: exactly-once effect.
//! - One instance per name is active (an advisory lock); the others stand by.
//! - An event a projector fails on stops it, naming the event, or (park-on-failure
//!   projectors) is parked with its error; it is never skipped silently.
//! - Transactions stay short: every reader of the log waits for the oldest open
//!   writing transaction, so batches are bounded in size, in time (they shrink when
//!   slow) and by a statement timeout.

mod checkpoints;
mod follow;
mod lag;
mod lock;
pub mod parked;
mod projector;
mod runner;
pub mod shadow;
pub mod table_copy;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use checkpoints::{request_parked_retry, request_rebuild, wait_for_checkpoint};
pub use follow::{request_and_follow_rebuild, FollowOptions, FollowedRebuild};
pub use lag::{projector_lags, ProjectorLag};
pub use projector::{OnFailure, PostgresProjection, Projector, SideEffectSink};
pub use shadow::{rebuild_beside, RebuildOptions, RebuildProgress, RebuildReport};

use crate::Error;
use eventlog::horizon::ensure_cluster_ahead_of_log;
use eventlog::LogWakeups;
use runner::Runner;

/// Tuning shared by every projector of a runtime. The defaults suit production.
#[derive(Debug, Clone)]
pub struct ProjectorOptions {
    /// The most events read and applied in one batch.
    pub max_batch: usize,
    /// A batch that takes longer than this makes the next one smaller; a faster one
    /// lets it grow back to `max_batch`.
    pub batch_time_target: Duration,
    /// The hard bound on any statement of a projection's transaction.
    pub statement_timeout: Duration,
    /// How often an idle projector reads the log without being woken.
    pub poll_interval: Duration,
    /// How often a standby tries to become active.
    pub standby_retry: Duration,
    /// How often the active instance checks that its lock's connection lives.
    pub lock_check_interval: Duration,
    /// Once caught up, how long a projector lets new events gather before it reads
    /// them: under load, one transaction per few dozen commands instead of one
    /// per command for every projector. Readers see writes this much later.
    pub gather: Duration,
}

impl Default for ProjectorOptions {
    fn default() -> Self {
        ProjectorOptions {
            max_batch: 1000,
            batch_time_target: Duration::from_millis(250),
            statement_timeout: Duration::from_secs(5),
            poll_interval: Duration::from_secs(1),
            standby_retry: Duration::from_secs(1),
            lock_check_interval: Duration::from_secs(5),
            gather: Duration::from_millis(10),
        }
    }
}

impl ProjectorOptions {
    /// Halves the batch after a slow one, grows it by half after a fast full one.
    fn next_batch_size(&self, current: usize, applied: usize, took: Duration) -> usize {
        if took > self.batch_time_target {
            (current / 2).max(1)
        } else if applied >= current {
            (current + current / 2 + 1).min(self.max_batch)
        } else {
            current
        }
    }
}

/// What a projector of this process is doing now.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "error")]
pub enum ProjectorState {
    /// Waiting for the advisory lock another instance holds.
    Standby,
    Active,
    /// Ended: cleanly (`None`) or on an error.
    Stopped(Option<String>),
}

/// The states of this process's projectors, shared with health checks.
#[derive(Debug, Clone, Default)]
pub struct ProjectorStates(Arc<Mutex<BTreeMap<String, ProjectorState>>>);

impl ProjectorStates {
    fn set(&self, projector: &str, state: ProjectorState) {
        if let Ok(mut states) = self.0.lock() {
            states.insert(projector.to_owned(), state);
        }
    }

    pub fn get(&self, projector: &str) -> Option<ProjectorState> {
        self.0.lock().ok()?.get(projector).cloned()
    }

    pub fn snapshot(&self) -> BTreeMap<String, ProjectorState> {
        self.0
            .lock()
            .map(|states| states.clone())
            .unwrap_or_default()
    }
}

/// The projectors one process runs.
pub struct ProjectorRuntime {
    pool: PgPool,
    wakeups: LogWakeups,
    options: ProjectorOptions,
    projectors: Vec<(Projector, OnFailure)>,
    states: ProjectorStates,
}

impl ProjectorRuntime {
    pub fn new(pool: PgPool, wakeups: LogWakeups, options: ProjectorOptions) -> Self {
        ProjectorRuntime {
            pool,
            wakeups,
            options,
            projectors: Vec::new(),
            states: ProjectorStates::default(),
        }
    }

    pub fn with(mut self, projector: Projector, on_failure: OnFailure) -> Self {
        self.projectors.push((projector, on_failure));
        self
    }

    pub fn states(&self) -> ProjectorStates {
        self.states.clone()
    }

    pub fn projector_names(&self) -> Vec<String> {
        self.projectors
            .iter()
            .map(|(p, _)| p.name().to_owned())
            .collect()
    }

    /// Checks that the log can be read safely here, then starts every projector;
    /// they run until `cancel` fires, finishing the batch in hand.
    pub async fn start(self, cancel: CancellationToken) -> Result<RunningProjectors, Error> {
        ensure_cluster_ahead_of_log(&self.pool).await?;
        let tasks = self
            .projectors
            .into_iter()
            .map(|(projector, on_failure)| {
                let name = projector.name().to_owned();
                let runner = Runner {
                    pool: self.pool.clone(),
                    projector,
                    on_failure,
                    options: self.options.clone(),
                    wakeups: self.wakeups.subscribe(),
                    states: self.states.clone(),
                };
                (name, tokio::spawn(runner.run(cancel.clone())))
            })
            .collect();
        Ok(RunningProjectors {
            tasks,
            states: self.states,
        })
    }
}

/// Handles to the running projectors of a process.
pub struct RunningProjectors {
    tasks: Vec<(String, JoinHandle<Result<(), Error>>)>,
    states: ProjectorStates,
}

impl RunningProjectors {
    pub fn states(&self) -> ProjectorStates {
        self.states.clone()
    }

    /// Resolves once every projector of this process has ended (on errors, since
    /// only cancellation ends them otherwise): a worker with nothing left to run.
    pub async fn all_stopped(&self) {
        loop {
            let states = self.states.snapshot();
            let stopped = states
                .values()
                .filter(|s| matches!(s, ProjectorState::Stopped(_)))
                .count();
            if stopped == self.tasks.len() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Waits for every projector to end; each one's outcome, by name.
    pub async fn join(self) -> Vec<(String, Result<(), Error>)> {
        self.join_within(None).await
    }

    /// Like [`join`](Self::join), but a projector still running after `grace`
    /// (counted from the call) is aborted and reported as such.
    pub async fn join_within(self, grace: Option<Duration>) -> Vec<(String, Result<(), Error>)> {
        let deadline = grace.map(|grace| tokio::time::Instant::now() + grace);
        let mut outcomes = Vec::with_capacity(self.tasks.len());
        for (name, mut task) in self.tasks {
            let joined = match deadline {
                Some(deadline) => match tokio::time::timeout_at(deadline, &mut task).await {
                    Ok(joined) => Some(joined),
                    Err(_) => {
                        task.abort();
                        None
                    }
                },
                None => Some(task.await),
            };
            let outcome = match joined {
                Some(Ok(outcome)) => outcome,
                Some(Err(join_error)) => Err(Error::Rejected(format!(
                    "projector task ended abnormally: {join_error}"
                ))),
                None => Err(Error::Rejected(
                    "projector aborted: it did not finish within the shutdown grace period".into(),
                )),
            };
            outcomes.push((name, outcome));
        }
        outcomes
    }
}
