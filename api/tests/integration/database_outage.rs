//! A database that goes away under a request (its connection terminated, as by
//! `pg_terminate_backend` or a restart) is a 503 `database_unavailable` with
//! `Retry-After`, never a 500, and nothing is half-written.

use std::time::Duration;

use api::auth::Role;
use serde_json::json;
use sqlx::PgPool;

use crate::support::{reply, spawn_app, Caller, Reply, TestApp};

/// Holds `table` locked so that the request sent by `request` waits on it, then
/// terminates the connection the request waits on; returns the request's answer.
async fn answer_when_its_connection_is_terminated<F>(
    app: &TestApp,
    table: &str,
    request: F,
) -> Reply
where
    F: std::future::Future<Output = Reply> + Send + 'static,
{
    let mut lock = app.pool.begin().await.unwrap();
    sqlx::query(&format!("LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
        .execute(&mut *lock)
        .await
        .unwrap();
    let answer = tokio::spawn(request);
    let mut terminated = 0_i64;
    for _ in 0..500 {
        terminated = sqlx::query_scalar(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
              WHERE datname = current_database() AND wait_event_type = 'Lock'
                AND pid <> pg_backend_pid()",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap();
        if terminated > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(terminated > 0, "the request never waited on the lock");
    lock.rollback().await.unwrap();
    tokio::time::timeout(Duration::from_secs(30), answer)
        .await
        .expect("the request is answered")
        .unwrap()
}

fn assert_database_unavailable(answer: &Reply) {
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert_eq!(answer.code(), "database_unavailable", "{}", answer.body);
    assert!(
        answer
            .header("retry-after")
            .is_some_and(|s| s.parse::<u64>().is_ok()),
        "Retry-After: {:?}",
        answer.header("retry-after")
    );
    assert!(
        !answer.body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("57P01"),
        "no internals in the body: {}",
        answer.body
    );
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_query_whose_connection_is_terminated_is_a_503_to_retry(pool: PgPool) {
    let app = spawn_app(pool, false).await;
    let request = reply(app.client.get(app.url("/queries/products")));
    let answer = answer_when_its_connection_is_terminated(&app, "read_products", request).await;
    assert_database_unavailable(&answer);

    // The pool replaces the dead connection: the retry is answered.
    let retry = app
        .query("/queries/products", Caller::Anonymous, None)
        .await;
    assert_eq!(retry.status, 200, "{}", retry.body);
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_command_whose_connection_is_terminated_is_a_503_and_appends_nothing(pool: PgPool) {
    let app = spawn_app(pool, false).await;
    let admin = app.token("admin-1", Role::Admin);
    let body = json!({"sku": "MUG-503", "name": "Mug", "description": "", "category": "Kitchen",
                      "brand": "Acme", "price": {"amount": 1200, "currency": "EUR"}});
    let request = reply(
        app.client
            .post(app.url("/commands/products"))
            .bearer_auth(&admin)
            .json(&body),
    );
    let answer = answer_when_its_connection_is_terminated(&app, "events", request).await;
    assert_database_unavailable(&answer);
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(events, 0, "nothing was appended");

    // Sent again, the same command is carried out.
    let retry = app
        .command("/commands/products", Caller::Bearer(&admin), body)
        .await;
    assert_eq!(retry.status, 201, "{}", retry.body);
}
