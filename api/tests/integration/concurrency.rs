//! Concurrency: `If-Match` refuses a command on an aggregate that moved on (409,
//! nothing appended); without it, concurrent commands on one aggregate are all
//! applied, none lost.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use sqlx::PgPool;

use crate::fixtures::{
    add_item, admin, count_events, count_events_of, customer, customer_cart, draft_product,
    guest_cart, published_product,
};
use crate::support::{reply, spawn_app, Caller, Reply, TestApp};

async fn if_match(
    app: &TestApp,
    path: &str,
    caller: Caller<'_>,
    version: &str,
    body: Value,
) -> Reply {
    let request = app
        .client
        .post(app.url(path))
        .header("If-Match", version)
        .json(&body);
    reply(caller.apply(request)).await
}

fn details(name: &str) -> Value {
    json!({"name": name, "description": "", "category": "kitchen", "brand": "Acme", "attributes": {}})
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn if_match_with_a_stale_version_is_409_and_appends_nothing(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    let admin = admin(&app);
    let as_admin = Caller::Bearer(&admin);
    let (id, created) = draft_product(&app, "MUG-1", 1000, "kitchen").await;
    assert_eq!(created.body["version"], 1);
    let path = format!("/commands/products/{id}/update");

    let current = if_match(&app, &path, as_admin, "1", details("Mug")).await;
    assert_eq!(current.status, 200, "{}", current.body);
    assert_eq!(current.body["version"], 2);
    let events = count_events(&pool).await;

    let stale = if_match(&app, &path, as_admin, "1", details("Stale mug")).await;
    assert_eq!(
        (stale.status, stale.code()),
        (409, "version_mismatch"),
        "{}",
        stale.body
    );
    assert_eq!(
        stale.header("content-type"),
        Some("application/problem+json")
    );
    assert!(
        stale.body["detail"].as_str().unwrap().contains('2'),
        "names the current version: {}",
        stale.body
    );
    let ahead = if_match(&app, &path, as_admin, "7", details("Future mug")).await;
    assert_eq!((ahead.status, ahead.code()), (409, "version_mismatch"));
    assert_eq!(count_events(&pool).await, events);
    let view = app
        .query(
            &format!("/queries/products/{id}"),
            as_admin,
            Some(&current.consistency()),
        )
        .await;
    assert_eq!(view.body["name"], "Mug");

    // The current version, as an ETag-style value too.
    for (version, expected) in [("2", 3), ("\"3\"", 4), ("W/\"4\"", 5)] {
        let name = format!("Mug {expected}");
        let answer = if_match(&app, &path, as_admin, version, details(&name)).await;
        assert_eq!(answer.status, 200, "If-Match {version}: {}", answer.body);
        assert_eq!(answer.body["version"], expected);
    }
    let malformed = if_match(&app, &path, as_admin, "latest", details("Mug 6")).await;
    assert_eq!(
        (malformed.status, malformed.code()),
        (400, "invalid_if_match")
    );

    // A cart too: the guest's stale tab loses.
    published_product(&app, "CUP-1", 450, "kitchen").await;
    let cart = guest_cart(&app).await;
    let guest = Caller::Guest(&cart.token);
    add_item(&app, &cart.id, guest, "CUP-1", 1).await;
    let cart_path = format!("/commands/carts/{}/change-quantity", cart.id);
    let stale = if_match(
        &app,
        &cart_path,
        guest,
        "1",
        json!({"sku": "CUP-1", "quantity": 3}),
    )
    .await;
    assert_eq!((stale.status, stale.code()), (409, "version_mismatch"));
    let current = if_match(
        &app,
        &cart_path,
        guest,
        "2",
        json!({"sku": "CUP-1", "quantity": 3}),
    )
    .await;
    assert_eq!(current.status, 200, "{}", current.body);
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn of_many_writers_sending_the_same_if_match_exactly_one_wins(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    let admin = admin(&app);
    let (id, _) = draft_product(&app, "MUG-1", 1000, "kitchen").await;
    let path = format!("/commands/products/{id}/change-price");
    let answers = futures::future::join_all((0..16).map(|n| {
        if_match(
            &app,
            &path,
            Caller::Bearer(&admin),
            "1",
            json!({"price": {"amount": 2000 + n, "currency": "EUR"}}),
        )
    }))
    .await;
    let won = answers.iter().filter(|a| a.status == 200).count();
    let lost = answers
        .iter()
        .filter(|a| a.status == 409 && a.code() == "version_mismatch")
        .count();
    assert_eq!((won, lost), (1, 15), "{answers:?}");
    assert_eq!(count_events_of(&pool, &id, "ProductPriceChanged").await, 1);
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn thirty_two_clients_adding_to_one_cart_at_once_lose_nothing(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    let skus: Vec<String> = (0..8).map(|n| format!("SKU-{n}")).collect();
    for sku in &skus {
        published_product(&app, sku, 100, "kitchen").await;
    }
    let ada = customer(&app);
    let cart = customer_cart(&app, &ada).await;
    let path = format!("/commands/carts/{cart}/add-item");
    // Client n adds n + 1 units of SKU-(n mod 8): four clients share each SKU.
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for n in 0..32u64 {
        *expected.entry(skus[(n % 8) as usize].clone()).or_default() += n + 1;
    }

    let answers = futures::future::join_all((0..32usize).map(|n| {
        app.command(
            &path,
            Caller::Bearer(&ada.token),
            json!({"sku": skus[n % 8], "quantity": n + 1}),
        )
    }))
    .await;
    for answer in &answers {
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    let mut versions: Vec<u64> = answers
        .iter()
        .map(|a| a.body["version"].as_u64().unwrap())
        .collect();
    versions.sort_unstable();
    assert_eq!(
        versions,
        (2..=33).collect::<Vec<_>>(),
        "each addition its own version"
    );
    assert_eq!(count_events_of(&pool, &cart, "ItemAdded").await, 32);

    let last = answers
        .iter()
        .max_by_key(|a| a.body["version"].as_u64())
        .unwrap();
    let view = app
        .query(
            &format!("/queries/carts/{cart}"),
            Caller::Bearer(&ada.token),
            Some(&last.consistency()),
        )
        .await;
    assert_eq!(view.status, 200, "{}", view.body);
    let seen: BTreeMap<String, u64> = view.body["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["sku"].as_str().unwrap().to_owned(),
                l["quantity"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(seen, expected);
    assert_eq!(view.body["item_count"], (1..=32).sum::<u64>());
    assert_eq!(view.body["subtotal"]["amount"], 100 * (1..=32).sum::<u64>());
    assert_eq!(view.body["version"], 33);
}

/// A guest cart of `version` 3 and the customer's own open cart of version 2.
async fn guest_and_customer_carts(
    app: &TestApp,
) -> (
    crate::fixtures::GuestCart,
    String,
    crate::fixtures::Customer,
) {
    published_product(app, "CUP-1", 450, "kitchen").await;
    let guest = guest_cart(app).await;
    add_item(app, &guest.id, Caller::Guest(&guest.token), "CUP-1", 1).await;
    add_item(app, &guest.id, Caller::Guest(&guest.token), "CUP-1", 1).await;
    let ada = customer(app);
    let theirs = customer_cart(app, &ada).await;
    let added = add_item(app, &theirs, Caller::Bearer(&ada.token), "CUP-1", 5).await;
    // Let the carts read model see the customer's cart (attach-customer looks there).
    let seen = app
        .query(
            &format!("/queries/carts/{theirs}"),
            Caller::Bearer(&ada.token),
            Some(&added.consistency()),
        )
        .await;
    assert_eq!(seen.status, 200);
    (guest, theirs, ada)
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn attach_customer_with_the_guest_carts_current_version_merges(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    let (guest, theirs, ada) = guest_and_customer_carts(&app).await;
    let answer = if_match(
        &app,
        &format!("/commands/carts/{}/attach-customer", guest.id),
        Caller::BearerWithCart(&ada.token, &guest.token),
        "3",
        json!({"policy": "merge"}),
    )
    .await;
    assert_eq!(
        answer.status, 200,
        "If-Match 3 is the guest cart's version: {}",
        answer.body
    );
    assert_eq!(answer.body["id"], theirs.as_str());
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn attach_customer_with_a_stale_version_appends_nothing(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    let (guest, theirs, ada) = guest_and_customer_carts(&app).await;
    let events = count_events(&pool).await;
    // Version 2 is stale for the guest cart (at 3), but is the customer's cart's.
    let answer = if_match(
        &app,
        &format!("/commands/carts/{}/attach-customer", guest.id),
        Caller::BearerWithCart(&ada.token, &guest.token),
        "2",
        json!({"policy": "merge"}),
    )
    .await;
    assert_eq!(
        (answer.status, answer.code()),
        (409, "version_mismatch"),
        "{}",
        answer.body
    );
    assert_eq!(
        count_events_of(&pool, &theirs, "CartLinesMerged").await,
        0,
        "the customer's cart took the guest's lines although the command was refused"
    );
    assert_eq!(count_events(&pool).await, events);
}
