//! Start-up and shutdown: migrate, start the projectors, serve, and on SIGTERM or
//! Ctrl-C let in-flight requests and projector batches finish.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use commands::event_store::writer_options;
use projections::log::horizon::ensure_cluster_ahead_of_log;
use projections::log::LogWakeups;
use projections::read_models::event_counts::EventCountsProjection;
use projections::runtime::{
    OnFailure, Projector, ProjectorOptions, ProjectorRuntime, ProjectorStates, RunningProjectors,
};
use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::{DatabaseConfig, ProjectConfig, ServeConfig};
use crate::routes;
use crate::state::AppState;

/// Creates the database if missing, applies pending migrations, and returns a pool.
pub async fn migrate(config: &DatabaseConfig) -> anyhow::Result<PgPool> {
    let exists = Postgres::database_exists(&config.database_url)
        .await
        .context("failed to reach PostgreSQL (is DATABASE_URL right?)")?;
    if !exists {
        Postgres::create_database(&config.database_url)
            .await
            .context("failed to create the database")?;
        tracing::info!("created the database");
    }
    let options = PgConnectOptions::from_str(&config.database_url)
        .context("DATABASE_URL is not a valid PostgreSQL URL")?;
    let pool = PgPoolOptions::new()
        .max_connections(config.database_max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(writer_options(options))
        .await
        .context("failed to connect to the database")?;
    eventstore_migrations::run(&pool)
        .await
        .context("failed to migrate the database")?;
    tracing::info!("database migrated");
    Ok(pool)
}

/// Every projector the service runs.
pub fn projectors(
    pool: PgPool,
    wakeups: LogWakeups,
    options: ProjectorOptions,
) -> ProjectorRuntime {
    ProjectorRuntime::new(pool, wakeups, options).with(
        Projector::Postgres(Arc::new(EventCountsProjection)),
        OnFailure::Stop,
    )
}

pub async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let pool = migrate(&config.projectors.database).await?;
    // Before anything writes: events written now would sort before old checkpoints.
    ensure_cluster_ahead_of_log(&pool).await?;
    let cancel = CancellationToken::new();
    tokio::spawn(cancel_on_signal(cancel.clone()));

    let (states, running) = if config.run_projectors {
        let running = start_projectors(&pool, &config.projectors, &cancel).await?;
        (running.states(), Some(running))
    } else {
        (ProjectorStates::default(), None)
    };
    let redis = config
        .redis_url
        .as_deref()
        .map(redis::Client::open)
        .transpose()
        .context("REDIS_URL is not a valid Redis URL")?;
    let state = AppState {
        pool: pool.clone(),
        redis,
        projectors: states,
    };
    let listener = TcpListener::bind(config.bind_addr)
        .await
        .with_context(|| format!("failed to bind {}", config.bind_addr))?;
    tracing::info!(addr = %config.bind_addr, "serving HTTP");
    let shutdown = cancel.clone();
    axum::serve(listener, routes::router(state))
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
        .context("HTTP server failed")?;
    // The server also ends on its own failure: stop the projectors then too.
    cancel.cancel();

    let outcome = match running {
        Some(running) => finish_projectors(running, config.projectors.shutdown_grace()).await,
        None => Ok(()),
    };
    pool.close().await;
    tracing::info!("stopped");
    outcome
}

/// The projector worker: no HTTP, projectors until SIGTERM or Ctrl-C.
pub async fn project(config: ProjectConfig) -> anyhow::Result<()> {
    let pool = migrate(&config.database).await?;
    ensure_cluster_ahead_of_log(&pool).await?;
    let cancel = CancellationToken::new();
    tokio::spawn(cancel_on_signal(cancel.clone()));
    let running = start_projectors(&pool, &config, &cancel).await?;
    tokio::select! {
        _ = cancel.cancelled() => {}
        // Nothing left to run: exit, so that the orchestrator sees it and restarts.
        _ = running.all_stopped() => cancel.cancel(),
    }
    let outcome = finish_projectors(running, config.shutdown_grace()).await;
    pool.close().await;
    tracing::info!("stopped");
    outcome
}

async fn start_projectors(
    pool: &PgPool,
    config: &ProjectConfig,
    cancel: &CancellationToken,
) -> anyhow::Result<RunningProjectors> {
    let wakeups = LogWakeups::start(pool.clone(), cancel.clone());
    let options = ProjectorOptions {
        poll_interval: config.projector_poll_interval(),
        ..ProjectorOptions::default()
    };
    projectors(pool.clone(), wakeups, options)
        .start(cancel.clone())
        .await
        .context("failed to start the projectors")
}

/// Waits, up to `grace`, for the projectors to finish the batches in hand, then
/// aborts the rest. Fails when any projector ended with an error.
async fn finish_projectors(running: RunningProjectors, grace: Duration) -> anyhow::Result<()> {
    let mut failed = Vec::new();
    for (projector, outcome) in running.join_within(Some(grace)).await {
        if let Err(error) = outcome {
            tracing::error!(%projector, %error, "projector ended with an error");
            failed.push(projector);
        }
    }
    anyhow::ensure!(
        failed.is_empty(),
        "projectors ended with errors: {}",
        failed.join(", ")
    );
    Ok(())
}

async fn cancel_on_signal(cancel: CancellationToken) {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
    tracing::info!("shutdown requested; finishing in-flight work");
    cancel.cancel();
}
