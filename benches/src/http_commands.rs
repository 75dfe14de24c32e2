//! The API's write path measured end to end: the real router on a local port, each
//! writer a customer with a cart of its own, adding items at catalog prices over
//! HTTP/1.1 keep-alive connections. Projectors run beside it, as in `make run`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use api::auth::Role;
use api::config::{ApiConfig, RedisConfig};
use api::secret::Secret;
use eventlog::LogWakeups;
use projections::runtime::ProjectorOptions;
use serde_json::{json, Value};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const SECRET: &str = "bench-secret-bench-secret-bench-secret!";
const PRODUCTS: usize = 10;

pub struct Server {
    pub address: String,
    cancel: CancellationToken,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

pub async fn start(pool: PgPool, with_projectors: bool) -> anyhow::Result<Server> {
    // 32 bytes of 9: the bench's personal data is nobody's.
    eventlog::personal::install("CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=")?;
    let cancel = CancellationToken::new();
    let wakeups = LogWakeups::start(pool.clone(), cancel.clone());
    let search_dir = std::env::temp_dir().join(format!("commerce-bench-search-{}", Uuid::new_v4()));
    let search = projections::search::SearchIndex::open(search_dir)?;
    let runtime = api::server::projectors(
        pool.clone(),
        wakeups.clone(),
        ProjectorOptions::default(),
        commands::checkout::CheckoutSettings::default(),
        api::server::gateway(Duration::from_secs(2)),
        search.clone(),
        &RedisConfig::default(),
        None,
    )?;
    let states = runtime.states();
    if with_projectors {
        runtime.start(cancel.clone()).await?;
    }
    let config = ApiConfig {
        jwt_secret: Some(Secret::new(SECRET.into())),
        jwt_public_key_file: None,
        jwt_jwks_file: None,
        jwt_issuer: None,
        jwt_audience: None,
        cart_token_secret: None,
        rate_limit_per_minute: 0,
        rate_limit_burst: 1,
        consistency_wait_ms: 5000,
        default_currency: "EUR".into(),
        tax_exclusive_currencies: vec!["USD".into(), "CAD".into()],
        return_window_days: 30,
        webhooks_allow_loopback: false,
        aggregate_cache_capacity: 10_000,
        payment_webhook_secret: None,
    };
    let state = api::server::app_state(
        pool,
        wakeups,
        &RedisConfig::default(),
        states,
        Some(search),
        &config,
    )?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = format!("http://{}", listener.local_addr()?);
    let shutdown = cancel.clone();
    tokio::spawn(async move {
        let app = api::routes::router(state).into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
        if let Err(error) = served {
            eprintln!("bench server failed: {error}");
        }
    });
    Ok(Server { address, cancel })
}

fn token(subject: &str, role: Role) -> anyhow::Result<String> {
    Ok(api::auth::Authenticator::hs256(&Secret::new(SECRET.into())).mint(subject, role, 3600)?)
}

async fn post(
    client: &reqwest::Client,
    url: String,
    token: &str,
    body: Value,
) -> anyhow::Result<Value> {
    let response = client
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await?;
    let status = response.status();
    let body: Value = response.json().await?;
    anyhow::ensure!(status.is_success(), "{status}: {body}");
    Ok(body)
}

/// Creates `count` automatic promotions that apply to every bench cart (a
/// percentage off the bench category, stacked), so add-item prices with them;
/// returns their ids.
pub async fn promotions(server: &Server, count: usize) -> anyhow::Result<Vec<String>> {
    let client = reqwest::Client::new();
    let admin = token("bench-admin", Role::Admin)?;
    let mut ids = Vec::with_capacity(count);
    for n in 0..count {
        let created = post(
            &client,
            format!("{}/commands/promotions", server.address),
            &admin,
            json!({"name": format!("Bench promotion {n}"),
                   "conditions": {"lines": {"categories": ["bench"]}},
                   "action": {"type": "percent_off_lines", "basis_points": 100 + n},
                   "stacking": {"priority": n}}),
        )
        .await?;
        ids.push(created["id"].as_str().unwrap_or_default().to_owned());
    }
    Ok(ids)
}

/// Ends the promotions `ids`: what follows is priced without them.
pub async fn end_promotions(server: &Server, ids: &[String]) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let admin = token("bench-admin", Role::Admin)?;
    for id in ids {
        post(
            &client,
            format!("{}/commands/promotions/{id}/end", server.address),
            &admin,
            json!({}),
        )
        .await?;
    }
    Ok(())
}

/// Adds `total` items to carts from `writers` concurrent customers; returns commands/s.
pub async fn add_items(server: &Server, writers: usize, total: usize) -> anyhow::Result<f64> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(writers)
        .timeout(Duration::from_secs(30))
        .build()?;
    let admin = token("bench-admin", Role::Admin)?;
    let run = Uuid::new_v4().simple().to_string();
    for product in 0..PRODUCTS {
        let created = post(
            &client,
            format!("{}/commands/products", server.address),
            &admin,
            json!({"sku": format!("B{}-{product}", &run[..8]), "name": format!("Bench product {product}"),
                   "description": "d", "category": "bench", "brand": "b",
                   "price": {"amount": 100 + product, "currency": "EUR"}}),
        )
        .await?;
        let id = created["id"].as_str().unwrap_or_default().to_owned();
        post(
            &client,
            format!("{}/commands/products/{id}/publish", server.address),
            &admin,
            json!({}),
        )
        .await?;
    }
    let mut carts = Vec::with_capacity(writers);
    for _ in 0..writers {
        let customer = token(&Uuid::new_v4().to_string(), Role::Customer)?;
        let opened = post(
            &client,
            format!("{}/commands/carts", server.address),
            &customer,
            json!({}),
        )
        .await?;
        carts.push((
            customer,
            opened["id"].as_str().unwrap_or_default().to_owned(),
        ));
    }
    let per_writer = total.div_ceil(writers);
    let run = Arc::new(run);
    let started = Instant::now();
    let tasks: Vec<_> = carts
        .into_iter()
        .map(|(customer, cart)| {
            let client = client.clone();
            let base = server.address.clone();
            let run = run.clone();
            tokio::spawn(async move {
                for i in 0..per_writer {
                    let sku = format!("B{}-{}", &run[..8], i % PRODUCTS);
                    post(
                        &client,
                        format!("{base}/commands/carts/{cart}/add-item"),
                        &customer,
                        json!({"sku": sku, "quantity": 1}),
                    )
                    .await?;
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

/// Waits (up to `limit`) until every projector has reached the head of the log,
/// so that a run does not share the machine with catching up on the one before.
pub async fn caught_up(pool: &PgPool, limit: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        let behind: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM projector_checkpoints
             WHERE global_position < (SELECT coalesce(max(global_position), 0) FROM events)",
        )
        .fetch_one(pool)
        .await?;
        if behind == 0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            eprintln!("{behind} projectors still behind after {limit:?}; measuring anyway");
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
