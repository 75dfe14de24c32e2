//! One projector's loop: wait to become the active instance, then apply the log
//! batch by batch, moving the checkpoint with every batch.

use std::time::{Duration, Instant};

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::checkpoints::{self, CheckpointState, Requests};
use super::lock::{self, ProjectorLock};
use super::parked;
use super::{OnFailure, Projector, ProjectorOptions, ProjectorState, ProjectorStates};
use crate::Error;
use eventlog::{Checkpoint, LogTail, RecordedEvent, WakeupReceiver};

/// Retries after transient failures back off between these bounds.
const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

pub(crate) struct Runner {
    pub pool: PgPool,
    pub projector: Projector,
    pub on_failure: OnFailure,
    pub options: ProjectorOptions,
    pub wakeups: WakeupReceiver,
    pub states: ProjectorStates,
}

impl Runner {
    fn name(&self) -> &str {
        self.projector.name()
    }

    /// Runs until `cancel` fires (`Ok`) or the projector stops on an event (`Err`).
    /// Transient failures (the database away, the lock lost) are retried.
    pub async fn run(mut self, cancel: CancellationToken) -> Result<(), Error> {
        let mut backoff = MIN_BACKOFF;
        loop {
            self.states.set(self.name(), ProjectorState::Standby);
            let attempt = async {
                checkpoints::ensure_row(&self.pool, self.name()).await?;
                lock::acquire(&self.pool, self.name(), self.options.standby_retry, &cancel).await
            };
            let outcome = match attempt.await {
                Ok(None) => return self.finish(Ok(())),
                Ok(Some(mut lock)) => {
                    tracing::info!(projector = self.name(), "projector active");
                    self.states.set(self.name(), ProjectorState::Active);
                    let active_since = Instant::now();
                    let outcome = self.apply_log(&mut lock, &cancel).await;
                    lock.release().await;
                    if active_since.elapsed() > MAX_BACKOFF {
                        // It ran well for a while: the next failure is a new one.
                        backoff = MIN_BACKOFF;
                    }
                    outcome
                }
                Err(error) => Err(error),
            };
            match outcome {
                Ok(()) => return self.finish(Ok(())),
                Err(error) if error.is_transient() => {
                    tracing::warn!(projector = self.name(), %error, retry_in = ?backoff, "projector interrupted; retrying");
                    tokio::select! {
                        _ = cancel.cancelled() => return self.finish(Ok(())),
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                Err(error) => {
                    tracing::error!(projector = self.name(), %error, "projector stopped");
                    if let Err(record) =
                        checkpoints::record_failure(&self.pool, self.name(), &error.to_string())
                            .await
                    {
                        tracing::error!(projector = self.name(), error = %record, "could not record why the projector stopped");
                    }
                    return self.finish(Err(error));
                }
            }
        }
    }

    fn finish(&self, outcome: Result<(), Error>) -> Result<(), Error> {
        let state = match &outcome {
            Ok(()) => ProjectorState::Stopped(None),
            Err(error) => ProjectorState::Stopped(Some(error.to_string())),
        };
        self.states.set(self.name(), state);
        outcome
    }

    async fn apply_log(
        &mut self,
        lock: &mut ProjectorLock,
        cancel: &CancellationToken,
    ) -> Result<(), Error> {
        let CheckpointState {
            mut checkpoint,
            mut requests,
        } = checkpoints::load(&self.pool, self.name()).await?;
        if let Some(own) = self.sink_position().await? {
            if own != checkpoint {
                tracing::info!(projector = self.name(), row = %checkpoint, sink = %own, "checkpoint follows the sink's own position");
                checkpoints::follow_sink(&self.pool, self.name(), own).await?;
                checkpoint = own;
            }
        }
        let mut tail = LogTail::new(
            self.pool.clone(),
            self.wakeups.clone(),
            checkpoint,
            self.options.poll_interval,
        )
        .reading_payloads_of(self.projector.payloads());
        let mut batch_size = self.options.max_batch;
        let mut last_lock_check = Instant::now();
        loop {
            if cancel.is_cancelled() {
                return Ok(());
            }
            if requests.rebuild {
                self.rebuild().await?;
                tail.seek(Checkpoint::START);
                tracing::info!(
                    projector = self.name(),
                    "rebuilding from the start of the log"
                );
            }
            if requests.retry_parked {
                self.retry_parked().await?;
            }
            requests = Requests::default();
            if last_lock_check.elapsed() >= self.options.lock_check_interval {
                lock.check().await?;
                last_lock_check = Instant::now();
            }

            let batch = tail.read(batch_size as i64).await?;
            if batch.is_empty() {
                if !tail.wait(cancel).await || !self.gather(cancel).await {
                    return Ok(());
                }
                // Requests (rebuild, retry) may have been left while we were idle.
                let state = checkpoints::load(&self.pool, self.name()).await?;
                tail.seek(state.checkpoint);
                requests = state.requests;
                continue;
            }
            let checkpoint = tail.checkpoint();

            let started = Instant::now();
            match self.commit(checkpoint, &batch).await {
                Ok(asked) => {
                    requests = asked;
                    tail.seek(last_checkpoint(&batch, checkpoint));
                    let caught_up = batch.len() < batch_size / 4;
                    batch_size =
                        self.options
                            .next_batch_size(batch_size, batch.len(), started.elapsed());
                    if caught_up && !self.gather(cancel).await {
                        return Ok(());
                    }
                }
                Err(error) if error.is_statement_timeout() && batch.len() > 1 => {
                    batch_size = (batch.len() / 2).max(1);
                    tracing::warn!(
                        projector = self.name(),
                        batch_size,
                        "batch ran past the statement timeout; shrinking it"
                    );
                }
                Err(error) if error.is_transient() => return Err(error),
                Err(error) => {
                    tracing::warn!(projector = self.name(), %error, events = batch.len(), "batch failed; applying its events one by one to find the culprit");
                    // Should every event succeed alone, the batch was the problem
                    // (too many parameters, say): keep the next ones smaller.
                    batch_size = (batch.len() / 2).max(1);
                    tail.seek(self.isolate_failure(checkpoint, &batch, error).await?);
                }
            }
        }
    }

    /// The position a sink keeps itself, if it does.
    async fn sink_position(&self) -> Result<Option<Checkpoint>, Error> {
        match &self.projector {
            Projector::SideEffect(sink) => sink.position().await,
            Projector::Postgres(_) => Ok(None),
        }
    }

    /// Lets events gather for [`ProjectorOptions::gather`]; false when cancelled.
    async fn gather(&self, cancel: &CancellationToken) -> bool {
        if self.options.gather.is_zero() {
            return true;
        }
        tokio::select! {
            _ = cancel.cancelled() => false,
            _ = tokio::time::sleep(self.options.gather) => true,
        }
    }

    /// Applies `events` and moves the checkpoint past them: one transaction for a
    /// PostgreSQL projection, delivery then checkpoint for a side-effect sink.
    async fn commit(&self, from: Checkpoint, events: &[RecordedEvent]) -> Result<Requests, Error> {
        let Some(last) = events.last() else {
            return Ok(Requests::default());
        };
        match &self.projector {
            Projector::Postgres(projection) => {
                let mut tx = self.pool.begin().await?;
                sqlx::query("SELECT set_config('statement_timeout', $1, true)")
                    .bind(self.options.statement_timeout.as_millis().to_string())
                    .execute(&mut *tx)
                    .await?;
                projection.apply(&mut tx, events).await?;
                let requests = checkpoints::advance(
                    &mut *tx,
                    self.name(),
                    from,
                    last.checkpoint(),
                    events.len(),
                    last.recorded_at,
                )
                .await?;
                tx.commit().await?;
                Ok(requests)
            }
            Projector::SideEffect(sink) => {
                sink.deliver(events).await?;
                checkpoints::advance(
                    &self.pool,
                    self.name(),
                    from,
                    last.checkpoint(),
                    events.len(),
                    last.recorded_at,
                )
                .await
            }
        }
    }

    /// After a batch failed: applies its events one at a time, so the one that fails
    /// is known, then stops or parks it. Returns the new checkpoint.
    async fn isolate_failure(
        &self,
        mut checkpoint: Checkpoint,
        batch: &[RecordedEvent],
        batch_error: Error,
    ) -> Result<Checkpoint, Error> {
        if let [event] = batch {
            return self.fail_on(checkpoint, event, batch_error).await;
        }
        for event in batch {
            match self.commit(checkpoint, std::slice::from_ref(event)).await {
                Ok(_) => checkpoint = event.checkpoint(),
                Err(error) if error.is_transient() => return Err(error),
                Err(error) => return self.fail_on(checkpoint, event, error).await,
            }
        }
        Ok(checkpoint)
    }

    async fn fail_on(
        &self,
        checkpoint: Checkpoint,
        event: &RecordedEvent,
        error: Error,
    ) -> Result<Checkpoint, Error> {
        match self.on_failure {
            OnFailure::Stop => Err(Error::ProjectorStopped {
                projector: self.name().to_owned(),
                global_position: event.global_position,
                event_type: event.event_type.clone(),
                event_id: event.event_id,
                reason: error.to_string(),
            }),
            OnFailure::Park => {
                let mut tx = self.pool.begin().await?;
                parked::park(&mut *tx, self.name(), event, &error.to_string()).await?;
                checkpoints::advance(
                    &mut *tx,
                    self.name(),
                    checkpoint,
                    event.checkpoint(),
                    0,
                    event.recorded_at,
                )
                .await?;
                tx.commit().await?;
                tracing::warn!(
                    projector = self.name(),
                    global_position = event.global_position,
                    event_type = %event.event_type,
                    %error,
                    "event parked"
                );
                Ok(event.checkpoint())
            }
        }
    }

    async fn rebuild(&self) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        match &self.projector {
            Projector::Postgres(projection) => projection.reset(&mut tx).await?,
            // Redelivering everything is harmless to an idempotent sink, so forgetting
            // first and moving the checkpoint after is safe.
            Projector::SideEffect(sink) => sink.reset().await?,
        }
        checkpoints::restart(&mut tx, self.name()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Applies each unresolved parked event on its own, claiming it first so that no
    /// second instance applies it too; one that fails again stays parked with the
    /// new error.
    async fn retry_parked(&self) -> Result<(), Error> {
        // Cleared first: a request made while this retry runs is kept for the next.
        checkpoints::clear_retry_request(&self.pool, self.name()).await?;
        for event in parked::unresolved_events(&self.pool, self.name()).await? {
            let retried = match &self.projector {
                Projector::Postgres(projection) => {
                    let mut tx = self.pool.begin().await?;
                    if !parked::claim(&mut *tx, self.name(), event.global_position).await? {
                        continue;
                    }
                    match projection
                        .apply(&mut tx, std::slice::from_ref(&event))
                        .await
                    {
                        Ok(()) => tx.commit().await.map_err(Error::from),
                        Err(error) => Err(error),
                    }
                }
                Projector::SideEffect(sink) => {
                    match sink.deliver(std::slice::from_ref(&event)).await {
                        Ok(()) => parked::claim(&self.pool, self.name(), event.global_position)
                            .await
                            .map(|_| ()),
                        Err(error) => Err(error),
                    }
                }
            };
            match retried {
                Ok(()) => tracing::info!(
                    projector = self.name(),
                    global_position = event.global_position,
                    "parked event applied"
                ),
                Err(error) if error.is_transient() => return Err(error),
                Err(error) => {
                    parked::park(&self.pool, self.name(), &event, &error.to_string()).await?
                }
            }
        }
        Ok(())
    }
}

fn last_checkpoint(batch: &[RecordedEvent], otherwise: Checkpoint) -> Checkpoint {
    batch.last().map_or(otherwise, RecordedEvent::checkpoint)
}
