//! `Idempotency-Key`: a retry with the same key and body gets the first answer and
//! appends nothing; another body under the key is refused; a key still in use is a
//! 409; a 5xx is forgotten; records outlive the process; a checkout sent twice at
//! once places one order.

use api::auth::Role;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::fixtures::{
    add_item, admin, checkout_body, count_events, count_events_of, customer, customer_cart,
    draft_product, guest_cart, published_product, ADMIN,
};
use crate::support::{reply, spawn_app, without_projectors, Caller, Reply, TestApp};

/// POSTs the exact `body` bytes to `path` as `caller` under `key`.
pub(crate) async fn keyed(
    app: &TestApp,
    path: &str,
    caller: Caller<'_>,
    key: &str,
    body: &Value,
) -> Reply {
    let request = app
        .client
        .post(app.url(path))
        .header("Idempotency-Key", key)
        .header("Content-Type", "application/json")
        .body(serde_json::to_vec(body).unwrap());
    reply(caller.apply(request)).await
}

fn replayed(answer: &Reply) -> bool {
    answer.header("idempotent-replayed") == Some("true")
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_retry_with_the_same_key_gets_the_first_answer_and_appends_nothing(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    let admin = admin(&app);
    let product = json!({"sku": "MUG-1", "name": "Mug", "description": "", "category": "kitchen",
                         "brand": "Acme", "price": {"amount": 1000, "currency": "EUR"}});
    let first = keyed(
        &app,
        "/commands/products",
        Caller::Bearer(&admin),
        "create-mug",
        &product,
    )
    .await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert!(!replayed(&first));
    let events = count_events(&pool).await;

    for _ in 0..2 {
        let again = keyed(
            &app,
            "/commands/products",
            Caller::Bearer(&admin),
            "create-mug",
            &product,
        )
        .await;
        assert_eq!(again.status, 201, "{}", again.body);
        assert_eq!(again.body, first.body, "the same id, version and token");
        assert!(replayed(&again), "{:?}", again.headers);
        assert_eq!(again.header("content-type"), Some("application/json"));
    }
    assert_eq!(
        count_events(&pool).await,
        events,
        "a replay appends nothing"
    );
    let products: i64 = sqlx::query_scalar("SELECT count(*) FROM product_skus")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(products, 1);

    // A guest's retries are keyed by their cart token, and count once.
    let id = first.body["id"].as_str().unwrap();
    let published = app
        .command(
            &format!("/commands/products/{id}/publish"),
            Caller::Bearer(&admin),
            json!({}),
        )
        .await;
    assert_eq!(published.status, 200);
    let cart = guest_cart(&app).await;
    let path = format!("/commands/carts/{}/add-item", cart.id);
    let add = json!({"sku": "MUG-1", "quantity": 2});
    let added = keyed(&app, &path, Caller::Guest(&cart.token), "add-2-mugs", &add).await;
    assert_eq!(added.status, 200, "{}", added.body);
    let again = keyed(&app, &path, Caller::Guest(&cart.token), "add-2-mugs", &add).await;
    assert_eq!((again.status, &again.body), (200, &added.body));
    assert!(replayed(&again));
    let view = app
        .query(
            &format!("/queries/carts/{}", cart.id),
            Caller::Guest(&cart.token),
            Some(&added.consistency()),
        )
        .await;
    assert_eq!(view.body["lines"][0]["quantity"], 2, "{}", view.body);
    assert_eq!(view.body["version"], 2);

    // A refusal is an answer too: replayed, not run again.
    let too_many = json!({"sku": "MUG-1", "quantity": 998});
    let refused = keyed(
        &app,
        &path,
        Caller::Guest(&cart.token),
        "too-many",
        &too_many,
    )
    .await;
    assert_eq!(
        (refused.status, refused.code()),
        (422, "quantity_limit_exceeded")
    );
    let again = keyed(
        &app,
        &path,
        Caller::Guest(&cart.token),
        "too-many",
        &too_many,
    )
    .await;
    assert_eq!(again.status, 422);
    assert_eq!(again.code(), "quantity_limit_exceeded");
    assert!(replayed(&again));
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_key_reused_for_another_request_is_refused(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    let admin = admin(&app);
    let (id, _) = draft_product(&app, "MUG-1", 1000, "kitchen").await;
    let path = format!("/commands/products/{id}/change-price");
    let price = |amount: i64| json!({"price": {"amount": amount, "currency": "EUR"}});
    let first = keyed(&app, &path, Caller::Bearer(&admin), "reprice", &price(1100)).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let events = count_events(&pool).await;

    let other_body = keyed(&app, &path, Caller::Bearer(&admin), "reprice", &price(1200)).await;
    assert_eq!(
        (other_body.status, other_body.code()),
        (422, "idempotency_key_reused"),
        "{}",
        other_body.body
    );
    assert_eq!(
        other_body.header("content-type"),
        Some("application/problem+json")
    );
    let other_path = keyed(
        &app,
        &format!("/commands/products/{id}/update"),
        Caller::Bearer(&admin),
        "reprice",
        &price(1100),
    )
    .await;
    assert_eq!(
        (other_path.status, other_path.code()),
        (422, "idempotency_key_reused")
    );
    assert_eq!(count_events(&pool).await, events);

    // Keys belong to their caller: another admin's "reprice" is a new request.
    let other_admin = app.token("admin-bob", Role::Admin);
    let theirs = keyed(
        &app,
        &path,
        Caller::Bearer(&other_admin),
        "reprice",
        &price(1200),
    )
    .await;
    assert_eq!(theirs.status, 200, "{}", theirs.body);
    assert!(!replayed(&theirs));
    assert_eq!(count_events(&pool).await, events + 1);

    // A key must be 1 to 255 printable ASCII characters.
    for key in ["", &"k".repeat(256), "with space", "tab\there"] {
        let answer = keyed(&app, &path, Caller::Bearer(&admin), key, &price(1300)).await;
        assert_eq!(
            (answer.status, answer.code()),
            (400, "invalid_idempotency_key"),
            "{key:?}: {}",
            answer.body
        );
    }
    assert_eq!(count_events(&pool).await, events + 1);
}

/// The fingerprint the API keeps for a request: method, path and body, keyed
/// with the personal data key (a body may hold personal data).
fn fingerprint(path: &str, body: &[u8]) -> Vec<u8> {
    let mut request = b"POST\0".to_vec();
    request.extend_from_slice(path.as_bytes());
    request.push(0);
    request.extend_from_slice(body);
    eventlog::personal::installed()
        .expect("spawn_app installs the test key")
        .keyed_digest(b"idempotency fingerprint\0", &[&request])
        .to_vec()
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_key_whose_first_request_is_still_running_answers_409(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    let admin = admin(&app);
    let (id, _) = draft_product(&app, "MUG-1", 1000, "kitchen").await;
    let path = format!("/commands/products/{id}/publish");
    let body = json!({});
    // The first request claimed the key and has not answered yet.
    sqlx::query(
        "INSERT INTO idempotency_records (scope, idempotency_key, fingerprint) VALUES ($1, 'publish', $2)",
    )
    .bind(format!("sub:{ADMIN}"))
    .bind(fingerprint(&path, &serde_json::to_vec(&body).unwrap()))
    .execute(&pool)
    .await
    .unwrap();
    let events = count_events(&pool).await;

    let answer = keyed(&app, &path, Caller::Bearer(&admin), "publish", &body).await;
    assert_eq!(
        (answer.status, answer.code()),
        (409, "idempotency_key_in_use"),
        "{}",
        answer.body
    );
    assert_eq!(
        answer.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(count_events(&pool).await, events);

    // A claim whose request died long ago (past its lease) is taken over by the retry.
    sqlx::query("UPDATE idempotency_records SET created_at = now() - interval '5 minutes'")
        .execute(&pool)
        .await
        .unwrap();
    let answer = keyed(&app, &path, Caller::Bearer(&admin), "publish", &body).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(count_events(&pool).await, events + 1);
    let again = keyed(&app, &path, Caller::Bearer(&admin), "publish", &body).await;
    assert!(replayed(&again));
    assert_eq!(again.body, answer.body);
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_5xx_answer_is_forgotten_so_the_retry_runs(pool: PgPool) {
    // attach-customer reads the carts read model at the head of the log; with no
    // projector running it cannot, and answers 503 after a short wait.
    let app = without_projectors(pool.clone(), 300).await;
    let cart = guest_cart(&app).await;
    let ada = crate::fixtures::customer(&app);
    let path = format!("/commands/carts/{}/attach-customer", cart.id);
    let caller = Caller::BearerWithCart(&ada.token, &cart.token);
    let body = json!({});
    let failed = keyed(&app, &path, caller, "sign-in", &body).await;
    assert_eq!(failed.status, 503, "{}", failed.body);
    assert_eq!(
        failed.header("content-type"),
        Some("application/problem+json")
    );
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM idempotency_records")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(kept, 0, "a 5xx is not remembered");

    // The projectors are back (a restart): the retry with the same key runs.
    drop(app);
    let app = spawn_app(pool.clone(), true).await;
    let retried = keyed(&app, &path, caller, "sign-in", &body).await;
    assert_eq!(retried.status, 200, "{}", retried.body);
    assert!(!replayed(&retried), "the retry ran");
    assert_eq!(
        count_events_of(&pool, &cart.id, "CartAttachedToCustomer").await,
        1
    );
    let again = keyed(&app, &path, caller, "sign-in", &body).await;
    assert!(replayed(&again));
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn idempotency_records_survive_a_restart(pool: PgPool) {
    let app = spawn_app(pool.clone(), false).await;
    let ada = customer(&app);
    let body = json!({"currency": "EUR"});
    let first = keyed(
        &app,
        "/commands/carts",
        Caller::Bearer(&ada.token),
        "open-my-cart",
        &body,
    )
    .await;
    assert_eq!(first.status, 201, "{}", first.body);
    let events = count_events(&pool).await;
    drop(app);

    let restarted = spawn_app(pool.clone(), false).await;
    let again = keyed(
        &restarted,
        "/commands/carts",
        Caller::Bearer(&ada.token),
        "open-my-cart",
        &body,
    )
    .await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert!(replayed(&again));
    assert_eq!(again.body, first.body, "the same cart");
    assert_eq!(count_events(&pool).await, events);
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn the_same_checkout_sent_many_times_at_once_places_one_order(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    published_product(&app, "MUG-1", 1000, "kitchen").await;
    let ada = customer(&app);
    let cart = customer_cart(&app, &ada).await;
    add_item(&app, &cart, Caller::Bearer(&ada.token), "MUG-1", 1).await;
    let path = format!("/commands/carts/{cart}/checkout");
    let body = checkout_body();

    let answers = futures::future::join_all(
        (0..8).map(|_| keyed(&app, &path, Caller::Bearer(&ada.token), "checkout-1", &body)),
    )
    .await;
    let mut order_ids = std::collections::BTreeSet::new();
    for answer in &answers {
        match answer.status {
            200 => {
                order_ids.insert(answer.body["order_id"].as_str().unwrap().to_owned());
            }
            409 => assert_eq!(answer.code(), "idempotency_key_in_use"),
            other => panic!("unexpected {other}: {}", answer.body),
        }
    }
    assert_eq!(order_ids.len(), 1, "one order: {answers:?}");
    assert_eq!(count_events_of(&pool, &cart, "CartCheckedOut").await, 1);
    // Later retries get the same order.
    let later = keyed(&app, &path, Caller::Bearer(&ada.token), "checkout-1", &body).await;
    assert_eq!(later.status, 200);
    assert!(replayed(&later));
    assert_eq!(
        Some(later.body["order_id"].as_str().unwrap()),
        order_ids.iter().next().map(String::as_str)
    );
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn two_guests_choosing_the_same_key_never_see_each_others_answer(pool: PgPool) {
    let app = spawn_app(pool.clone(), false).await;
    // Two guests with no token and no cart yet, each opening a cart under key "1".
    let first = keyed(&app, "/commands/carts", Caller::Anonymous, "1", &json!({})).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let second = keyed(&app, "/commands/carts", Caller::Anonymous, "1", &json!({})).await;
    assert_eq!(second.status, 201, "{}", second.body);
    assert!(
        !replayed(&second) && second.body["cart_token"] != first.body["cart_token"],
        "the second guest was handed the first guest's cart and its token: {}",
        second.body
    );
}
