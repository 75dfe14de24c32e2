//! `spawn_app`: the real server on a free port, against the test's own database,
//! with helpers that speak HTTP as a client would.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use api::auth::{Authenticator, Role};
use api::config::{ApiConfig, RedisConfig};
use api::routes::router;
use api::secret::Secret;
use api::server::{app_state, projectors};
use eventlog::LogWakeups;
use projections::kafka::{KafkaPublisher, KafkaSettings};
use projections::runtime::ProjectorOptions;
use serde_json::Value;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub const JWT_SECRET: &str = "integration-test-secret-0123456789abcdef";
pub const WEBHOOK_SECRET: &str = "whsec_integration_test";
/// The master key of personal data in tests (32 bytes of `7`, base64).
pub const PERSONAL_DATA_KEY: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub cancel: CancellationToken,
    pub pool: PgPool,
}

impl TestApp {
    /// GET `path` on the app; panics if the request cannot be sent at all.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("send the request")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// A bearer token for `subject` in `role`.
    pub fn token(&self, subject: &str, role: Role) -> String {
        Authenticator::hs256(&Secret::new(JWT_SECRET.into()))
            .mint(subject, role, 600)
            .unwrap()
    }

    /// POSTs `body` to `path` as `token`'s holder; returns status and JSON body.
    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        let mut request = self.client.post(self.url(path)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("send the request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// GETs `path` as `token`'s holder, reading its own write `consistency`.
    pub async fn read(
        &self,
        path: &str,
        token: Option<&str>,
        consistency: Option<&str>,
    ) -> (u16, Value) {
        let mut request = self.client.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(consistency) = consistency {
            request = request.header("X-Consistency-Token", consistency);
        }
        let response = request.send().await.expect("send the request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// The API's settings in tests: generous rate limits unless a test wants them.
pub fn api_config() -> ApiConfig {
    ApiConfig {
        jwt_secret: Some(Secret::new(JWT_SECRET.into())),
        jwt_public_key_file: None,
        jwt_jwks_file: None,
        jwt_issuer: None,
        jwt_audience: None,
        cart_token_secret: None,
        rate_limit_per_minute: 0,
        rate_limit_burst: 100,
        consistency_wait_ms: 5000,
        default_currency: "EUR".into(),
        tax_exclusive_currencies: vec!["USD".into(), "CAD".into()],
        return_window_days: 30,
        webhooks_allow_loopback: true,
        aggregate_cache_capacity: 1000,
        payment_webhook_secret: Some(Secret::new(WEBHOOK_SECRET.into())),
    }
}

pub async fn spawn_app(pool: PgPool, run_projectors: bool) -> TestApp {
    // `make test` points REDIS_URL at the Redis it found or started.
    let redis_url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    spawn_app_with(pool, run_projectors, &redis_url, api_config()).await
}

pub async fn spawn_app_with_redis(pool: PgPool, run_projectors: bool, redis_url: &str) -> TestApp {
    spawn_app_with(pool, run_projectors, redis_url, api_config()).await
}

pub async fn spawn_app_with(
    pool: PgPool,
    run_projectors: bool,
    redis_url: &str,
    config: ApiConfig,
) -> TestApp {
    spawn_app_with_redis_config(pool, run_projectors, own_redis(redis_url), config).await
}

/// Redis at `url`, under a key prefix of the test's own: tests share one Redis
/// without meeting.
pub fn own_redis(url: &str) -> RedisConfig {
    RedisConfig {
        redis_url: Some(url.into()),
        redis_key_prefix: format!("test:{}", uuid::Uuid::new_v4()),
        ..RedisConfig::default()
    }
}

pub async fn spawn_app_with_redis_config(
    pool: PgPool,
    run_projectors: bool,
    redis: RedisConfig,
    config: ApiConfig,
) -> TestApp {
    let gateway = api::server::gateway(Duration::from_secs(2));
    spawn_app_with_gateway(pool, run_projectors, redis, config, gateway, None).await
}

/// The app with its projectors, the Kafka feed among them.
pub async fn spawn_app_with_kafka(pool: PgPool, kafka: KafkaSettings) -> TestApp {
    let redis_url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let publisher = KafkaPublisher::new(kafka, pool.clone()).unwrap();
    let gateway = api::server::gateway(Duration::from_secs(2));
    spawn_app_with_gateway(
        pool,
        true,
        own_redis(&redis_url),
        api_config(),
        gateway,
        Some(Arc::new(publisher)),
    )
    .await
}

/// The app with the checkout process talking to `gateway`.
pub async fn spawn_app_with_gateway(
    pool: PgPool,
    run_projectors: bool,
    redis: RedisConfig,
    config: ApiConfig,
    gateway: std::sync::Arc<dyn commands::payment_gateway::PaymentGateway>,
    kafka: Option<Arc<KafkaPublisher>>,
) -> TestApp {
    eventlog::personal::install(PERSONAL_DATA_KEY).expect("the test key is 32 bytes");
    let cancel = CancellationToken::new();
    let options = ProjectorOptions {
        poll_interval: Duration::from_millis(50),
        ..ProjectorOptions::default()
    };
    let wakeups = LogWakeups::start(pool.clone(), cancel.clone());
    let search = projections::search::SearchIndex::open(search_dir(&pool)).unwrap();
    let runtime = projectors(
        pool.clone(),
        wakeups.clone(),
        options,
        commands::checkout::CheckoutSettings::default(),
        gateway,
        search.clone(),
        &redis,
        kafka,
    )
    .unwrap();
    let states = runtime.states();
    if run_projectors {
        runtime.start(cancel.clone()).await.unwrap();
    }
    let state = app_state(pool.clone(), wakeups, &redis, states, Some(search), &config)
        .unwrap()
        .with_shutdown(cancel.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = cancel.clone();
    tokio::spawn(async move {
        let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await
            .unwrap();
    });
    TestApp {
        address,
        client: reqwest::Client::new(),
        cancel,
        pool,
    }
}

/// An answer as a client sees it: status, headers and the body as JSON (`Null`
/// when it is not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The problem body's `code` ("" when absent).
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or_default()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `consistency_token` of a command's answer.
    pub fn consistency(&self) -> String {
        self.body["consistency_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no consistency token in {}", self.body))
            .to_owned()
    }
}

/// Who sends a request.
#[derive(Debug, Clone, Copy)]
pub enum Caller<'a> {
    Anonymous,
    /// `Authorization: Bearer <token>`.
    Bearer(&'a str),
    /// A guest holding a cart token (`X-Cart-Token`).
    Guest(&'a str),
    /// A signed-in customer who also holds a guest cart's token.
    BearerWithCart(&'a str, &'a str),
}

impl Caller<'_> {
    pub fn apply(self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Caller::Anonymous => request,
            Caller::Bearer(token) => request.bearer_auth(token),
            Caller::Guest(cart) => request.header("X-Cart-Token", cart),
            Caller::BearerWithCart(token, cart) => {
                request.bearer_auth(token).header("X-Cart-Token", cart)
            }
        }
    }
}

/// Sends `request` and reads the answer whole.
pub async fn reply(request: reqwest::RequestBuilder) -> Reply {
    let response = request.send().await.expect("send the request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("read the body");
    Reply {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

impl TestApp {
    /// POSTs JSON `body` to `path` as `caller`.
    pub async fn command(&self, path: &str, caller: Caller<'_>, body: Value) -> Reply {
        reply(caller.apply(self.client.post(self.url(path)).json(&body))).await
    }

    /// GETs `path` as `caller`, waiting for the write behind `consistency`.
    pub async fn query(&self, path: &str, caller: Caller<'_>, consistency: Option<&str>) -> Reply {
        let mut request = caller.apply(self.client.get(self.url(path)));
        if let Some(consistency) = consistency {
            request = request.header("X-Consistency-Token", consistency);
        }
        reply(request).await
    }
}

/// The app with no projector running and a short consistency wait: its read
/// models never catch up.
pub async fn without_projectors(pool: PgPool, wait_ms: u64) -> TestApp {
    let redis_url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let config = api_config();
    spawn_app_with(
        pool,
        false,
        &redis_url,
        api::config::ApiConfig {
            consistency_wait_ms: wait_ms,
            ..config
        },
    )
    .await
}

/// The search index of the test's own database, beside those of other tests and
/// shared by apps restarted on the same database.
fn search_dir(pool: &PgPool) -> std::path::PathBuf {
    let database = pool
        .connect_options()
        .get_database()
        .unwrap_or("commerce")
        .to_owned();
    std::env::temp_dir()
        .join("commerce-test-search")
        .join(database)
}
