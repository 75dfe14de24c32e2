//! Following the log as it grows: read what is there, then wait to be woken (or
//! for the next poll) and read again.

use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::integrity::HashedEvent;
use super::query::{read_page, EventFilter};
use super::{read_batch_of, Checkpoint, PayloadsOf, RecordedEvent, WakeupReceiver};
use crate::Error;

/// The first wait after a wakeup or a batch. A wakeup that finds nothing to read
/// means events are held back behind an older open transaction, which may end
/// without notifying anyone: look again soon, then less and less often, up to the
/// poll interval.
const HELD_BACK_RETRY: Duration = Duration::from_millis(5);

/// A reader of the live log from a checkpoint, for projectors and tools alike.
pub struct LogTail {
    pool: PgPool,
    wakeups: WakeupReceiver,
    checkpoint: Checkpoint,
    poll_interval: Duration,
    next_wait: Duration,
    /// `None`: every payload.
    payloads: Option<PayloadsOf>,
}

impl LogTail {
    pub fn new(
        pool: PgPool,
        wakeups: WakeupReceiver,
        from: Checkpoint,
        poll_interval: Duration,
    ) -> Self {
        LogTail {
            pool,
            wakeups,
            checkpoint: from,
            poll_interval,
            next_wait: HELD_BACK_RETRY,
            payloads: None,
        }
    }

    /// This reader with only the payloads of `payloads` (all of them for `None`).
    pub fn reading_payloads_of(mut self, payloads: Option<PayloadsOf>) -> Self {
        self.payloads = payloads;
        self
    }

    pub fn checkpoint(&self) -> Checkpoint {
        self.checkpoint
    }

    /// Moves the reader, after its user handled a batch or was told to start over.
    pub fn seek(&mut self, checkpoint: Checkpoint) {
        self.checkpoint = checkpoint;
    }

    /// Up to `limit` events after the checkpoint, without waiting. The checkpoint
    /// stays where it is until [`seek`](Self::seek): the caller decides when a batch
    /// counts as handled.
    pub async fn read(&mut self, limit: i64) -> Result<Vec<RecordedEvent>, Error> {
        self.wakeups.clear();
        let mut batch =
            read_batch_of(&self.pool, self.checkpoint, limit, self.payloads.as_ref()).await?;
        crate::personal::unseal(&self.pool, &mut batch).await?;
        if !batch.is_empty() {
            self.next_wait = HELD_BACK_RETRY;
        }
        Ok(batch)
    }

    /// [`read`](Self::read), with each event's stored hash: for readers that show
    /// the log to people (the audit stream, `commerce-replay tail`). Personal
    /// fields are opened, as for every reader; the hash covers them sealed.
    pub async fn read_hashed(&mut self, limit: i64) -> Result<Vec<HashedEvent>, Error> {
        self.wakeups.clear();
        let (mut batch, _) =
            read_page(&self.pool, &EventFilter::default(), self.checkpoint, limit).await?;
        crate::personal::unseal_hashed(&self.pool, &mut batch).await?;
        if !batch.is_empty() {
            self.next_wait = HELD_BACK_RETRY;
        }
        Ok(batch)
    }

    /// Waits for a wakeup or the next poll; `false` when `cancel` fired.
    pub async fn wait(&mut self, cancel: &CancellationToken) -> bool {
        let woken = tokio::select! {
            _ = cancel.cancelled() => return false,
            woken = self.wakeups.wait(self.next_wait.min(self.poll_interval)) => woken,
        };
        self.next_wait = if woken {
            HELD_BACK_RETRY
        } else {
            (self.next_wait * 2).min(self.poll_interval)
        };
        true
    }

    /// The next non-empty batch, waiting as long as it takes, with the checkpoint
    /// moved past it; `None` when `cancel` fired.
    pub async fn next_batch(
        &mut self,
        limit: i64,
        cancel: &CancellationToken,
    ) -> Result<Option<Vec<RecordedEvent>>, Error> {
        loop {
            if cancel.is_cancelled() {
                return Ok(None);
            }
            let batch = self.read(limit).await?;
            if let Some(last) = batch.last() {
                self.checkpoint = last.checkpoint();
                return Ok(Some(batch));
            }
            if !self.wait(cancel).await {
                return Ok(None);
            }
        }
    }
}
