//! Endpoints for orchestrators: liveness, and readiness with each projector's lag.

use std::time::Instant;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use projections::runtime::{projector_lags, ProjectorLag, ProjectorState};
use serde::Serialize;

use crate::state::AppState;

/// The process is up and answering; says nothing of its dependencies.
#[utoipa::path(get, path = "/health/live", tag = "operations",
    responses((status = 200, description = "`{\"status\": \"live\"}`")))]
pub async fn live() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "live" }))
}

#[derive(Debug, Serialize)]
struct Readiness {
    status: &'static str,
    database: Dependency,
    #[serde(skip_serializing_if = "Option::is_none")]
    redis: Option<Dependency>,
    projectors: Vec<ProjectorReport>,
}

#[derive(Debug, Serialize)]
struct Dependency {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    latency_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Debug, Serialize)]
struct ProjectorReport {
    #[serde(flatten)]
    lag: ProjectorLag,
    /// What this process's instance is doing; absent when it runs elsewhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    here: Option<ProjectorState>,
}

/// 200 when the database answers, 503 when it does not. Projectors are listed with
/// their lag and failure, if any; Redis is reported but never makes this fail.
#[utoipa::path(get, path = "/health/ready", tag = "operations",
    responses((status = 200, description = "ready: the database is up; Redis and every projector's lag reported"),
              (status = 503, description = "degraded: the database is unreachable or a projector failed")))]
pub async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let started = Instant::now();
    let lags = projector_lags(&state.pool).await;
    let database_latency = started.elapsed().as_secs_f64() * 1000.0;
    let redis = match &state.redis {
        Some(client) => Some(ping_redis(client).await),
        None => None,
    };
    let (status, readiness) = match lags {
        Ok(lags) => {
            let here = state.projectors.snapshot();
            let degraded = lags.iter().any(|lag| lag.failure.is_some())
                || here
                    .values()
                    .any(|s| matches!(s, ProjectorState::Stopped(Some(_))));
            let projectors = lags
                .into_iter()
                .map(|lag| ProjectorReport {
                    here: here.get(&lag.projector).cloned(),
                    lag,
                })
                .collect();
            (
                StatusCode::OK,
                Readiness {
                    // Still ready to serve: reads work, but a read model is behind.
                    status: if degraded { "degraded" } else { "ready" },
                    database: Dependency {
                        status: "up",
                        latency_ms: Some(database_latency),
                        error: None,
                    },
                    redis,
                    projectors,
                },
            )
        }
        Err(error) => {
            tracing::warn!(%error, "readiness: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Readiness {
                    status: "unavailable",
                    database: Dependency {
                        status: "down",
                        latency_ms: None,
                        error: Some(describe(&error)),
                    },
                    redis,
                    projectors: Vec::new(),
                },
            )
        }
    };
    (status, Json(readiness))
}

async fn ping_redis(client: &redis::Client) -> Dependency {
    let started = Instant::now();
    let ping = async {
        let mut connection = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
    };
    match tokio::time::timeout(std::time::Duration::from_secs(1), ping).await {
        Ok(Ok(_)) => Dependency {
            status: "up",
            latency_ms: Some(started.elapsed().as_secs_f64() * 1000.0),
            error: None,
        },
        Ok(Err(error)) => Dependency {
            status: "down",
            latency_ms: None,
            error: Some(error.to_string()),
        },
        Err(_) => Dependency {
            status: "down",
            latency_ms: None,
            error: Some("no answer within 1 s".into()),
        },
    }
}

/// A description safe to show: the kind of failure, never a connection string.
fn describe(error: &projections::Error) -> String {
    let database = match error {
        projections::Error::Database(e) | projections::Error::Log(eventlog::Error::Database(e)) => {
            e
        }
        _ => return "database unavailable".into(),
    };
    match database {
        sqlx::Error::PoolTimedOut => "timed out waiting for a connection".into(),
        sqlx::Error::Io(io) => format!("cannot reach the database: {}", io.kind()),
        sqlx::Error::Database(db) => format!("database error {}", db.code().unwrap_or_default()),
        _ => "database unavailable".into(),
    }
}
