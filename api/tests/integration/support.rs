//! `spawn_app`: the real server on a free port.

use std::time::Duration;

use api::routes::router;
use api::server::projectors;
use api::state::AppState;
use projections::log::LogWakeups;
use projections::runtime::ProjectorOptions;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub cancel: CancellationToken,
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
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

pub async fn spawn_app(pool: PgPool, run_projectors: bool) -> TestApp {
    // `make test` points REDIS_URL at the Redis it found or started.
    let redis_url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    spawn_app_with_redis(pool, run_projectors, &redis_url).await
}

pub async fn spawn_app_with_redis(pool: PgPool, run_projectors: bool, redis_url: &str) -> TestApp {
    let cancel = CancellationToken::new();
    let options = ProjectorOptions {
        poll_interval: Duration::from_millis(50),
        ..ProjectorOptions::default()
    };
    let runtime = projectors(
        pool.clone(),
        LogWakeups::start(pool.clone(), cancel.clone()),
        options,
    );
    let states = runtime.states();
    if run_projectors {
        runtime.start(cancel.clone()).await.unwrap();
    }
    let state = AppState {
        pool,
        redis: Some(redis::Client::open(redis_url).unwrap()),
        projectors: states,
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = cancel.clone();
    tokio::spawn(async move {
        axum::serve(listener, router(state))
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await
            .unwrap();
    });
    TestApp {
        address,
        client: reqwest::Client::new(),
        cancel,
    }
}
