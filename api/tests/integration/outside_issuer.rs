//! Tokens of an outside OpenID Connect issuer (RS256): accepted over HTTP only for
//! the configured issuer and audience, beside the service's own tokens.

use std::path::PathBuf;

use api::auth::{external_customer_id, Role};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::json;
use sqlx::PgPool;

use crate::support::*;

const ISSUER: &str = "https://id.example.com/";
const AUDIENCE: &str = "commerce-storefront";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn issued(subject: &str, audience: &str) -> String {
    issued_with(json!({"sub": subject, "iss": ISSUER, "aud": audience,
        "email": "a@example.com", "exp": chrono::Utc::now().timestamp() + 300}))
}

fn issued_with(claims: serde_json::Value) -> String {
    let pem = std::fs::read(fixture("oidc-test-private.pem")).unwrap();
    encode(
        &Header::new(Algorithm::RS256),
        &claims,
        &EncodingKey::from_rsa_pem(&pem).unwrap(),
    )
    .unwrap()
}

async fn app_trusting_the_issuer(pool: PgPool) -> TestApp {
    let redis_url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let config = api::config::ApiConfig {
        jwt_public_key_file: Some(fixture("oidc-test-public.pem")),
        jwt_issuer: Some(ISSUER.into()),
        jwt_audience: Some(AUDIENCE.into()),
        ..api_config()
    };
    spawn_app_with(pool, true, &redis_url, config).await
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn an_outside_token_for_another_audience_is_refused_and_one_for_this_api_is_a_customer(
    pool: PgPool,
) {
    let app = app_trusting_the_issuer(pool).await;

    let foreign = issued("auth0|42", "some-other-app");
    let refused = app
        .command("/commands/carts", Caller::Bearer(&foreign), json!({}))
        .await;
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("audience"),
        "{}",
        refused.body
    );

    let token = issued("auth0|42", AUDIENCE);
    let opened = app
        .command("/commands/carts", Caller::Bearer(&token), json!({}))
        .await;
    assert_eq!(opened.status, 201, "{}", opened.body);
    let cart = opened.body["id"].as_str().unwrap().to_owned();
    let customer = external_customer_id(ISSUER, "auth0|42");
    let own = app.token(&customer.to_string(), Role::Customer);
    let view = app
        .query(
            &format!("/queries/carts/{cart}"),
            Caller::Bearer(&own),
            Some(&opened.consistency()),
        )
        .await;
    // The service's own token for the same customer reaches the cart: one
    // customer, whichever issuer signed the token.
    assert_eq!(view.status, 200, "{}", view.body);
    assert_eq!(view.body["customer_id"], json!(customer));
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn an_outside_issuer_s_key_without_issuer_and_audience_is_refused_at_start(pool: PgPool) {
    let config = api::config::ApiConfig {
        jwt_public_key_file: Some(fixture("oidc-test-public.pem")),
        jwt_issuer: None,
        jwt_audience: Some(AUDIENCE.into()),
        ..api_config()
    };
    let wakeups =
        eventlog::LogWakeups::start(pool.clone(), tokio_util::sync::CancellationToken::new());
    let refused = api::server::app_state(
        pool,
        wakeups,
        &api::config::RedisConfig::default(),
        projections::runtime::ProjectorStates::default(),
        None,
        &config,
    );
    let error = refused.err().expect("the server must not start");
    assert!(error.to_string().contains("JWT_ISSUER"), "{error:#}");
}

fn id_token(subject: &str, email: &str, verified: bool) -> String {
    issued_with(
        json!({"sub": subject, "iss": ISSUER, "aud": AUDIENCE, "email": email,
        "email_verified": verified, "name": "Grace Hopper",
        "exp": chrono::Utc::now().timestamp() + 300}),
    )
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_first_sign_in_through_the_issuer_opens_the_account_once(pool: PgPool) {
    let app = app_trusting_the_issuer(pool).await;
    let exchange = |token: String| {
        let app = &app;
        async move {
            app.command("/auth/sign-in/external", Caller::Bearer(&token), json!({}))
                .await
        }
    };
    let first = exchange(id_token("google|7", "grace@example.com", true)).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let customer = external_customer_id(ISSUER, "google|7");
    assert_eq!(first.body["customer_id"], json!(customer));
    let access = first.body["access_token"].as_str().unwrap().to_owned();
    let profile = app
        .query(
            &format!("/queries/customers/{customer}"),
            Caller::Bearer(&access),
            None,
        )
        .await;
    assert_eq!(profile.status, 200, "{}", profile.body);
    assert_eq!(profile.body["email"], "grace@example.com");
    assert_eq!(profile.body["email_verified"], true);
    assert_eq!(profile.body["name"], "Grace Hopper");

    let again = exchange(id_token("google|7", "grace@example.com", true)).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["customer_id"], json!(customer));
    assert_eq!(profile.body["version"], 1, "one account, registered once");

    let unverified = exchange(id_token("google|8", "someone@example.com", false)).await;
    assert_eq!(unverified.status, 422, "{}", unverified.body);
    assert_eq!(unverified.code(), "provider_email_unverified");
    let takeover = exchange(id_token("google|9", "grace@example.com", true)).await;
    assert_eq!(takeover.status, 409, "{}", takeover.body);
    assert_eq!(takeover.code(), "email_taken");
}
