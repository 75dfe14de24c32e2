//! Webhook subscriptions over HTTP: made by admins with a secret shown once and
//! kept sealed, refused for endpoints the server must not call, listed without
//! secrets, disabled and enabled.

use serde_json::json;
use sqlx::PgPool;

use crate::fixtures::admin;
use crate::support::*;

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_subscription_shows_its_secret_once_and_keeps_it_sealed(pool: PgPool) {
    let app = spawn_app(pool.clone(), false).await;
    let admin = admin(&app);
    let created = app
        .command(
            "/commands/webhook-subscriptions",
            Caller::Bearer(&admin),
            json!({"url": "http://127.0.0.1:9/hooks", "event_types": ["OrderPlaced"],
                   "aggregate_types": ["payments"]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.header("cache-control"), Some("no-store"));
    let id = created.body["id"].as_str().unwrap().to_owned();
    let secret = created.body["secret"].as_str().unwrap().to_owned();
    assert!(
        secret.starts_with("whsec_") && secret.len() > 30,
        "{secret}"
    );

    let listed = app
        .query(
            "/queries/webhook-subscriptions",
            Caller::Bearer(&admin),
            None,
        )
        .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.body[0]["subscription_id"], json!(id));
    assert_eq!(listed.body[0]["aggregate_types"], json!(["Payment"]));
    assert_eq!(listed.body[0]["enabled"], true);
    assert!(
        !listed.body.to_string().contains(&secret),
        "a list shows no secret"
    );

    // In the database only sealed; the deliveries open it.
    let stored: Vec<u8> = sqlx::query_scalar("SELECT secret_sealed FROM webhook_subscriptions")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!String::from_utf8_lossy(&stored).contains(&secret[6..]));
    let opened = commands::webhooks::subscriptions::secret_of(&pool, id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(opened.as_deref(), Some(secret.as_str()));

    let disabled = app
        .command(
            &format!("/commands/webhook-subscriptions/{id}/disable"),
            Caller::Bearer(&admin),
            json!({}),
        )
        .await;
    assert_eq!(disabled.status, 200, "{}", disabled.body);
    assert_eq!(disabled.body["enabled"], false);
    let listed = app
        .query(
            "/queries/webhook-subscriptions",
            Caller::Bearer(&admin),
            None,
        )
        .await;
    assert_eq!(listed.body[0]["enabled"], false);
    let unknown = app
        .command(
            &format!(
                "/commands/webhook-subscriptions/{}/enable",
                uuid::Uuid::new_v4()
            ),
            Caller::Bearer(&admin),
            json!({}),
        )
        .await;
    assert_eq!(unknown.status, 404);
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn endpoints_the_server_must_not_call_are_refused_and_nothing_is_stored(pool: PgPool) {
    let app = spawn_app(pool.clone(), false).await;
    let admin = admin(&app);
    for (body, code) in [
        (
            json!({"url": "http://hooks.example.com/"}),
            "endpoint_refused",
        ),
        (
            json!({"url": "https://169.254.169.254/latest/meta-data/"}),
            "endpoint_refused",
        ),
        (json!({"url": "https://10.1.2.3/"}), "endpoint_refused"),
        (
            json!({"url": "https://user:pw@hooks.example.com/"}),
            "endpoint_refused",
        ),
        (
            json!({"url": "https://hooks.example.com/", "event_types": ["NoSuchEvent"]}),
            "invalid_subscription",
        ),
        (
            json!({"url": "https://hooks.example.com/", "aggregate_types": ["basket"]}),
            "invalid_subscription",
        ),
    ] {
        let refused = app
            .command(
                "/commands/webhook-subscriptions",
                Caller::Bearer(&admin),
                body.clone(),
            )
            .await;
        assert_eq!(refused.status, 400, "{body}: {}", refused.body);
        assert_eq!(refused.code(), code, "{body}");
    }
    let customer = app.token(&uuid::Uuid::new_v4().to_string(), api::auth::Role::Customer);
    let forbidden = app
        .command(
            "/commands/webhook-subscriptions",
            Caller::Bearer(&customer),
            json!({"url": "https://hooks.example.com/"}),
        )
        .await;
    assert_eq!(forbidden.status, 403);
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_subscriptions")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, 0);
}
