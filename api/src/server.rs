//! Start-up and shutdown: migrate, start the projectors, serve, and on SIGTERM or
//! Ctrl-C let in-flight requests and projector batches finish.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use commands::event_store::writer_options;
use eventlog::horizon::ensure_cluster_ahead_of_log;
use eventlog::LogWakeups;
use projections::kafka::KafkaPublisher;
use projections::redis_views::{HotViews, RedisViewsSink};
use projections::runtime::{
    OnFailure, Projector, ProjectorOptions, ProjectorRuntime, ProjectorStates, RunningProjectors,
};
use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use commands::catalog::Catalog;
use commands::checkout::{CheckoutProcess, CheckoutScheduler, CheckoutSettings};
use commands::payment_gateway::{PaymentGateway, RetryingGateway, TestGateway};
use commands::{StoreOptions, Stores};
use domain::product::Product;
use domain::shared::Currency;
use projections::search::{SearchIndex, SearchIndexer};

use crate::auth::{Authenticator, CartTokens, ExternalIssuer};
use crate::config::{
    ApiConfig, DatabaseConfig, KafkaConfig, ProjectConfig, RedisConfig, ServeConfig, TokenConfig,
};
use crate::rate_limit::{RateLimit, RateLimiter};
use crate::routes;
use crate::secret::Secret;
use crate::state::AppState;
use crate::state::Settings;

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

/// Every projector the service runs; with a Redis configured, the hot views too;
/// the Kafka feed when `kafka` is given.
// Each argument is one sink's own setting; grouping them would hide none.
#[allow(clippy::too_many_arguments)]
pub fn projectors(
    pool: PgPool,
    wakeups: LogWakeups,
    options: ProjectorOptions,
    checkout: CheckoutSettings,
    gateway: Arc<dyn PaymentGateway>,
    search: Arc<SearchIndex>,
    redis: &RedisConfig,
    kafka: Option<Arc<KafkaPublisher>>,
) -> anyhow::Result<ProjectorRuntime> {
    let read_models = projections::read_models::postgres_projections();
    let pool_for_search = pool.clone();
    let process = CheckoutProcess {
        pool: pool.clone(),
        stores: Stores::new(&pool, &wakeups, StoreOptions::default()),
        gateway,
        settings: checkout,
    };
    let runtime = read_models
        .into_iter()
        .fold(
            ProjectorRuntime::new(pool.clone(), wakeups, options),
            |runtime, model| runtime.with(Projector::Postgres(model), OnFailure::Stop),
        )
        // One order's poisoned event must not stop every other checkout.
        .with(Projector::SideEffect(Arc::new(process)), OnFailure::Park)
        // The index's position is its commit payload: a parked event would leave
        // the checkpoint row ahead of it.
        .with(
            Projector::SideEffect(Arc::new(SearchIndexer::new(pool_for_search, search))),
            OnFailure::Stop,
        );
    let runtime = match kafka {
        // Stop, not park: a parked event would reach consumers after later events
        // of its aggregate, breaking the order the feed promises per key.
        Some(publisher) => runtime.with(Projector::SideEffect(publisher), OnFailure::Stop),
        None => runtime,
    };
    let Some(target) = redis.target()? else {
        return Ok(runtime);
    };
    let sink = RedisViewsSink::new(&target, pool).context("failed to set up the Redis views")?;
    // Stop, not park: the views fold like the carts and inventory read models, so
    // an event they cannot take stops those too; parking it would leave a view
    // that is silently wrong, served to readers without a consistency token. A
    // Redis that is down is no failure: its batches are retried until it is back.
    Ok(runtime.with(Projector::SideEffect(Arc::new(sink)), OnFailure::Stop))
}

/// The payment gateway: the built-in test gateway, with timeouts and retries.
pub fn gateway(timeout: Duration) -> Arc<dyn PaymentGateway> {
    Arc::new(RetryingGateway::new(TestGateway::default(), timeout, 2))
}

/// The Kafka publisher `config` asks for, if any.
pub fn kafka_publisher(
    pool: &PgPool,
    config: &KafkaConfig,
) -> anyhow::Result<Option<Arc<KafkaPublisher>>> {
    let Some(settings) = config.settings() else {
        return Ok(None);
    };
    tracing::info!(brokers = %settings.brokers, prefix = %settings.topic_prefix, "publishing events to Kafka");
    let publisher =
        KafkaPublisher::new(settings, pool.clone()).context("failed to set up the Kafka feed")?;
    Ok(Some(Arc::new(publisher)))
}

/// The command side, auth and settings the routes share.
pub fn app_state(
    pool: PgPool,
    wakeups: LogWakeups,
    redis: &RedisConfig,
    projectors: ProjectorStates,
    search: Option<Arc<SearchIndex>>,
    config: &ApiConfig,
) -> anyhow::Result<AppState> {
    let redis_target = redis.target()?;
    let hot_views = redis_target
        .as_ref()
        .map(|target| HotViews::new(target, redis.read_timeout()).map(Arc::new))
        .transpose()
        .context("failed to set up the Redis views reader")?;
    let auth = authenticator(config)?;
    let cart_secret = match (&config.cart_token_secret, &config.jwt_secret) {
        (Some(secret), _) => secret.clone(),
        (None, Some(jwt)) => Secret::new(format!("cart-tokens:{}", jwt.expose())),
        (None, None) => anyhow::bail!("set CART_TOKEN_SECRET when tokens are RS256"),
    };
    let store = StoreOptions {
        cache_capacity: config.aggregate_cache_capacity,
        snapshot_every: None,
    };
    let stores = Stores::new(&pool, &wakeups, store);
    let rate_limiter = (config.rate_limit_per_minute > 0).then(|| {
        RateLimiter::new(RateLimit {
            per_minute: config.rate_limit_per_minute,
            burst: config.rate_limit_burst.max(1),
        })
    });
    Ok(AppState {
        catalog: Arc::new(Catalog::new(stores.of::<Product>().clone())),
        deliveries: Arc::new(commands::delivery::Deliveries::new(
            stores.clone(),
            config
                .tax_exclusive_currencies
                .iter()
                .filter(|code| !code.trim().is_empty())
                .map(|code| Currency::new(code.trim()))
                .collect::<Result<_, _>>()
                .context("TAX_EXCLUSIVE_CURRENCIES holds a code that is not ISO 4217")?,
        )),
        promotions: Arc::new(commands::promotions::Promotions::new(
            stores.of::<domain::promotion::Promotion>().clone(),
        )),
        gateway: gateway(Duration::from_secs(5)),
        pool,
        redis: redis_target.map(|target| target.client),
        hot_views,
        projectors,
        stores,
        auth: Arc::new(auth),
        cart_tokens: CartTokens::new(&cart_secret),
        rate_limiter,
        // Ten failures at once, then two a minute: a guesser gets ~3,000 tries a
        // day per account, a customer who mistypes never notices.
        sign_in_failures: RateLimiter::new(RateLimit {
            per_minute: 2,
            burst: 10,
        }),
        search,
        settings: Settings {
            consistency_wait: Duration::from_millis(config.consistency_wait_ms),
            default_currency: Currency::new(&config.default_currency)
                .context("DEFAULT_CURRENCY is not an ISO 4217 code")?,
            webhook_secret: config.payment_webhook_secret.clone(),
            return_window_days: config.return_window_days,
            webhooks_allow_loopback: config.webhooks_allow_loopback,
        },
        wakeups,
        // Never fires unless the caller gives the server's own with `with_shutdown`.
        shutdown: CancellationToken::new(),
    })
}

/// The service's own tokens (JWT_SECRET), an outside issuer's (JWT_PUBLIC_KEY_FILE
/// or JWT_JWKS_FILE, with JWT_ISSUER and JWT_AUDIENCE), or both.
fn authenticator(config: &ApiConfig) -> anyhow::Result<Authenticator> {
    let read = |path: &std::path::Path, name: &str| {
        std::fs::read_to_string(path)
            .with_context(|| format!("failed to read {name} {}", path.display()))
    };
    let keys = match (&config.jwt_public_key_file, &config.jwt_jwks_file) {
        (Some(_), Some(_)) => anyhow::bail!("set JWT_PUBLIC_KEY_FILE or JWT_JWKS_FILE, not both"),
        (Some(path), None) => Some((read(path, "JWT_PUBLIC_KEY_FILE")?, false)),
        (None, Some(path)) => Some((read(path, "JWT_JWKS_FILE")?, true)),
        (None, None) => None,
    };
    let external = match (keys, &config.jwt_issuer, &config.jwt_audience) {
        (Some((keys, jwks)), Some(issuer), Some(audience))
            if !issuer.trim().is_empty() && !audience.trim().is_empty() =>
        {
            let issuer = if jwks {
                ExternalIssuer::from_jwks(&keys, issuer.trim(), audience.trim())?
            } else {
                ExternalIssuer::from_pem(&keys, issuer.trim(), audience.trim())?
            };
            Some(issuer)
        }
        (Some(_), _, _) => anyhow::bail!(
            "an outside issuer's key needs JWT_ISSUER and JWT_AUDIENCE: without them any token that issuer signs, for any application, would be accepted"
        ),
        (None, None, None) => None,
        (None, _, _) => {
            anyhow::bail!("JWT_ISSUER and JWT_AUDIENCE need JWT_PUBLIC_KEY_FILE or JWT_JWKS_FILE")
        }
    };
    let own = match &config.jwt_secret {
        Some(secret) => {
            anyhow::ensure!(
                secret.expose().len() >= 32,
                "JWT_SECRET must be at least 32 bytes long"
            );
            Some(Authenticator::hs256(secret))
        }
        None => None,
    };
    match (own, external) {
        (Some(own), Some(external)) => Ok(own.and_external(external)),
        (Some(own), None) => Ok(own),
        (None, Some(external)) => Ok(Authenticator::external(external)),
        (None, None) => anyhow::bail!(
            "set JWT_SECRET (the service's own tokens) or an outside issuer's key (JWT_PUBLIC_KEY_FILE or JWT_JWKS_FILE): bearer tokens cannot be checked without one"
        ),
    }
}

/// `commerce token`: a bearer token for local use.
pub fn mint_token(config: &TokenConfig) -> anyhow::Result<String> {
    Ok(Authenticator::hs256(&config.jwt_secret).mint(&config.sub, config.role, config.ttl)?)
}

pub async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    config.projectors.database.install_personal_data_key()?;
    let pool = migrate(&config.projectors.database).await?;
    // Before anything writes: events written now would sort before old checkpoints.
    ensure_cluster_ahead_of_log(&pool).await?;
    let cancel = CancellationToken::new();
    tokio::spawn(cancel_on_signal(cancel.clone()));

    // One wakeup source for both sides: a command's append wakes this process's
    // projectors at once, without a round trip through NOTIFY.
    let wakeups = LogWakeups::start(pool.clone(), cancel.clone());
    let search = SearchIndex::open(&config.projectors.search_index_dir).with_context(|| {
        format!(
            "failed to open the search index at {}",
            config.projectors.search_index_dir.display()
        )
    })?;
    let (states, running) = if config.run_projectors {
        let running = start_projectors(
            &pool,
            &config.projectors,
            wakeups.clone(),
            search.clone(),
            &cancel,
        )
        .await?;
        (running.states(), Some(running))
    } else {
        (ProjectorStates::default(), None)
    };
    let state = app_state(
        pool.clone(),
        wakeups,
        &config.projectors.redis,
        states,
        Some(search),
        &config.api,
    )?
    .with_shutdown(cancel.clone());
    tokio::spawn(sweep_idempotency_records(pool.clone(), cancel.clone()));
    let listener = TcpListener::bind(config.bind_addr)
        .await
        .with_context(|| format!("failed to bind {}", config.bind_addr))?;
    tracing::info!(addr = %config.bind_addr, "serving HTTP");
    let shutdown = cancel.clone();
    let app = routes::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
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
    config.database.install_personal_data_key()?;
    let pool = migrate(&config.database).await?;
    ensure_cluster_ahead_of_log(&pool).await?;
    let cancel = CancellationToken::new();
    tokio::spawn(cancel_on_signal(cancel.clone()));
    let wakeups = LogWakeups::start(pool.clone(), cancel.clone());
    let search = SearchIndex::open(&config.search_index_dir).with_context(|| {
        format!(
            "failed to open the search index at {}",
            config.search_index_dir.display()
        )
    })?;
    let running = start_projectors(&pool, &config, wakeups, search, &cancel).await?;
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
    wakeups: LogWakeups,
    search: Arc<SearchIndex>,
    cancel: &CancellationToken,
) -> anyhow::Result<RunningProjectors> {
    let options = ProjectorOptions {
        poll_interval: config.projector_poll_interval(),
        gather: config.projector_gather(),
        ..ProjectorOptions::default()
    };
    let scheduler = CheckoutScheduler {
        pool: pool.clone(),
        inventory: commands::AggregateStore::new(
            pool.clone(),
            wakeups.clone(),
            StoreOptions::default(),
        ),
        orders: commands::AggregateStore::new(
            pool.clone(),
            wakeups.clone(),
            StoreOptions::default(),
        ),
        payment_timeout: Duration::from_secs(config.payment_timeout_seconds),
    };
    tokio::spawn(scheduler.run(
        Duration::from_secs(config.scheduler_interval_seconds),
        cancel.clone(),
    ));
    let gateway = gateway(Duration::from_millis(config.gateway_timeout_ms));
    let kafka = kafka_publisher(pool, &config.kafka)?;
    projectors(
        pool.clone(),
        wakeups,
        options,
        config.checkout(),
        gateway,
        search,
        &config.redis,
        kafka,
    )?
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

/// Drops expired idempotency records every ten minutes.
async fn sweep_idempotency_records(pool: PgPool, cancel: CancellationToken) {
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(600)) => {}
        }
        if let Err(error) = crate::idempotency::sweep_expired(&pool).await {
            tracing::warn!(%error, "failed to drop expired idempotency records");
        }
    }
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
