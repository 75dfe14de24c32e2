//! Personal data in the log: sealed under the customer's own key when written,
//! opened for every reader, and unreadable everywhere once the key is destroyed,
//! with every hash chain still intact.

use eventlog::integrity::{verify_chains, ChainScope};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::fixtures::*;
use crate::support::*;

const EMAIL: &str = "ada.lovelace@example.com";

/// A customer's checkout of one mug; answers the order id.
async fn checked_out(app: &TestApp, who: &Customer) -> String {
    published_product(app, "MUG-1", 1250, "mugs").await;
    stocked(app, "MUG-1", 0, 10).await;
    let cart = customer_cart(app, who).await;
    add_item(app, &cart, Caller::Bearer(&who.token), "MUG-1", 1).await;
    let checkout = app
        .command(
            &format!("/commands/carts/{cart}/checkout"),
            Caller::Bearer(&who.token),
            json!({"email": EMAIL, "shipping_address": address(), "payment_token": "tok_visa"}),
        )
        .await;
    assert_eq!(checkout.status, 200, "{}", checkout.body);
    checkout.body["order_id"].as_str().unwrap().to_owned()
}

async fn stored_payloads(pool: &PgPool) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT event_type, payload::text FROM events
          WHERE event_type IN ('CartCheckedOut', 'OrderPlaced') ORDER BY global_position",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn personal_fields_are_sealed_in_the_log_read_in_the_clear_and_erased_with_the_key(
    pool: PgPool,
) {
    let app = spawn_app(pool.clone(), true).await;
    let who = customer(&app);
    let order = checked_out(&app, &who).await;

    // In the log: neither the e-mail address nor the name nor the street, but the
    // country, which accounting keeps.
    projectors_caught_up(&pool).await;
    let stored = stored_payloads(&pool).await;
    assert_eq!(stored.len(), 2, "{stored:?}");
    for (event_type, payload) in &stored {
        for secret in [EMAIL, "Ada Lovelace", "1 Main St", "N1 1AA", "London"] {
            assert!(
                !payload.contains(secret),
                "{event_type} holds {secret}: {payload}"
            );
        }
        let value: Value = serde_json::from_str(payload).unwrap();
        let fields = &value[event_type];
        assert!(fields["email"].as_str().unwrap().starts_with("$sealed:1:"));
        assert_eq!(fields["shipping_address"]["country"], "GB");
    }

    // Every reader sees them in the clear: the order view, built by a projector.
    let view = order_view(&app, &who, &order).await;
    assert_eq!(view["email"], EMAIL, "{view}");
    assert_eq!(view["shipping_address"]["name"], "Ada Lovelace");

    // The key destroyed: a rebuilt read model reads them as erased; the chains
    // still verify, for the hash covers what was written.
    let keys = eventlog::personal::installed().unwrap();
    keys.erase(&pool, who.id).await.unwrap();
    projections::runtime::request_rebuild(&pool, "orders")
        .await
        .unwrap();
    let erased = crate::checkout_process::eventually(
        || async { order_view(&app, &who, &order).await },
        |o| o["email"] == domain::personal::ERASED_EMAIL,
    )
    .await;
    assert_eq!(erased["shipping_address"]["name"], "erased");
    assert_eq!(erased["shipping_address"]["country"], "GB");
    let report = verify_chains(&pool, &ChainScope::default()).await.unwrap();
    assert!(report.is_intact(), "{report:?}");
    let wrapped: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT wrapped_key FROM personal_data_keys WHERE subject = $1")
            .bind(who.id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(wrapped, None);
    assert_eq!(
        stored_payloads(&pool).await,
        stored,
        "no event was rewritten"
    );
}

/// `pg_dump` of the test's own database, as text.
fn dump_of(pool: &PgPool) -> String {
    let server = std::env::var("DATABASE_URL").unwrap();
    let base = &server[..server.rfind('/').unwrap()];
    let database = pool.connect_options().get_database().unwrap().to_owned();
    let output = std::process::Command::new("pg_dump")
        .arg(format!("--dbname={base}/{database}"))
        .output()
        .expect("pg_dump runs (Debian's postgresql-client)");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn an_erased_customer_is_nowhere_in_the_database_and_every_chain_still_verifies(
    pool: PgPool,
) {
    let app = spawn_app(pool.clone(), true).await;
    let registered = app
        .command(
            "/commands/customers",
            Caller::Anonymous,
            json!({"email": EMAIL, "name": "Ada Lovelace", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(registered.status, 201, "{}", registered.body);
    let signed_in = app
        .command(
            "/auth/sign-in",
            Caller::Anonymous,
            json!({"email": EMAIL, "password": "correct horse battery"}),
        )
        .await;
    let who = Customer {
        id: registered.body["id"].as_str().unwrap().parse().unwrap(),
        token: signed_in.body["access_token"].as_str().unwrap().to_owned(),
    };
    let order = checked_out(&app, &who).await;
    let view = order_view(&app, &who, &order).await;
    assert_eq!(view["email"], EMAIL);
    let total = view["total"].clone();
    assert!(
        dump_of(&pool).contains(EMAIL),
        "the order view holds it while it may"
    );

    let erased = app
        .command(
            &format!("/commands/customers/{}/erase", who.id),
            Caller::Bearer(&admin(&app)),
            json!({}),
        )
        .await;
    assert_eq!(erased.status, 200, "{}", erased.body);
    projectors_caught_up(&pool).await;

    let dump = dump_of(&pool);
    for secret in [EMAIL, "Ada Lovelace", "1 Main St", "N1 1AA"] {
        assert!(!dump.contains(secret), "{secret} is still in the database");
    }
    let view = app
        .query(
            &format!("/queries/orders/{order}"),
            Caller::Bearer(&admin(&app)),
            None,
        )
        .await;
    assert_eq!(
        view.body["email"],
        domain::personal::ERASED_EMAIL,
        "{}",
        view.body
    );
    assert_eq!(view.body["shipping_address"]["country"], "GB");
    assert_eq!(view.body["total"], total, "amounts stay");

    let auditor = app.token("auditor-1", api::auth::Role::Auditor);
    // The auditors' view of the order's stream reads the fields as erased too.
    let history = app
        .query(
            &format!("/audit/streams/Order/{order}"),
            Caller::Bearer(&auditor),
            None,
        )
        .await;
    assert_eq!(history.status, 200, "{}", history.body);
    let text = history.body.to_string();
    assert!(
        !text.contains(EMAIL) && text.contains(domain::personal::ERASED_EMAIL),
        "{text}"
    );
    let verdict = app
        .query("/audit/verify", Caller::Bearer(&auditor), None)
        .await;
    assert_eq!(verdict.status, 200, "{}", verdict.body);
    assert_eq!(verdict.body["intact"], true, "{}", verdict.body);
}

/// A checkout an erased customer's still-valid token sends after the erasure is
/// placed with their fields as erased: nothing more of them is recorded, and no
/// projector or the checkout process stalls on a key that is gone.
#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_checkout_after_the_erasure_records_nothing_of_the_customer_and_stalls_nothing(
    pool: PgPool,
) {
    let app = spawn_app(pool.clone(), true).await;
    let who = customer(&app);
    published_product(&app, "MUG-1", 1250, "mugs").await;
    stocked(&app, "MUG-1", 0, 10).await;
    let cart = customer_cart(&app, &who).await;
    add_item(&app, &cart, Caller::Bearer(&who.token), "MUG-1", 1).await;
    eventlog::personal::installed()
        .unwrap()
        .erase(&pool, who.id)
        .await
        .unwrap();

    let checkout = app
        .command(
            &format!("/commands/carts/{cart}/checkout"),
            Caller::Bearer(&who.token),
            json!({"email": EMAIL, "shipping_address": address(), "payment_token": "tok_visa"}),
        )
        .await;
    assert_eq!(checkout.status, 200, "{}", checkout.body);
    let order = checkout.body["order_id"].as_str().unwrap().to_owned();
    let placed = order_view(&app, &who, &order).await;
    assert_eq!(placed["email"], domain::personal::ERASED_EMAIL, "{placed}");
    projectors_caught_up(&pool).await;
    for (event_type, payload) in stored_payloads(&pool).await {
        assert!(!payload.contains(EMAIL), "{event_type}: {payload}");
    }
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_guest_s_data_is_erased_with_the_order_s_key_and_a_customer_s_order_is_refused(
    pool: PgPool,
) {
    let app = spawn_app(pool.clone(), true).await;
    published_product(&app, "MUG-1", 1250, "mugs").await;
    stocked(&app, "MUG-1", 0, 10).await;
    let guest = guest_cart(&app).await;
    add_item(&app, &guest.id, Caller::Guest(&guest.token), "MUG-1", 1).await;
    let checkout = app
        .command(
            &format!("/commands/carts/{}/checkout", guest.id),
            Caller::Guest(&guest.token),
            json!({"email": EMAIL, "shipping_address": address(), "payment_token": "tok_visa"}),
        )
        .await;
    assert_eq!(checkout.status, 200, "{}", checkout.body);
    let order = checkout.body["order_id"].as_str().unwrap().to_owned();
    let admin = admin(&app);
    let admin_view = || async {
        app.query(
            &format!("/queries/orders/{order}"),
            Caller::Bearer(&admin),
            None,
        )
        .await
        .body
    };
    crate::checkout_process::eventually(admin_view, |o| o["email"] == EMAIL).await;

    let erased = app
        .command(
            &format!("/commands/orders/{order}/erase-guest-data"),
            Caller::Bearer(&admin),
            json!({}),
        )
        .await;
    assert_eq!(erased.status, 200, "{}", erased.body);
    let view = crate::checkout_process::eventually(admin_view, |o| {
        o["email"] == domain::personal::ERASED_EMAIL
    })
    .await;
    assert_eq!(view["shipping_address"]["name"], "erased");
    projectors_caught_up(&pool).await;
    let dump = dump_of(&pool);
    for secret in [EMAIL, "Ada Lovelace", "1 Main St"] {
        assert!(!dump.contains(secret), "{secret} is still in the database");
    }

    let who = customer(&app);
    let cart = customer_cart(&app, &who).await;
    add_item(&app, &cart, Caller::Bearer(&who.token), "MUG-1", 1).await;
    let placed = app
        .command(
            &format!("/commands/carts/{cart}/checkout"),
            Caller::Bearer(&who.token),
            json!({"email": "c@example.com", "shipping_address": address(), "payment_token": "tok_visa"}),
        )
        .await;
    assert_eq!(placed.status, 200, "{}", placed.body);
    let customers_order = placed.body["order_id"].as_str().unwrap().to_owned();
    order_view(&app, &who, &customers_order).await;
    let refused = app
        .command(
            &format!("/commands/orders/{customers_order}/erase-guest-data"),
            Caller::Bearer(&admin),
            json!({}),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(refused.code(), "order_has_customer");
}
