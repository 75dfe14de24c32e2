//! Waking tailing readers when events are appended.
//!
//! Three paths, from fastest to slowest: a writer in this process calls
//! [`LogWakeups::appended`], which wakes local readers at once and sends one
//! coalesced `NOTIFY events` for the other processes; a `LISTEN events` connection
//! wakes local readers on notifications from anywhere (including the insert trigger,
//! for writers that do not opt out of it); and readers poll on a timer, which also
//! covers events held back behind an older transaction that committed silently.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::{watch, Notify};
use tokio_util::sync::CancellationToken;

/// The channel the insert trigger and the coalesced notifier both use.
pub const EVENTS_CHANNEL: &str = "events";

/// How long a burst of local appends is gathered into one cross-process NOTIFY.
/// NOTIFY serializes the commits of notifying transactions cluster-wide, so one per
/// window instead of one per command keeps writes fast.
const NOTIFY_COALESCE_WINDOW: Duration = Duration::from_millis(5);

/// A shared "something was appended" signal for every tailing reader of a process.
#[derive(Clone)]
pub struct LogWakeups {
    generation: Arc<watch::Sender<u64>>,
    notify_others: Arc<Notify>,
}

/// One reader's view of [`LogWakeups`].
#[derive(Clone)]
pub struct WakeupReceiver {
    generation: watch::Receiver<u64>,
}

impl LogWakeups {
    /// Wakeups that only this process's writers trigger: for tests and tools that
    /// poll. [`LogWakeups::start`] adds LISTEN and the coalesced NOTIFY.
    pub fn local() -> Self {
        let (generation, _) = watch::channel(0);
        LogWakeups {
            generation: Arc::new(generation),
            notify_others: Arc::new(Notify::new()),
        }
    }

    /// Starts listening on [`EVENTS_CHANNEL`] and the coalescing notifier; both stop
    /// with `cancel`.
    pub fn start(pool: PgPool, cancel: CancellationToken) -> Self {
        let wakeups = LogWakeups::local();
        tokio::spawn(listen(pool.clone(), wakeups.clone(), cancel.clone()));
        tokio::spawn(notify_other_processes(pool, wakeups.clone(), cancel));
        wakeups
    }

    pub fn subscribe(&self) -> WakeupReceiver {
        WakeupReceiver {
            generation: self.generation.subscribe(),
        }
    }

    /// Wakes every local reader now.
    pub fn wake(&self) {
        self.generation.send_modify(|g| *g = g.wrapping_add(1));
    }

    /// Called by a writer of this process after it committed events.
    pub fn appended(&self) {
        self.wake();
        self.notify_others.notify_one();
    }
}

impl WakeupReceiver {
    /// Waits until woken (`true`) or until `timeout` passes (`false`): the polling
    /// fallback.
    pub async fn wait(&mut self, timeout: Duration) -> bool {
        let woken = match tokio::time::timeout(timeout, self.generation.changed()).await {
            Ok(Ok(())) => true,
            // Every sender is gone: no wakeup will come, so this is polling only.
            Ok(Err(_)) => {
                tokio::time::sleep(timeout).await;
                false
            }
            Err(_) => false,
        };
        self.generation.mark_unchanged();
        woken
    }

    /// Forgets wakeups that arrived before now (the reader is about to read anyway).
    pub fn clear(&mut self) {
        self.generation.mark_unchanged();
    }
}

async fn listen(pool: PgPool, wakeups: LogWakeups, cancel: CancellationToken) {
    let mut backoff = Duration::from_millis(100);
    while !cancel.is_cancelled() {
        let mut listener = match connect_listener(&pool).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, "cannot LISTEN for new events; polling only until it can");
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
                continue;
            }
        };
        backoff = Duration::from_millis(100);
        // Anything appended while we were not listening is found by this read.
        wakeups.wake();
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                received = listener.try_recv() => match received {
                    Ok(Some(_)) => wakeups.wake(),
                    // The connection dropped: notifications may have been lost.
                    Ok(None) => wakeups.wake(),
                    Err(error) => {
                        tracing::warn!(%error, "LISTEN connection failed; reconnecting");
                        break;
                    }
                },
            }
        }
    }
}

async fn connect_listener(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(EVENTS_CHANNEL).await?;
    Ok(listener)
}

async fn notify_other_processes(pool: PgPool, wakeups: LogWakeups, cancel: CancellationToken) {
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = wakeups.notify_others.notified() => {}
        }
        tokio::time::sleep(NOTIFY_COALESCE_WINDOW).await;
        if let Err(error) = sqlx::query("SELECT pg_notify($1, '')")
            .bind(EVENTS_CHANNEL)
            .execute(&pool)
            .await
        {
            // Other processes still poll; this only costs them latency.
            tracing::warn!(%error, "cannot NOTIFY other processes of new events");
        }
    }
}
