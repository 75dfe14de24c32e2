//! Health, readiness, metrics and the problem body of an unknown route.

use std::time::Duration;

use api::config::DatabaseConfig;
use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use crate::support::spawn_app;

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn ready_reports_the_database_redis_and_each_projectors_lag(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    let live = app.get("/health/live").await;
    assert_eq!(live.status(), 200);

    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         VALUES ('cart', 'c1', 1, 'CartOpened', '1.0', '{}', '{}')",
    )
    .execute(&pool)
    .await
    .unwrap();

    let mut body = Value::Null;
    for _ in 0..100 {
        let response = app.get("/health/ready").await;
        assert_eq!(response.status(), 200);
        body = response.json().await.unwrap();
        if event_counts(&body)["events_applied"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(body["status"], "ready");
    assert_eq!(body["database"]["status"], "up");
    assert_eq!(body["redis"]["status"], "up");
    let projector = event_counts(&body);
    assert_eq!(projector["projector"], "event_counts");
    assert_eq!(projector["here"]["state"], "active");
    assert_eq!(projector["events_applied"], 1, "{body}");
    assert_eq!(projector["positions_behind"], 0);
    assert_eq!(projector["head_position"], projector["global_position"]);

    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("commerce_projector_positions_behind{projector=\"event_counts\"} 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("commerce_projector_active{projector=\"event_counts\"} 1"),
        "{metrics}"
    );
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn ready_shows_lag_when_projectors_run_elsewhere(pool: PgPool) {
    sqlx::query("INSERT INTO projector_checkpoints (projector) VALUES ('event_counts')")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         VALUES ('cart', 'c1', 1, 'CartOpened', '1.0', '{}', '{}')",
    )
    .execute(&pool)
    .await
    .unwrap();
    let app = spawn_app(pool, false).await;
    let body: Value = app.get("/health/ready").await.json().await.unwrap();
    let projector = &body["projectors"][0];
    assert_eq!(projector["positions_behind"], 1, "{body}");
    assert!(projector["seconds_behind"].as_f64().unwrap() >= 0.0);
    assert!(projector.get("here").is_none(), "not run by this process");
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn ready_is_503_with_a_reason_when_the_database_is_unreachable(_: PgPool) {
    let unreachable = PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(500))
        .connect_lazy_with(
            PgConnectOptions::new()
                .host("127.0.0.1")
                .port(1)
                .username("nobody"),
        );
    let app = spawn_app(unreachable, false).await;
    let response = app.get("/health/ready").await;
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["database"]["status"], "down");
    assert!(
        !body["database"]["error"]
            .as_str()
            .unwrap()
            .contains("nobody"),
        "no connection details leak"
    );
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn redis_being_down_is_reported_but_never_makes_the_service_unready(pool: PgPool) {
    let app = crate::support::spawn_app_with_redis(pool, false, "redis://127.0.0.1:1").await;
    let response = app.get("/health/ready").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["redis"]["status"], "down");
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn an_unknown_route_is_a_404_problem_with_the_request_id(pool: PgPool) {
    let app = spawn_app(pool, false).await;
    let response = app.get("/queries/nothing-here").await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], 404);
    assert_eq!(body["code"], "not_found");
    assert_eq!(body["request_id"], request_id.as_str());
}

#[tokio::test]
async fn migrate_creates_a_missing_database_and_is_idempotent() {
    let server = std::env::var("DATABASE_URL").unwrap();
    let base = &server[..server.rfind('/').unwrap()];
    let name = format!("commerce_migrate_{}", uuid::Uuid::new_v4().simple());
    let config = DatabaseConfig {
        database_url: format!("{base}/{name}"),
        database_max_connections: 2,
        personal_data_key: None,
    };
    let pool = api::server::migrate(&config).await.unwrap();
    let tables: i64 = sqlx::query_scalar("SELECT count(*) FROM information_schema.tables WHERE table_name IN ('events', 'projector_checkpoints')")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(tables, 2);
    pool.close().await;
    let again = api::server::migrate(&config).await.unwrap();
    again.close().await;

    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(&server)
        .await
        .unwrap();
    sqlx::query(&format!("DROP DATABASE {name}"))
        .execute(&admin)
        .await
        .unwrap();
}

/// The event_counts projector's entry of a readiness answer.
fn event_counts(body: &Value) -> Value {
    body["projectors"]
        .as_array()
        .and_then(|all| all.iter().find(|p| p["projector"] == "event_counts"))
        .cloned()
        .unwrap_or(Value::Null)
}
