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

use sha2::{Digest, Sha256};
use sqlx::{Connection, FromRow, PgConnection, PgExecutor, PgPool};

use super::checkpoints;
use super::PostgresProjection;
use eventlog::{read_batch_until, Checkpoint};
use crate::Error;

/// The suffix of a table or index being built beside the live one.
pub const SHADOW_SUFFIX: &str = "__rebuild";
/// The suffix of a table or index swapped out, until it is dropped.
pub const RETIRED_SUFFIX: &str = "__retired";

/// PostgreSQL's limit on names (`NAMEDATALEN - 1`); longer ones are truncated
/// silently, which would make two names one.
const MAX_NAME_BYTES: usize = 63;

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

/// The name of `name`'s copy with `suffix`, within PostgreSQL's 63 bytes: a name
/// too long keeps its start and a hash of the whole, so two long names that
/// share a start do not meet.
pub fn temporary_name(name: &str, suffix: &str) -> String {
    if name.len() + suffix.len() <= MAX_NAME_BYTES {
        return format!("{name}{suffix}");
    }
    let digest = hex::encode(&Sha256::digest(name.as_bytes())[..4]);
    let mut keep = MAX_NAME_BYTES - suffix.len() - digest.len() - 1;
    while !name.is_char_boundary(keep) {
        keep -= 1;
    }
    format!("{}_{digest}{suffix}", &name[..keep])
}

/// The table a rebuild of `table` fills beside it.
pub fn shadow_name(table: &str) -> String {
    temporary_name(table, SHADOW_SUFFIX)
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
        let events = read_batch_until(&mut *tx, self.reached, target, limit).await?;
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

/// A live table as the catalog describes it, with the names of its copies.
#[derive(Debug, Clone)]
struct LiveTable {
    schema: String,
    name: String,
    shadow: String,
    retired: String,
    /// `WITH (…)` storage parameters (`fillfactor = '80'`), empty if none.
    storage: String,
    /// The owner, when it is not the role running the rebuild.
    other_owner: Option<String>,
    /// `GRANT` statements for the shadow, repeating the live table's.
    grants: Vec<String>,
    indexes: Vec<LiveIndex>,
}

#[derive(Debug, Clone, FromRow)]
struct LiveIndex {
    name: String,
    /// `pg_get_indexdef`: `CREATE [UNIQUE] INDEX name ON schema.table USING …`.
    definition: String,
    /// The definition's start up to `USING`, as PostgreSQL prints it.
    prefix: String,
    is_unique: bool,
    /// `p` (primary key), `u` (unique) or `x` (exclusion) when a constraint
    /// owns the index.
    constraint_type: Option<String>,
}

#[derive(Debug, FromRow)]
struct TableFacts {
    schema: String,
    name: String,
    storage: Option<String>,
    other_owner: Option<String>,
    /// What would be lost or left pointing at the retired table by a swap.
    obstacles: Vec<String>,
}

impl LiveTable {
    /// Reads what the copy must repeat, and refuses tables a copy cannot stand
    /// in for.
    async fn inspect(pool: &PgPool, table: &str) -> Result<Self, Error> {
        let facts: Option<TableFacts> = sqlx::query_as(
            "SELECT n.nspname AS schema, c.relname AS name,
                    (SELECT string_agg(format('%s = %L', split_part(option, '=', 1),
                                              substr(option, strpos(option, '=') + 1)), ', ')
                       FROM unnest(c.reloptions) AS option) AS storage,
                    CASE WHEN c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = current_user)
                         THEN pg_get_userbyid(c.relowner) END AS other_owner,
                    array_remove(ARRAY[
                      CASE WHEN c.relkind <> 'r' THEN 'it is not a plain table' END,
                      CASE WHEN c.relpersistence <> 'p' THEN 'it is unlogged or temporary' END,
                      CASE WHEN EXISTS (SELECT 1 FROM pg_inherits i
                                         WHERE i.inhrelid = c.oid OR i.inhparent = c.oid)
                           THEN 'it takes part in inheritance or partitioning' END,
                      CASE WHEN EXISTS (SELECT 1 FROM pg_trigger t
                                         WHERE t.tgrelid = c.oid AND NOT t.tgisinternal)
                           THEN 'it has triggers' END,
                      CASE WHEN EXISTS (SELECT 1 FROM pg_constraint k WHERE k.contype = 'f'
                                           AND (k.conrelid = c.oid OR k.confrelid = c.oid))
                           THEN 'it has or is referenced by foreign keys' END,
                      CASE WHEN c.relrowsecurity OR EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid)
                           THEN 'it has row-level security' END,
                      CASE WHEN EXISTS (SELECT 1 FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
                                         WHERE d.classid = 'pg_rewrite'::regclass
                                           AND d.refobjid = c.oid AND r.ev_class <> c.oid)
                           THEN 'views depend on it' END,
                      CASE WHEN EXISTS (SELECT 1 FROM pg_publication_rel p WHERE p.prrelid = c.oid)
                           THEN 'it is in a publication' END,
                      CASE WHEN EXISTS (SELECT 1 FROM pg_constraint k
                                         WHERE k.conrelid = c.oid AND k.contype = 'x')
                           THEN 'it has exclusion constraints' END
                    ], NULL) AS obstacles
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE c.oid = to_regclass($1)",
        )
        .bind(table)
        .fetch_optional(pool)
        .await?;
        let Some(facts) = facts else {
            return Err(Error::Rejected(format!("table {table} does not exist")));
        };
        if facts.name != table {
            return Err(Error::Rejected(format!(
                "table {table:?}: a rebuild beside needs tables named by a plain identifier"
            )));
        }
        if !facts.obstacles.is_empty() {
            return Err(Error::Rejected(format!(
                "table {table} cannot be swapped for a copy: {}",
                facts.obstacles.join(", ")
            )));
        }
        let shadow = shadow_name(table);
        let grants: Vec<String> = sqlx::query_scalar(
            "SELECT format('GRANT %s ON %I.%I TO %s%s', a.privilege_type, n.nspname, $2::text,
                           CASE WHEN a.grantee = 0 THEN 'PUBLIC'
                                ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
                           CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
                    aclexplode(c.relacl) AS a
              WHERE c.oid = to_regclass($1) AND a.grantee <> c.relowner
              ORDER BY 1",
        )
        .bind(table)
        .bind(&shadow)
        .fetch_all(pool)
        .await?;
        let indexes: Vec<LiveIndex> = sqlx::query_as(
            "SELECT i.relname AS name, pg_get_indexdef(x.indexrelid) AS definition,
                    format('CREATE %sINDEX %I ON %I.%I ',
                           CASE WHEN x.indisunique THEN 'UNIQUE ' ELSE '' END,
                           i.relname, n.nspname, c.relname) AS prefix,
                    x.indisunique AS is_unique, k.contype::text AS constraint_type
               FROM pg_index x
               JOIN pg_class i ON i.oid = x.indexrelid
               JOIN pg_class c ON c.oid = x.indrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
               LEFT JOIN pg_constraint k ON k.conindid = x.indexrelid AND k.conrelid = x.indrelid
              WHERE x.indrelid = to_regclass($1)
              ORDER BY x.indisprimary DESC, i.relname",
        )
        .bind(table)
        .fetch_all(pool)
        .await?;
        for index in &indexes {
            if !index.definition.starts_with(&index.prefix) {
                return Err(Error::Rejected(format!(
                    "index {}: cannot read its definition {:?}",
                    index.name, index.definition
                )));
            }
        }
        Ok(LiveTable {
            schema: facts.schema,
            name: facts.name,
            retired: temporary_name(table, RETIRED_SUFFIX),
            shadow,
            storage: facts.storage.unwrap_or_default(),
            other_owner: facts.other_owner,
            grants,
            indexes,
        })
    }

    fn qualified(&self, name: &str) -> String {
        format!("{}.{}", quote(&self.schema), quote(name))
    }

    /// The empty copy (any leftover of a crashed rebuild dropped first) with the
    /// live table's columns, defaults, checks, storage parameters, owner, grants
    /// and unique indexes; the other indexes come after the bulk of the fold.
    async fn create_shadow(&self, pool: &PgPool) -> Result<(), Error> {
        let shadow = self.qualified(&self.shadow);
        let mut statements = vec![
            format!("DROP TABLE IF EXISTS {shadow}"),
            format!("DROP TABLE IF EXISTS {}", self.qualified(&self.retired)),
            format!(
                "CREATE TABLE {shadow} (LIKE {} INCLUDING ALL EXCLUDING INDEXES){}",
                self.qualified(&self.name),
                if self.storage.is_empty() {
                    String::new()
                } else {
                    format!(" WITH ({})", self.storage)
                }
            ),
        ];
        if let Some(owner) = &self.other_owner {
            statements.push(format!("ALTER TABLE {shadow} OWNER TO {}", quote(owner)));
        }
        statements.extend(self.grants.iter().cloned());
        for index in self.indexes.iter().filter(|index| index.is_unique) {
            statements.extend(self.create_index(index));
        }
        let mut tx = pool.begin().await?;
        for statement in statements {
            run(&mut *tx, &statement).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// `CONCURRENTLY`, although nothing else writes the shadow: a plain `CREATE
    /// INDEX` holds a transaction id for the whole build, and while it does,
    /// every reader of the log in the cluster waits (its horizon is the oldest
    /// running transaction). A concurrent build takes none.
    async fn create_secondary_indexes(&self, pool: &PgPool) -> Result<(), Error> {
        for index in self.indexes.iter().filter(|index| !index.is_unique) {
            for statement in self.create_index(index) {
                let statement =
                    statement.replacen("CREATE INDEX ", "CREATE INDEX CONCURRENTLY ", 1);
                run(pool, &statement).await?;
            }
        }
        Ok(())
    }

    /// The live index's definition on the shadow, under its shadow name; a
    /// primary key or unique constraint made from it.
    fn create_index(&self, index: &LiveIndex) -> Vec<String> {
        let shadow_index = temporary_name(&index.name, SHADOW_SUFFIX);
        let body = &index.definition[index.prefix.len()..];
        let mut statements = vec![format!(
            "CREATE {}INDEX {} ON {} {body}",
            if index.is_unique { "UNIQUE " } else { "" },
            quote(&shadow_index),
            self.qualified(&self.shadow),
        )];
        let constraint = match index.constraint_type.as_deref() {
            Some("p") => Some("PRIMARY KEY"),
            Some("u") => Some("UNIQUE"),
            _ => None,
        };
        if let Some(constraint) = constraint {
            // The constraint takes the index's name; renaming the index in the swap
            // renames the constraint with it.
            statements.push(format!(
                "ALTER TABLE {} ADD CONSTRAINT {name} {constraint} USING INDEX {name}",
                self.qualified(&self.shadow),
                name = quote(&shadow_index),
            ));
        }
        statements
    }

    /// Live out to `__retired`, shadow in under the live names.
    fn swap_statements(&self) -> Vec<String> {
        let mut statements = self.renames("", RETIRED_SUFFIX);
        statements.extend(self.renames(SHADOW_SUFFIX, ""));
        statements
    }

    /// The table and its indexes renamed from their names with suffix `from` to
    /// their names with suffix `to` (`""`: the live names).
    fn renames(&self, from: &str, to: &str) -> Vec<String> {
        let named = |base: &str, suffix: &str| match suffix {
            "" => base.to_owned(),
            suffix => temporary_name(base, suffix),
        };
        std::iter::once(("TABLE", &self.name))
            .chain(self.indexes.iter().map(|index| ("INDEX", &index.name)))
            .map(|(kind, base)| {
                format!(
                    "ALTER {kind} {} RENAME TO {}",
                    self.qualified(&named(base, from)),
                    quote(&named(base, to))
                )
            })
            .collect()
    }

    /// Waits for live statements that locked the old table before the swap (a
    /// blocked batch keeps its lock until it commits), then drops it.
    async fn drop_retired(&self, pool: &PgPool) -> Result<(), Error> {
        let mut tx = pool.begin().await?;
        run(&mut *tx, "SET LOCAL lock_timeout = '30s'").await?;
        run(
            &mut *tx,
            &format!("DROP TABLE IF EXISTS {}", self.qualified(&self.retired)),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn drop_shadow(&self, pool: &PgPool) -> Result<(), Error> {
        run(
            pool,
            &format!("DROP TABLE IF EXISTS {}", self.qualified(&self.shadow)),
        )
        .await?;
        Ok(())
    }
}

/// Runs a statement built here (DDL, a setting): once, so not worth a cached
/// prepared statement. (`sqlx::raw_sql` would do, but its future is not `Send`
/// for every lifetime, which makes a rebuild impossible to spawn.)
async fn run<'e>(executor: impl PgExecutor<'e>, sql: &str) -> Result<(), Error> {
    sqlx::query(sql).persistent(false).execute(executor).await?;
    Ok(())
}

/// `name` as a quoted SQL identifier.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_fit_postgresql_s_limit_and_stay_apart() {
        assert_eq!(shadow_name("read_carts"), "read_carts__rebuild");
        let long = "r".repeat(60);
        let other = format!("{}x", "r".repeat(59));
        for name in [&long, &other] {
            let shadow = shadow_name(name);
            assert!(shadow.len() <= 63, "{shadow}");
            assert!(shadow.ends_with(SHADOW_SUFFIX), "{shadow}");
        }
        assert_ne!(shadow_name(&long), shadow_name(&other));
        assert_eq!(
            shadow_name(&long),
            shadow_name(&long),
            "found again by a later run"
        );
        let multibyte = "é".repeat(30);
        assert!(temporary_name(&multibyte, RETIRED_SUFFIX).len() <= 63);
    }

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

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote("read_carts"), "\"read_carts\"");
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
    }
}
