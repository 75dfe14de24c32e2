//! Read-your-writes: a query given a command's consistency token waits for its read
//! model to pass it, and answers 503 `consistency_timeout` rather than something
//! stale when the bound runs out; a token that is not one is a 400.

use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::PgPool;

use crate::fixtures::{admin, count_events_of, customer, customer_cart, draft_product, guest_cart};
use crate::support::{spawn_app, without_projectors, Caller};

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_read_model_that_does_not_reach_the_token_in_time_is_a_503(pool: PgPool) {
    let app = without_projectors(pool, 300).await;
    let admin = admin(&app);
    let (id, created) = draft_product(&app, "MUG-1", 1000, "kitchen").await;
    let token = created.consistency();

    for path in [
        format!("/queries/products/{id}"),
        "/queries/products?limit=5".to_owned(),
    ] {
        let started = Instant::now();
        let answer = app.query(&path, Caller::Bearer(&admin), Some(&token)).await;
        let waited = started.elapsed();
        assert_eq!(
            (answer.status, answer.code()),
            (503, "consistency_timeout"),
            "GET {path}: {}",
            answer.body
        );
        assert_eq!(
            answer.header("content-type"),
            Some("application/problem+json")
        );
        assert!(
            answer.body["detail"].as_str().unwrap().contains("products"),
            "{}",
            answer.body
        );
        assert!(
            waited >= Duration::from_millis(300) && waited < Duration::from_secs(3),
            "waited {waited:?} for a bound of 300 ms"
        );
    }
    // The token may come as a query parameter too.
    let answer = app
        .query(
            &format!("/queries/products/{id}?consistency_token={token}"),
            Caller::Bearer(&admin),
            None,
        )
        .await;
    assert_eq!(
        (answer.status, answer.code()),
        (503, "consistency_timeout"),
        "{}",
        answer.body
    );
    // Without a token the query answers at once, with what the read model has.
    let answer = app
        .query(
            &format!("/queries/products/{id}"),
            Caller::Bearer(&admin),
            None,
        )
        .await;
    assert_eq!(answer.status, 404, "{}", answer.body);
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_token_waits_for_the_write_behind_it(pool: PgPool) {
    let app = spawn_app(pool, true).await;
    let admin = admin(&app);
    // Many writes in a row; each read with its token sees that very write.
    let (id, _) = draft_product(&app, "MUG-1", 1000, "kitchen").await;
    for amount in 1001..1011 {
        let changed = app
            .command(
                &format!("/commands/products/{id}/change-price"),
                Caller::Bearer(&admin),
                json!({"price": {"amount": amount, "currency": "EUR"}}),
            )
            .await;
        assert_eq!(changed.status, 200);
        let view = app
            .query(
                &format!("/queries/products/{id}"),
                Caller::Bearer(&admin),
                Some(&changed.consistency()),
            )
            .await;
        assert_eq!(view.status, 200, "{}", view.body);
        assert_eq!(view.body["price"]["amount"], amount);
    }
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_malformed_consistency_token_is_a_400(pool: PgPool) {
    let app = spawn_app(pool, true).await;
    let cart = guest_cart(&app).await;
    for token in [
        "",
        "banana",
        "12",
        "1:",
        ":1",
        "x:y",
        "1:2:3",
        "-1:-1",
        "99999999999999999999999:1",
    ] {
        for path in [
            format!("/queries/carts/{}", cart.id),
            "/queries/products".to_owned(),
        ] {
            let answer = app
                .query(&path, Caller::Guest(&cart.token), Some(token))
                .await;
            assert_eq!(
                (answer.status, answer.code()),
                (400, "invalid_consistency_token"),
                "token {token:?} on {path}: {}",
                answer.body
            );
            assert_eq!(
                answer.header("content-type"),
                Some("application/problem+json")
            );
        }
    }
    let answer = app
        .query(
            "/queries/products?consistency_token=banana",
            Caller::Anonymous,
            None,
        )
        .await;
    assert_eq!(
        (answer.status, answer.code()),
        (400, "invalid_consistency_token")
    );
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn signing_in_never_leaves_two_open_carts_while_the_read_model_lags(pool: PgPool) {
    // The customer's open cart is looked up in the carts read model once it has
    // reached the head of the log; while it cannot (no projector runs here), the
    // answer is 503 and nothing is attached, never a second open cart.
    let app = without_projectors(pool.clone(), 300).await;
    let ada = customer(&app);
    let theirs = customer_cart(&app, &ada).await;
    let guest = guest_cart(&app).await;
    let answer = app
        .command(
            &format!("/commands/carts/{}/attach-customer", guest.id),
            Caller::BearerWithCart(&ada.token, &guest.token),
            json!({}),
        )
        .await;
    assert_eq!(
        (answer.status, answer.code()),
        (503, "consistency_timeout"),
        "customer {} already has open cart {theirs}: {}",
        ada.id,
        answer.body
    );
    assert_eq!(
        count_events_of(&pool, &guest.id, "CartAttachedToCustomer").await,
        0
    );
}
