//! Rate limits per caller: every answer says where the caller stands, a caller past
//! their burst gets 429 with `Retry-After` and a problem body, and other callers
//! are not affected.

use api::auth::Role;
use serde_json::json;
use sqlx::PgPool;

use crate::support::{api_config, spawn_app_with, Caller, Reply, TestApp};

/// 60 a minute, 3 at once.
async fn limited_app(pool: PgPool) -> TestApp {
    let redis_url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let config = api::config::ApiConfig {
        rate_limit_per_minute: 60,
        rate_limit_burst: 3,
        ..api_config()
    };
    spawn_app_with(pool, true, &redis_url, config).await
}

fn standing(answer: &Reply) -> (u64, u64, u64) {
    let number = |name: &str| {
        answer
            .header(name)
            .unwrap_or_else(|| panic!("no {name} in {:?}", answer.headers))
            .parse::<u64>()
            .unwrap()
    };
    (
        number("x-ratelimit-limit"),
        number("x-ratelimit-remaining"),
        number("x-ratelimit-reset"),
    )
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_caller_past_their_burst_gets_429_and_others_are_served(pool: PgPool) {
    let app = limited_app(pool).await;
    let ada = app.token("ada", Role::Customer);
    let bob = app.token("bob", Role::Customer);

    for remaining in [2, 1, 0] {
        let answer = app
            .query("/queries/products", Caller::Bearer(&ada), None)
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let (limit, left, reset) = standing(&answer);
        assert_eq!((limit, left), (3, remaining));
        assert!((1..=3).contains(&reset), "full again within 3 s: {reset}");
    }
    let limited = app
        .query("/queries/products", Caller::Bearer(&ada), None)
        .await;
    assert_eq!(
        (limited.status, limited.code()),
        (429, "rate_limited"),
        "{}",
        limited.body
    );
    assert_eq!(
        limited.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(limited.body["status"], 429);
    assert!(limited.body["request_id"].is_string(), "{}", limited.body);
    let retry_after: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!(
        (1..=2).contains(&retry_after),
        "one token a second: {retry_after}"
    );
    assert_eq!(standing(&limited).1, 0);
    // Commands count against the same bucket.
    let command = app
        .command("/commands/carts", Caller::Bearer(&ada), json!({}))
        .await;
    assert_eq!(command.status, 429, "{}", command.body);

    // Bob, and an anonymous caller, each have a bucket of their own.
    let answer = app
        .query("/queries/products", Caller::Bearer(&bob), None)
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(standing(&answer).1, 2);
    let answer = app
        .query("/queries/products", Caller::Anonymous, None)
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(standing(&answer).1, 2);
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_limited_caller_is_served_again_after_retry_after(pool: PgPool) {
    let app = limited_app(pool).await;
    let ada = app.token("ada", Role::Customer);
    let mut last = None;
    for _ in 0..4 {
        last = Some(
            app.query("/queries/products", Caller::Bearer(&ada), None)
                .await,
        );
    }
    let limited = last.unwrap();
    assert_eq!(limited.status, 429);
    let retry_after: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(retry_after)).await;
    let answer = app
        .query("/queries/products", Caller::Bearer(&ada), None)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn requests_with_a_bad_token_are_limited_too(pool: PgPool) {
    let app = limited_app(pool).await;
    let mut statuses = Vec::new();
    for n in 0..6 {
        let answer = app
            .query(
                "/queries/products",
                Caller::Bearer(&format!("guess-{n}")),
                None,
            )
            .await;
        assert!(
            answer.header("x-ratelimit-limit").is_some(),
            "answer {n} ({}) has no X-RateLimit headers: {:?}",
            answer.status,
            answer.headers
        );
        statuses.push(answer.status);
    }
    assert!(
        statuses.contains(&429),
        "6 guesses at a burst of 3: {statuses:?}"
    );
}
