//! Customer accounts over HTTP: registration, sign-in, refresh rotation with reuse
//! detection, sign-out, the limit on failed sign-ins, and erasure.

use serde_json::{json, Value};
use sqlx::PgPool;

use crate::support::*;

const PASSWORD: &str = "correct horse battery staple";

async fn register(app: &TestApp, email: &str) -> Reply {
    app.command(
        "/commands/customers",
        Caller::Anonymous,
        json!({"email": email, "name": "Ada Lovelace", "password": PASSWORD}),
    )
    .await
}

async fn sign_in(app: &TestApp, email: &str, password: &str) -> Reply {
    app.command(
        "/auth/sign-in",
        Caller::Anonymous,
        json!({"email": email, "password": password}),
    )
    .await
}

async fn refresh(app: &TestApp, token: &Value) -> Reply {
    app.command(
        "/auth/refresh",
        Caller::Anonymous,
        json!({"refresh_token": token}),
    )
    .await
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_customer_registers_signs_in_and_acts_as_themselves(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    let registered = register(&app, "ada@example.com").await;
    assert_eq!(registered.status, 201, "{}", registered.body);
    let customer = registered.body["id"].as_str().unwrap().to_owned();

    let taken = register(&app, "ADA@example.com").await;
    assert_eq!(taken.status, 409, "{}", taken.body);
    assert_eq!(taken.code(), "email_taken");
    let weak = app
        .command(
            "/commands/customers",
            Caller::Anonymous,
            json!({"email": "b@example.com", "name": "B", "password": "short"}),
        )
        .await;
    assert_eq!(weak.status, 400, "{}", weak.body);
    assert_eq!(weak.code(), "invalid_password");

    let signed_in = sign_in(&app, "Ada@Example.com", PASSWORD).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.body);
    assert_eq!(signed_in.body["customer_id"], json!(customer));
    assert_eq!(signed_in.body["expires_in"], 900);
    assert_eq!(signed_in.header("cache-control"), Some("no-store"));
    let access = signed_in.body["access_token"].as_str().unwrap().to_owned();

    let cart = app
        .command("/commands/carts", Caller::Bearer(&access), json!({}))
        .await;
    assert_eq!(cart.status, 201, "{}", cart.body);
    let view = app
        .query(
            &format!("/queries/carts/{}", cart.body["id"].as_str().unwrap()),
            Caller::Bearer(&access),
            Some(&cart.consistency()),
        )
        .await;
    assert_eq!(view.body["customer_id"], json!(customer), "{}", view.body);

    // No password and no address in the clear anywhere in the database.
    let hashes: Vec<String> = sqlx::query_scalar("SELECT password_hash FROM customer_credentials")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(hashes
        .iter()
        .all(|h| h.starts_with("$argon2id$") && !h.contains(PASSWORD)));
    let registered_event: String = sqlx::query_scalar(
        "SELECT payload::text FROM events WHERE event_type = 'CustomerRegistered'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(
        !registered_event.contains("ada@example.com"),
        "{registered_event}"
    );
    assert!(
        !registered_event.contains("Ada Lovelace"),
        "{registered_event}"
    );
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_wrong_password_and_an_unknown_address_get_the_same_answer(pool: PgPool) {
    let app = spawn_app(pool, false).await;
    assert_eq!(register(&app, "ada@example.com").await.status, 201);
    let wrong = sign_in(&app, "ada@example.com", "not the password at all").await;
    let unknown = sign_in(&app, "nobody@example.com", PASSWORD).await;
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert_eq!(
        (wrong.status, wrong.code(), &wrong.body["detail"]),
        (unknown.status, unknown.code(), &unknown.body["detail"])
    );
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_refresh_token_works_once_and_a_spent_one_revokes_its_whole_sign_in(pool: PgPool) {
    let app = spawn_app(pool, false).await;
    assert_eq!(register(&app, "ada@example.com").await.status, 201);
    let first = sign_in(&app, "ada@example.com", PASSWORD).await.body;

    let second = refresh(&app, &first["refresh_token"]).await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_ne!(second.body["refresh_token"], first["refresh_token"]);

    // The first token, spent, comes back: stolen, so the family goes.
    let replayed = refresh(&app, &first["refresh_token"]).await;
    assert_eq!(replayed.status, 401, "{}", replayed.body);
    assert!(replayed.body["detail"]
        .as_str()
        .unwrap()
        .contains("used before"));
    let after = refresh(&app, &second.body["refresh_token"]).await;
    assert_eq!(
        after.status, 401,
        "the newest token of the family is revoked too"
    );

    // Another sign-in is another family; signing out revokes it.
    let other = sign_in(&app, "ada@example.com", PASSWORD).await.body;
    let out = app
        .command(
            "/auth/sign-out",
            Caller::Anonymous,
            json!({"refresh_token": other["refresh_token"]}),
        )
        .await;
    assert_eq!(out.status, 204);
    assert_eq!(refresh(&app, &other["refresh_token"]).await.status, 401);
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn ten_failed_sign_ins_lock_the_account_even_for_the_right_password(pool: PgPool) {
    let app = spawn_app(pool, false).await;
    assert_eq!(register(&app, "ada@example.com").await.status, 201);
    for attempt in 0..10 {
        let failed = sign_in(&app, "ada@example.com", "guessing wrongly here").await;
        assert_eq!(failed.status, 401, "attempt {attempt}: {}", failed.body);
    }
    let locked = sign_in(&app, "ada@example.com", PASSWORD).await;
    assert_eq!(locked.status, 429, "{}", locked.body);
    assert!(locked.header("retry-after").is_some());
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn an_erased_customer_cannot_sign_in_and_their_address_is_free_again(pool: PgPool) {
    let app = spawn_app(pool.clone(), false).await;
    let registered = register(&app, "ada@example.com").await;
    let customer = registered.body["id"].as_str().unwrap().to_owned();
    let signed_in = sign_in(&app, "ada@example.com", PASSWORD).await.body;
    let access = signed_in["access_token"].as_str().unwrap().to_owned();

    let someone_else = app.token(&uuid::Uuid::new_v4().to_string(), api::auth::Role::Customer);
    let refused = app
        .command(
            &format!("/commands/customers/{customer}/erase"),
            Caller::Bearer(&someone_else),
            json!({}),
        )
        .await;
    assert_eq!(refused.status, 404, "{}", refused.body);

    let erased = app
        .command(
            &format!("/commands/customers/{customer}/erase"),
            Caller::Bearer(&access),
            json!({}),
        )
        .await;
    assert_eq!(erased.status, 200, "{}", erased.body);
    assert_eq!(sign_in(&app, "ada@example.com", PASSWORD).await.status, 401);
    assert_eq!(refresh(&app, &signed_in["refresh_token"]).await.status, 401);
    let left: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM customer_emails) + (SELECT count(*) FROM customer_credentials)
              + (SELECT count(*) FROM refresh_tokens)
              + (SELECT count(*) FROM personal_data_keys WHERE wrapped_key IS NOT NULL)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        left, 0,
        "nothing of the customer is left but the erased key's row"
    );
    assert_eq!(register(&app, "ada@example.com").await.status, 201);
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn the_address_book_s_default_is_where_a_checkout_goes_and_the_address_verifies(
    pool: PgPool,
) {
    let app = spawn_app(pool, true).await;
    let registered = register(&app, "ada@example.com").await;
    let id = registered.body["id"].as_str().unwrap().to_owned();
    let token = sign_in(&app, "ada@example.com", PASSWORD).await.body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let me = Caller::Bearer(&token);

    let added = app
        .command(
            &format!("/commands/customers/{id}/addresses"),
            Caller::Bearer(&token),
            json!({"address": crate::fixtures::address()}),
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let address_id = added.body["address_id"].as_str().unwrap().to_owned();
    let made_default = app
        .command(
            &format!("/commands/customers/{id}/addresses/{address_id}/make-default"),
            Caller::Bearer(&token),
            json!({}),
        )
        .await;
    assert_eq!(made_default.status, 200, "{}", made_default.body);
    let profile = app
        .query(&format!("/queries/customers/{id}"), me, None)
        .await;
    assert_eq!(profile.status, 200, "{}", profile.body);
    assert_eq!(profile.body["email"], "ada@example.com");
    assert_eq!(profile.body["email_verified"], false);
    assert_eq!(profile.body["addresses"][0]["default"], true);
    assert_eq!(profile.body["open_cart_id"], Value::Null);
    let stranger = app.token(&uuid::Uuid::new_v4().to_string(), api::auth::Role::Customer);
    let hidden = app
        .query(
            &format!("/queries/customers/{id}"),
            Caller::Bearer(&stranger),
            None,
        )
        .await;
    assert_eq!(hidden.status, 404);

    // A checkout that names neither goes to the account's address and default.
    crate::fixtures::published_product(&app, "MUG-1", 1250, "mugs").await;
    crate::fixtures::stocked(&app, "MUG-1", 0, 5).await;
    let who = crate::fixtures::Customer {
        id: id.parse().unwrap(),
        token: token.clone(),
    };
    let cart = crate::fixtures::customer_cart(&app, &who).await;
    let added = crate::fixtures::add_item(&app, &cart, Caller::Bearer(&token), "MUG-1", 1).await;
    let profile = app
        .query(
            &format!("/queries/customers/{id}"),
            Caller::Bearer(&token),
            Some(&added.consistency()),
        )
        .await;
    assert_eq!(
        profile.body["open_cart_id"],
        json!(cart),
        "{}",
        profile.body
    );
    let checked_out = app
        .command(
            &format!("/commands/carts/{cart}/checkout"),
            Caller::Bearer(&token),
            json!({"payment_token": "tok_visa"}),
        )
        .await;
    assert_eq!(checked_out.status, 200, "{}", checked_out.body);
    let order =
        crate::fixtures::order_view(&app, &who, checked_out.body["order_id"].as_str().unwrap())
            .await;
    assert_eq!(order["email"], "ada@example.com");
    assert_eq!(order["shipping_address"]["city"], "London");

    // The token sent to the address verifies it; another does not.
    let tokens = api::auth::CartTokens::new(&api::secret::Secret::new(format!(
        "cart-tokens:{JWT_SECRET}"
    )));
    let index = commands::accounts::email_index("ada@example.com").unwrap();
    let expires = chrono::Utc::now().timestamp() + 60;
    let forged = tokens.email_verification(who_id(&id), &[0; 32], expires);
    let refused = app
        .command(
            &format!("/commands/customers/{id}/verify-email"),
            Caller::Anonymous,
            json!({"token": forged}),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(refused.code(), "verification_invalid");
    let verified = app
        .command(
            &format!("/commands/customers/{id}/verify-email"),
            Caller::Anonymous,
            json!({"token": tokens.email_verification(who_id(&id), &index, expires)}),
        )
        .await;
    assert_eq!(verified.status, 200, "{}", verified.body);
    let profile = app
        .query(
            &format!("/queries/customers/{id}"),
            Caller::Bearer(&token),
            None,
        )
        .await;
    assert_eq!(profile.body["email_verified"], true, "{}", profile.body);
}

fn who_id(id: &str) -> domain::shared::CustomerId {
    domain::shared::CustomerId::new(id.parse().unwrap())
}
