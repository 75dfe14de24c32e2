//! Rebuilding a PostgreSQL read model from the first event without taking the
//! live one down: the log is folded into copies of its tables (`<table>__rebuild`)
//! while the live projector goes on serving and writing the live tables, and the
//! copies then replace them in one short transaction, at exactly the live
//! projector's checkpoint. The live projector never stops: it goes on from its
//! checkpoint, on the new tables.
//!
//! What must stay true:
//! - When the copies are swapped in they hold exactly the log up to the live
//!   checkpoint. They are folded with a reader bounded by that checkpoint, and the
//!   last events are folded inside the swap transaction, after the live tables
//!   are locked and the checkpoint row is locked `FOR UPDATE`: the live projector
//!   cannot move between the last fold and the swap.
//! - The checkpoint row is never written here.
//! - Locks are taken in the live runner's order, tables first, then the checkpoint
//!   row: a live batch writes its tables before it moves its row, so the swap and
//!   a live batch can wait for each other but never deadlock. The shadows are
//!   locked before the live tables, and all before anything is folded, so that
//!   no lock wait can roll back a fold after the rebuild counted it.
//! - The live projection trusts a view it remembers only in the table it wrote
//!   it to (`DocumentProjection` compares the table's oid): after the swap, the
//!   rebuilt documents are what it folds onto, never the old ones it cached.
//! - Exclusive locks are held briefly. Waiting for them is bounded by
//!   `lock_timeout` (readers queue behind a waiting `ACCESS EXCLUSIVE` request);
//!   the catch-up under them by `swap_budget`, far below the live projector's
//!   statement timeout: a live batch blocked behind the swap must not time out.
//!   Either bound hit, the swap lets go and tries again later.
//! - A live statement blocked on a swapped table resolves the table's name again
//!   once the swap commits (PostgreSQL looks names up again after an invalidation,
//!   and re-analyses prepared statements): it writes to the new table.
//!
//! The previous tables are renamed `<table>__retired` in the swap and dropped
//! after it: the swap's exclusive locks then cover catalog updates only, not the
//! unlinking of a large table's files and the scan of shared buffers that a
//! `DROP` performs. A retired table left behind (a failed drop) is dropped by the
//! next rebuild.

use std::time::{Duration, Instant};

use sqlx::{Connection, PgConnection, PgExecutor, PgPool};

use super::checkpoints;
use super::table_copy::{run, shadow_name, LiveTable};
use super::PostgresProjection;
use crate::Error;
use eventlog::{read_batch_until, Checkpoint};

/// How a rebuild beside the live read model paces itself.
#[derive(Debug, Clone)]
pub struct RebuildOptions {
    /// Events folded per transaction while building.
    pub batch: i64,
    /// A round that had no more than this many events to fold ends the building:
    /// what the live projector applies meanwhile is folded in the swap.
    pub close_enough: u64,
    /// The longest the swap waits for its locks before it lets go and retries.
    pub lock_timeout: Duration,
    /// How many times the swap is tried before the rebuild gives up.
    pub swap_attempts: u32,
    /// The longest the swap folds under its locks; past it, it commits what it
    /// folded, lets the locks go, and builds another round first.
    pub swap_budget: Duration,
}

impl Default for RebuildOptions {
    fn default() -> Self {
        RebuildOptions {
            batch: 5000,
            close_enough: 2000,
            lock_timeout: Duration::from_secs(1),
            swap_attempts: 20,
            swap_budget: Duration::from_secs(1),
        }
    }
}

/// Where a rebuild stands, after every batch it folds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RebuildProgress {
    /// Events read from the log and applied so far.
    pub events: u64,
    pub reached: Checkpoint,
    /// The live projector's checkpoint the current round folds up to.
    pub target: Checkpoint,
}

/// What a finished rebuild did.
#[derive(Debug, Clone, PartialEq)]
pub struct RebuildReport {
    pub projector: String,
    pub tables: Vec<String>,
    /// Events read from the log and applied, whether or not the projection kept
    /// them (the carts read model passes over orders' events).
    pub events: u64,
    pub elapsed: Duration,
    /// The live checkpoint the new tables were swapped in at.
    pub swapped_at: Checkpoint,
    /// Rounds of building (each up to the live checkpoint of its start).
    pub rounds: u32,
    /// Swap transactions begun, the successful one included.
    pub swap_attempts: u32,
    /// Whether the previous tables are gone; if not, they stay as
    /// `<table>__retired` until the next rebuild drops them.
    pub retired_dropped: bool,
}

impl RebuildReport {
    pub fn events_per_second(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Rebuilds `projection`'s read model from the first event into shadow tables
/// while its live projector runs, then swaps them in at the live checkpoint.
/// `progress` hears of every batch folded.
pub async fn rebuild_beside(
    pool: &PgPool,
    projection: &dyn PostgresProjection,
    options: &RebuildOptions,
    progress: &(dyn Fn(RebuildProgress) + Send + Sync),
) -> Result<RebuildReport, Error> {
    let projector = projection.name().to_owned();
    let tables = projection.tables();
    let shadow = match projection.writing_to(&shadow_name) {
        Some(shadow) if !tables.is_empty() => shadow,
        _ => {
            return Err(Error::Rejected(format!(
                "{projector} cannot be rebuilt beside its live read model: it does not say which tables it writes"
            )))
        }
    };
    match checkpoints::load(pool, &projector).await {
        Ok(_) => {}
        Err(Error::UnknownProjector(_)) => {
            return Err(Error::Rejected(format!(
                "{projector} has never run against this database (it has no checkpoint row): \
                 there is no live read model to rebuild beside; starting its projector builds it from zero"
            )))
        }
        Err(error) => return Err(error),
    }
    let started = Instant::now();
    let mut live = Vec::with_capacity(tables.len());
    for table in &tables {
        live.push(LiveTable::inspect(pool, table).await?);
    }
    // Two rebuilds of one read model would drop each other's shadow tables.
    let mut guard = pool.acquire().await?;
    let lock_key = format!("commerce.rebuild:{projector}");
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtextextended($1, 0))")
        .bind(&lock_key)
        .fetch_one(&mut *guard)
        .await?;
    if !locked {
        return Err(Error::Rejected(format!(
            "a rebuild of {projector} is already running"
        )));
    }
    let outcome = Rebuild {
        pool,
        projector: &projector,
        shadow: shadow.as_ref(),
        live: &live,
        options,
        progress,
        events: 0,
        reached: Checkpoint::START,
        server_started: None,
    }
    .run()
    .await;
    // Cleaned up while still holding the lock: a rebuild starting in between
    // would otherwise have its new shadow tables dropped under it.
    let result = match outcome {
        Ok((swapped_at, rounds, swap_attempts, events)) => {
            let mut retired_dropped = true;
            for table in &live {
                if let Err(error) = table.drop_retired(pool).await {
                    tracing::warn!(table = %table.name, %error, "could not drop the retired table; the next rebuild will");
                    retired_dropped = false;
                }
            }
            Ok(RebuildReport {
                projector,
                tables,
                events,
                elapsed: started.elapsed(),
                swapped_at,
                rounds,
                swap_attempts,
                retired_dropped,
            })
        }
        Err(error) => {
            // Nothing can resume them: a rebuild starts from zero.
            for table in &live {
                if let Err(cleanup) = table.drop_shadow(pool).await {
                    tracing::warn!(table = %table.name, error = %cleanup, "could not drop the shadow table; the next rebuild will");
                }
            }
            Err(error)
        }
    };
    let unlocked = sqlx::query("SELECT pg_advisory_unlock(hashtextextended($1, 0))")
        .bind(&lock_key)
        .execute(&mut *guard)
        .await;
    if unlocked.is_err() {
        // The lock must not outlive the rebuild in a pooled connection.
        guard.detach();
    }
    result
}

/// One rebuild in progress.
struct Rebuild<'a> {
    pool: &'a PgPool,
    projector: &'a str,
    shadow: &'a dyn PostgresProjection,
    live: &'a [LiveTable],
    options: &'a RebuildOptions,
    progress: &'a (dyn Fn(RebuildProgress) + Send + Sync),
    events: u64,
    /// Where the shadow tables stand, committed.
    reached: Checkpoint,
    /// When the server started, as the first round saw it. The shadow's batches
    /// commit asynchronously: a server that restarted since may have lost the
    /// last of them, and `reached` would then claim rows that are not there.
    server_started: Option<chrono::DateTime<chrono::Utc>>,
}

/// How one swap transaction ended.
enum Swap {
    Done(Checkpoint),
    /// The locks were not granted within `lock_timeout`.
    LocksBusy,
    /// The catch-up ran past `swap_budget`; what it folded is committed.
    FellBehind,
}

impl Rebuild<'_> {
    /// `(swapped at, rounds, swap attempts, events)`.
    async fn run(mut self) -> Result<(Checkpoint, u32, u32, u64), Error> {
        self.server_started = Some(server_started(self.pool).await?);
        for table in self.live {
            table.create_shadow(self.pool).await?;
        }
        let mut rounds = 0;
        let mut secondary_indexes = false;
        loop {
            let target = self.live_position().await?;
            let before = self.events;
            self.fold_round(target).await?;
            rounds += 1;
            tracing::info!(projector = self.projector, round = rounds, events = self.events - before, reached = %self.reached, "rebuild round folded");
            if !secondary_indexes {
                // Built once the bulk is in: faster than maintaining them row by row,
                // and the upserts need only the unique ones.
                for table in self.live {
                    table.create_secondary_indexes(self.pool).await?;
                }
                secondary_indexes = true;
                continue;
            }
            if self.events - before <= self.options.close_enough {
                break;
            }
        }
        for table in self.live {
            // The new tables serve readers the moment they are swapped in: with
            // statistics, not the planner's guesses.
            run(
                self.pool,
                &format!("ANALYZE {}", table.qualified(&table.shadow)),
            )
            .await?;
        }
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self.swap().await? {
                Swap::Done(at) => return Ok((at, rounds, attempts, self.events)),
                _ if attempts >= self.options.swap_attempts => {
                    return Err(Error::Rejected(format!(
                        "{}: the shadow tables could not be swapped in after {attempts} attempts: the live tables stayed locked longer than {:?} or the live projector kept moving faster than the swap could follow",
                        self.projector, self.options.lock_timeout
                    )))
                }
                Swap::LocksBusy => {
                    tracing::info!(projector = self.projector, attempt = attempts, "live tables busy; the swap waits and tries again");
                    tokio::time::sleep(self.options.lock_timeout / 2 * attempts.min(4)).await;
                }
                Swap::FellBehind => {
                    rounds += 1;
                    let target = self.live_position().await?;
                    self.fold_round(target).await?;
                }
            }
        }
    }

    async fn live_position(&self) -> Result<Checkpoint, Error> {
        let position = checkpoints::load(self.pool, self.projector)
            .await?
            .checkpoint;
        self.check_not_behind(position)?;
        Ok(position)
    }

    /// A live checkpoint behind the shadow's: the live projector was rebuilt from
    /// zero meanwhile, and the shadow can no longer meet it.
    fn check_not_behind(&self, live: Checkpoint) -> Result<(), Error> {
        if live < self.reached {
            return Err(Error::Rejected(format!(
                "{}: the live checkpoint moved back from {} to {live} (a rebuild from zero?) while the shadow tables were built; nothing was swapped",
                self.projector, self.reached
            )));
        }
        Ok(())
    }

    /// Folds the log into the shadow tables up to `target`, a transaction a batch.
    async fn fold_round(&mut self, target: Checkpoint) -> Result<(), Error> {
        let mut connection = self.pool.acquire().await?;
        while self.reached < target {
            let mut tx = connection.begin().await?;
            let folded = self.fold_batch(&mut tx, target, self.options.batch).await?;
            tx.commit().await?;
            if folded.is_none() {
                break;
            }
        }
        Ok(())
    }

    /// Folds up to `limit` events after `reached`, at most to `target`, in `tx`;
    /// `None` once nothing is left. Moves `reached` as if `tx` commits.
    async fn fold_batch(
        &mut self,
        tx: &mut PgConnection,
        target: Checkpoint,
        limit: i64,
    ) -> Result<Option<usize>, Error> {
        let payloads = self.shadow.payloads();
        let mut events =
            read_batch_until(&mut *tx, self.reached, target, limit, payloads.as_ref()).await?;
        eventlog::personal::unseal(&mut *tx, &mut events)
            .await
            .map_err(eventlog::Error::from)?;
        let Some(last) = events.last() else {
            // Every event up to a checkpoint a reader reached is committed: an
            // empty answer means the target is reached.
            self.reached = target;
            return Ok(None);
        };
        self.shadow.apply(&mut *tx, &events).await?;
        self.reached = last.checkpoint();
        self.events += events.len() as u64;
        (self.progress)(RebuildProgress {
            events: self.events,
            reached: self.reached,
            target,
        });
        Ok(Some(events.len()))
    }

    /// Locks the live tables, then the checkpoint row; folds what the live
    /// projector applied since the last round; renames. See the module's notes.
    async fn swap(&mut self) -> Result<Swap, Error> {
        let mut connection = self.pool.acquire().await?;
        let mut tx = connection.begin().await?;
        run(
            &mut *tx,
            &format!(
                "SET LOCAL lock_timeout = {}",
                self.options.lock_timeout.as_millis().max(1)
            ),
        )
        .await?;
        // The shadows first (only an autovacuum may hold them), then the live
        // tables, then the checkpoint row: once all are held, nothing below can
        // wait for a lock, so a fold inside this transaction is never rolled
        // back by a lock timeout after `reached` has moved.
        let tables: Vec<String> = self
            .live
            .iter()
            .map(|table| table.qualified(&table.shadow))
            .chain(self.live.iter().map(|table| table.qualified(&table.name)))
            .collect();
        let locked = async {
            run(
                &mut *tx,
                &format!("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE", tables.join(", ")),
            )
            .await?;
            checkpoints::lock_position(&mut tx, self.projector).await
        }
        .await;
        let live = match locked {
            Ok(live) => live,
            Err(Error::Database(sqlx::Error::Database(error)))
                if error.code().as_deref() == Some(LOCK_NOT_AVAILABLE) =>
            {
                return Ok(Swap::LocksBusy)
            }
            Err(error) => return Err(error),
        };
        if Some(server_started(&mut *tx).await?) != self.server_started {
            return Err(Error::Rejected(format!(
                "{}: the PostgreSQL server restarted during the rebuild, and the shadow \
                 tables may have lost their last batches; run the rebuild again",
                self.projector
            )));
        }
        self.check_not_behind(live)?;
        let started = Instant::now();
        while self.reached < live {
            if started.elapsed() > self.options.swap_budget {
                // Commits the shadow rows folded so far; the live tables are untouched.
                tx.commit().await?;
                tracing::info!(projector = self.projector, reached = %self.reached, live = %live, "the live projector is too far ahead to swap now; building another round");
                return Ok(Swap::FellBehind);
            }
            if self
                .fold_batch(&mut tx, live, self.options.batch.min(SWAP_BATCH))
                .await?
                .is_none()
            {
                break;
            }
        }
        for table in self.live {
            for statement in table.swap_statements() {
                run(&mut *tx, &statement).await?;
            }
        }
        // The shadow's batches commit asynchronously; this one must be durable
        // before it is reported done.
        run(&mut *tx, "SET LOCAL synchronous_commit = on").await?;
        tx.commit().await?;
        tracing::info!(projector = self.projector, at = %live, "shadow tables swapped in");
        Ok(Swap::Done(live))
    }
}

async fn server_started<'e>(
    executor: impl PgExecutor<'e>,
) -> Result<chrono::DateTime<chrono::Utc>, Error> {
    Ok(sqlx::query_scalar("SELECT pg_postmaster_start_time()")
        .fetch_one(executor)
        .await?)
}

/// SQLSTATE `lock_not_available`: `lock_timeout` ran out.
const LOCK_NOT_AVAILABLE: &str = "55P03";

/// Events folded per statement inside the swap, so that its time budget is
/// checked often.
const SWAP_BATCH: i64 = 1000;

#[cfg(test)]
mod tests {
    use super::*;

    /// Compiles only while a rebuild's future is `Send`: a server may spawn one.
    #[allow(dead_code)]
    fn rebuilds_can_be_spawned(pool: PgPool) {
        let followed = pool.clone();
        tokio::spawn(async move {
            let projection = crate::read_models::carts::CartsProjection::new();
            rebuild_beside(&pool, &projection, &RebuildOptions::default(), &|_| {}).await
        });
        tokio::spawn(async move {
            let options = super::super::FollowOptions::default();
            super::super::request_and_follow_rebuild(&followed, "search", &options, &|_| {}).await
        });
    }
}
