//! `make bench`: the event store and the log reader, each measured beside raw
//! PostgreSQL doing the same work on the same machine in the same run, so the
//! ratios mean something on any machine.
//!
//! - appends: C concurrent writers through postgres-es (`persist`, and the whole
//!   cqrs-es command path, which loads the aggregate first), through the API's own
//!   command path (`commands::execute`: cached aggregates, group commit), and over
//!   HTTP (the real router, `add-item` at catalog prices, with the projectors in
//!   another process and in the same one) against plain single-row INSERT
//!   transactions of the same rows into a table with no triggers.
//! - log reads: the gap-free reader against one `SELECT ... ORDER BY
//!   global_position` and one `COPY (...) TO STDOUT` of the same columns.
//! - rebuild: the event_counts projector applying the whole log from zero, and the
//!   carts read model and the Redis hot views rebuilt from a log of real cart
//!   events in a database of its own.
//! - `commerce-replay` (the release binary, as a child process): export in each
//!   format and the hash-chain check against the same COPY, and `rebuild` beside
//!   the live read model.
//! - Kafka, when KAFKA_BROKERS names a broker (`make bench` starts one): the feed
//!   publishing that cart log from zero, every message acknowledged.

mod bench_aggregate;
mod domain_log;
mod http_commands;
mod kafka_feed;
mod redis_views;
mod replay_cli;
mod search;

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use commands::event_store::{cqrs, writer_options};
use cqrs_es::persist::{PersistedEventRepository, SerializedEvent};
use eventlog::{read_batch, Checkpoint, LogWakeups};
use futures::TryStreamExt;
use postgres_es::PostgresEventRepository;
use projections::read_models::event_counts::EventCountsProjection;
use projections::runtime::{
    projector_lags, OnFailure, Projector, ProjectorOptions, ProjectorRuntime,
};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Executor, PgPool};
use tokio_util::sync::CancellationToken;

use bench_aggregate::{sample_metadata, sample_payload, BenchCart};

#[derive(Debug, Parser)]
#[command(name = "commerce-bench")]
struct Args {
    /// Products of the generated catalog the search is measured on.
    #[arg(long, default_value_t = 100_000)]
    search_products: i32,
    /// A PostgreSQL server URL without a database; `--database` is created on it
    /// afresh for every run.
    #[arg(
        long,
        env = "DATABASE_SERVER",
        default_value = "postgres://postgres@127.0.0.1:5432"
    )]
    server_url: String,
    /// Events appended by each write benchmark.
    #[arg(long, default_value_t = 20_000)]
    events: usize,
    /// Concurrent writers (and connections).
    #[arg(long, default_value_t = 32)]
    writers: usize,
    /// Size of the log the read benchmarks read.
    #[arg(long, default_value_t = 300_000)]
    log_events: usize,
    /// The database created afresh for the run (and `<name>_carts` beside it):
    /// another name lets runs of several checkouts share a server.
    #[arg(long, default_value = "commerce_bench", value_parser = database_name)]
    database: String,
    /// The Redis the hot views' rebuild writes to (under a prefix of its own,
    /// deleted afterwards).
    #[arg(long, env = "REDIS_URL", default_value = "redis://127.0.0.1:6379")]
    redis_url: String,
    /// Events per batch of the log reader (exports and replays read in batches of
    /// this size; projectors use smaller ones to keep transactions short).
    #[arg(long, default_value_t = 5000)]
    batch: i64,
    /// The `commerce-replay` binary measured on the same log; by default the one
    /// built beside this binary.
    #[arg(long)]
    replay_bin: Option<std::path::PathBuf>,
    /// Only the HTTP add-item figures (to profile them, say): the log, export,
    /// rebuild and search figures are skipped.
    #[arg(long)]
    http_only: bool,
    /// A Kafka broker for the feed's figure; skipped when unset.
    #[arg(long, env = "KAFKA_BROKERS")]
    kafka_brokers: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let pool = fresh_database(&args, &args.database).await?;
    println!(
        "commerce-bench: {} events per write run, {} writers, a log of {} events; PostgreSQL {}",
        args.events,
        args.writers,
        args.log_events,
        sqlx::query_scalar::<_, String>("SHOW server_version")
            .fetch_one(&pool)
            .await?
    );

    // The baseline runs before and after ours, so drift (checkpoints, table growth)
    // weighs on both sides alike.
    let plain_before = plain_inserts(&pool, &args, "plain-before").await?;
    let persist = postgres_es_persist(&pool, &args).await?;
    let command = cqrs_commands(&pool, &args).await?;
    let store = store_commands(&pool, &args).await?;
    let http_alone = {
        let server = http_commands::start(pool.clone(), false).await?;
        http_commands::add_items(&server, args.writers, args.events).await?
    };
    let http = {
        let server = http_commands::start(pool.clone(), true).await?;
        http_commands::add_items(&server, args.writers, args.events).await?
    };
    // Runs without promotions and with three, taken in turns on one server: each
    // run with them is set beside the mean of the runs either side of it, so drift
    // (the log grows run by run) and the machine's noise weigh on both alike, and
    // the median of those ratios is the figure.
    let (promoted_runs, unpromoted_runs) = {
        let server = http_commands::start(pool.clone(), true).await?;
        let settle = || http_commands::caught_up(&pool, Duration::from_secs(120));
        settle().await?;
        let mut unpromoted =
            vec![http_commands::add_items(&server, args.writers, args.events).await?];
        let mut promoted = Vec::with_capacity(PROMOTION_ROUNDS);
        for _ in 0..PROMOTION_ROUNDS {
            let ids = http_commands::promotions(&server, 3).await?;
            settle().await?;
            promoted.push(http_commands::add_items(&server, args.writers, args.events).await?);
            http_commands::end_promotions(&server, &ids).await?;
            settle().await?;
            unpromoted.push(http_commands::add_items(&server, args.writers, args.events).await?);
        }
        (promoted, unpromoted)
    };
    let plain_after = plain_inserts(&pool, &args, "plain-after").await?;
    let plain = (plain_before + plain_after) / 2.0;
    println!("raw INSERT/s: {plain_before:.0} before ours, {plain_after:.0} after");
    println!();
    println!(
        "{:<44} {:>12} {:>14} {:>7}",
        "", "ours/s", "raw PG/s", "ratio"
    );
    row("append: postgres-es persist vs INSERT", persist, plain);
    row("append: cqrs-es command (load+persist)", command, plain);
    row("append: API store command (cached)", store, plain);
    row("HTTP add-item, projectors elsewhere", http_alone, plain);
    row("HTTP add-item, projectors in-process", http, plain);
    let mut ratios: Vec<f64> = promoted_runs
        .iter()
        .zip(unpromoted_runs.windows(2))
        .map(|(promoted, around)| promoted / ((around[0] + around[1]) / 2.0))
        .collect();
    ratios.sort_by(f64::total_cmp);
    let rates = |runs: &[f64]| {
        runs.iter()
            .map(|rate| format!("{rate:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "HTTP add-item, runs in turn: without promotions {}/s; with 3 promotions {}/s",
        rates(&unpromoted_runs),
        rates(&promoted_runs)
    );
    println!(
        "{:<44} {:>12} {:>14} {:>7.2}",
        "HTTP add-item, 3 promotions vs none (median)",
        "",
        "",
        ratios.get(ratios.len() / 2).copied().unwrap_or(f64::NAN)
    );
    if args.http_only {
        return Ok(());
    }

    fill_log(&pool, args.log_events).await?;
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&pool)
        .await?;
    let reader = log_reader(&pool, args.batch, total).await?;
    let select = plain_select(&pool, total).await?;
    let copy = plain_copy(&pool, total).await?;
    row("read log: gap-free reader vs SELECT", reader, select);
    row("read log: gap-free reader vs COPY", reader, copy);
    let counts = rebuild(
        &pool,
        total,
        Projector::Postgres(Arc::new(EventCountsProjection)),
    )
    .await?;
    println!(
        "{:<44} {:>12.0}",
        "rebuild: event_counts from zero (events/s)", counts
    );
    let replay_bin = match &args.replay_bin {
        Some(path) => path.clone(),
        None => replay_cli::default_binary()?,
    };
    let url = format!(
        "{}/{}",
        args.server_url.trim_end_matches('/'),
        args.database
    );
    for format in ["ndjson", "csv", "parquet"] {
        let export = replay_cli::rate(
            &replay_bin,
            &url,
            &["export", "--format", format, "--output", "/dev/null"],
            total,
        )?;
        row(
            &format!("export {format} (commerce-replay) vs COPY"),
            export,
            copy,
        );
    }
    let verify = replay_cli::rate(&replay_bin, &url, &["verify"], total)?;
    row("verify hash chains (commerce-replay) vs COPY", verify, copy);
    println!(
        "{:<44} {:>12.0}",
        "rebuild beside live: event_counts (/s)",
        replay_cli::rebuild(&replay_bin, &url, "event_counts")?
    );
    pool.close().await;

    // Read models from real domain events, alone in a log of their own.
    let pool = fresh_database(&args, &format!("{}_carts", args.database)).await?;
    let events = domain_log::fill_carts(&pool, args.log_events / 10, 9).await?;
    let carts = rebuild(
        &pool,
        events as i64,
        Projector::Postgres(Arc::new(
            projections::read_models::carts::CartsProjection::new(),
        )),
    )
    .await?;
    println!(
        "{:<44} {:>12.0}",
        format!("rebuild: carts read model, {events} events (/s)"),
        carts
    );
    println!(
        "{:<44} {:>12.0}",
        format!("rebuild beside live: carts, {events} events (/s)"),
        replay_cli::rebuild(
            &replay_bin,
            &format!(
                "{}/{}_carts",
                args.server_url.trim_end_matches('/'),
                args.database
            ),
            "carts"
        )?
    );
    let hot = redis_views::rebuild(&pool, &args.redis_url, events as i64).await?;
    println!(
        "{:<44} {:>12.0}",
        format!("rebuild: Redis hot views, {events} events (/s)"),
        hot
    );
    match &args.kafka_brokers {
        Some(brokers) => {
            let rate = kafka_feed::publish_from_zero(&pool, brokers, events as i64).await?;
            println!(
                "{:<44} {:>12.0}",
                format!("Kafka feed from zero, {events} events (/s)"),
                rate
            );
        }
        None => println!("Kafka feed: skipped (KAFKA_BROKERS is unset)"),
    }
    pool.close().await;

    // The search index on a generated catalog, in a database of its own.
    let pool = fresh_database(&args, &format!("{}_search", args.database)).await?;
    search::measure(&pool, args.search_products, 2000, Rebuild).await?;
    pool.close().await;
    Ok(())
}

struct Rebuild;

impl search::AsyncRebuild for Rebuild {
    async fn run(&self, pool: &PgPool, total: i64, projector: Projector) -> anyhow::Result<f64> {
        rebuild(pool, total, projector).await
    }
}

/// A name safe to splice into `CREATE DATABASE`.
fn database_name(name: &str) -> Result<String, String> {
    let valid = !name.is_empty()
        && name.len() <= 50
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    valid
        .then(|| name.to_owned())
        .ok_or_else(|| "use lower-case letters, digits and _ (at most 50)".into())
}

fn row(label: &str, ours: f64, raw: f64) {
    println!("{label:<44} {ours:>12.0} {raw:>14.0} {:>7.2}", ours / raw);
}

async fn fresh_database(args: &Args, name: &str) -> anyhow::Result<PgPool> {
    let server = PgConnectOptions::from_str(&args.server_url).context("invalid --server-url")?;
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(server.clone().database("postgres"))
        .await?;
    admin
        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
        .await?;
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await?;
    admin.close().await;
    let pool = PgPoolOptions::new()
        .max_connections(args.writers as u32 + 2)
        .connect_with(writer_options(server.database(name)))
        .await?;
    eventstore_migrations::run(&pool).await?;
    pool.execute(
        "CREATE TABLE bench_plain_events (
            aggregate_type text NOT NULL, aggregate_id text NOT NULL, sequence bigint NOT NULL,
            event_type text NOT NULL, event_version text NOT NULL, payload json NOT NULL,
            metadata json NOT NULL, PRIMARY KEY (aggregate_type, aggregate_id, sequence))",
    )
    .await?;
    Ok(pool)
}

/// Runs `work(stream, sequence, index)` from `writers` concurrent tasks, each on
/// streams of its own (ten events each, like a cart that gets a few lines), as
/// requests for one cart rarely race. Returns events/s.
async fn concurrently<F, Fut>(
    writers: usize,
    total: usize,
    run: &'static str,
    work: F,
) -> anyhow::Result<f64>
where
    F: Fn(String, usize, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let work = Arc::new(work);
    let per_writer = total.div_ceil(writers);
    let started = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|writer| {
            let work = work.clone();
            tokio::spawn(async move {
                for i in 0..per_writer {
                    work(format!("{run}-{writer}-{}", i / 10), i % 10 + 1, i).await?;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    Ok((per_writer * writers) as f64 / started.elapsed().as_secs_f64())
}

async fn plain_inserts(pool: &PgPool, args: &Args, run: &'static str) -> anyhow::Result<f64> {
    let pool = pool.clone();
    concurrently(args.writers, args.events, run, move |id, sequence, index| {
        let pool = pool.clone();
        async move {
            sqlx::query(
                "INSERT INTO bench_plain_events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind("cart")
            .bind(id)
            .bind(sequence as i32)
            .bind("ItemAdded")
            .bind("1.0")
            .bind(sample_payload(index))
            .bind(sample_metadata(index))
            .execute(&pool)
            .await?;
            Ok(())
        }
    })
    .await
}

async fn postgres_es_persist(pool: &PgPool, args: &Args) -> anyhow::Result<f64> {
    let repository = Arc::new(PostgresEventRepository::new(pool.clone()));
    concurrently(
        args.writers,
        args.events,
        "persist",
        move |id, sequence, index| {
            let repository = repository.clone();
            async move {
                let event = SerializedEvent::new(
                    id,
                    sequence,
                    "cart".into(),
                    "ItemAdded".into(),
                    "1.0".into(),
                    sample_payload(index),
                    sample_metadata(index),
                );
                repository.persist::<BenchCart>(&[event], None).await?;
                Ok(())
            }
        },
    )
    .await
}

/// The API's command path without HTTP: [`commands::execute`] on cached aggregates.
async fn store_commands(pool: &PgPool, args: &Args) -> anyhow::Result<f64> {
    let store = commands::AggregateStore::<BenchCart>::new(
        pool.clone(),
        LogWakeups::local(),
        commands::StoreOptions::default(),
    );
    concurrently(args.writers, args.events, "store", move |id, _, index| {
        let store = store.clone();
        async move {
            commands::execute(
                &store,
                &id,
                index,
                &bench_aggregate::metadata(index),
                commands::CommandOptions::default(),
                None,
            )
            .await
            .map(|_| ())
            .map_err(|e| anyhow::anyhow!("command failed: {e}"))
        }
    })
    .await
}

async fn cqrs_commands(pool: &PgPool, args: &Args) -> anyhow::Result<f64> {
    let framework = Arc::new(cqrs::<BenchCart>(pool.clone(), LogWakeups::local(), ()));
    concurrently(args.writers, args.events, "command", move |id, _, index| {
        let framework = framework.clone();
        async move {
            framework
                .execute_with_metadata(&id, index, bench_aggregate::metadata_map(index))
                .await
                .map_err(|e| anyhow::anyhow!("command failed: {e}"))
        }
    })
    .await
}

/// Grows the log to `events` with set-based inserts (the trigger still hashes each).
async fn fill_log(pool: &PgPool, events: usize) -> anyhow::Result<()> {
    let existing: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await?;
    let mut missing = events.saturating_sub(existing as usize);
    let mut chunk = 0;
    while missing > 0 {
        let n = missing.min(50_000);
        sqlx::query(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
             SELECT 'order', 'fill-' || $1 || '-' || g, 1, 'OrderPlaced', '1.0', $2, $3
               FROM generate_series(1, $4) g",
        )
        .bind(chunk.to_string())
        .bind(sample_payload(chunk))
        .bind(sample_metadata(chunk))
        .bind(n as i64)
        .execute(pool)
        .await?;
        missing -= n;
        chunk += 1;
    }
    pool.execute("VACUUM ANALYZE events").await?;
    Ok(())
}

async fn log_reader(pool: &PgPool, batch: i64, total: i64) -> anyhow::Result<f64> {
    let started = Instant::now();
    let mut checkpoint = Checkpoint::START;
    let mut read = 0;
    loop {
        let events = read_batch(pool, checkpoint, batch).await?;
        let Some(last) = events.last() else { break };
        checkpoint = last.checkpoint();
        read += events.len() as i64;
    }
    anyhow::ensure!(read == total, "the reader read {read} of {total} events");
    Ok(read as f64 / started.elapsed().as_secs_f64())
}

/// Turns of the add-item runs with three promotions (each between two without).
const PROMOTION_ROUNDS: usize = 3;

const LOG_COLUMNS: &str =
    "global_position, transaction_id, event_id, aggregate_type, aggregate_id, sequence,
    event_type, event_version, payload::text, metadata::text, recorded_at";

async fn plain_select(pool: &PgPool, total: i64) -> anyhow::Result<f64> {
    let started = Instant::now();
    let sql = format!("SELECT {LOG_COLUMNS} FROM events ORDER BY global_position");
    let mut rows = sqlx::query(&sql).fetch(pool);
    let mut read = 0;
    while rows.try_next().await?.is_some() {
        read += 1;
    }
    anyhow::ensure!(read == total, "SELECT read {read} of {total} rows");
    Ok(read as f64 / started.elapsed().as_secs_f64())
}

async fn plain_copy(pool: &PgPool, total: i64) -> anyhow::Result<f64> {
    let mut connection = pool.acquire().await?;
    let started = Instant::now();
    let sql = format!("COPY (SELECT {LOG_COLUMNS} FROM events ORDER BY global_position) TO STDOUT");
    let mut stream = connection.copy_out_raw(&sql).await?;
    let mut lines = 0;
    while let Some(chunk) = stream.try_next().await? {
        lines += chunk.iter().filter(|b| **b == b'\n').count() as i64;
    }
    anyhow::ensure!(lines == total, "COPY produced {lines} of {total} rows");
    Ok(lines as f64 / started.elapsed().as_secs_f64())
}

/// Runs `projector` alone from the start of the log until it has applied `total`
/// events; events/s.
async fn rebuild(pool: &PgPool, total: i64, projector: Projector) -> anyhow::Result<f64> {
    let name = projector.name().to_owned();
    let cancel = CancellationToken::new();
    let started = Instant::now();
    let running = ProjectorRuntime::new(
        pool.clone(),
        LogWakeups::local(),
        ProjectorOptions::default(),
    )
    .with(projector, OnFailure::Stop)
    .start(cancel.clone())
    .await?;
    loop {
        let lags = projector_lags(pool).await?;
        if let Some(failure) = lags
            .iter()
            .find(|l| l.projector == name)
            .and_then(|l| l.failure.clone())
        {
            anyhow::bail!("projector {name} failed: {failure}");
        }
        if lags
            .iter()
            .any(|l| l.projector == name && l.events_applied >= total)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rate = total as f64 / started.elapsed().as_secs_f64();
    cancel.cancel();
    for (name, outcome) in running.join().await {
        outcome.with_context(|| format!("projector {name}"))?;
    }
    Ok(rate)
}
