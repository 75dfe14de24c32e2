//! Refusals: business rules answer 422 with their code, and nothing is appended;
//! the wrong role is 403; another customer's cart or order is 404 (ids cannot be
//! probed); a missing token is 401, and a bad one is 401 even where anonymous
//! callers are welcome.

use api::auth::{Authenticator, Role};
use api::secret::Secret;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::fixtures::{
    add_item, admin, checkout_body, count_events, customer, customer_cart, draft_product,
    guest_cart, paid_order, published_product, reserve_stock, stocked,
};
use crate::support::{spawn_app, Caller, Reply, TestApp, JWT_SECRET};

/// Sends a command that must be refused with `status` and `code`, and checks that
/// it appended nothing.
async fn refused(
    app: &TestApp,
    path: &str,
    caller: Caller<'_>,
    body: Value,
    status: u16,
    code: &str,
) -> Reply {
    let before = count_events(&app.pool).await;
    let answer = app.command(path, caller, body).await;
    assert_eq!(
        (answer.status, answer.code()),
        (status, code),
        "POST {path}: {}",
        answer.body
    );
    assert_problem(&answer);
    assert_eq!(
        count_events(&app.pool).await,
        before,
        "POST {path} appended"
    );
    answer
}

fn assert_problem(answer: &Reply) {
    assert_eq!(
        answer.header("content-type"),
        Some("application/problem+json"),
        "{:?}",
        answer.headers
    );
    assert_eq!(answer.body["status"], answer.status, "{}", answer.body);
    assert!(
        !answer.body["detail"]
            .as_str()
            .unwrap_or_default()
            .is_empty(),
        "{}",
        answer.body
    );
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn cart_rules_answer_422_with_their_code(pool: PgPool) {
    let app = spawn_app(pool, true).await;
    published_product(&app, "CUP-1", 450, "kitchen").await;
    draft_product(&app, "SECRET-1", 100, "kitchen").await;
    let cart = guest_cart(&app).await;
    let guest = Caller::Guest(&cart.token);
    let path = |command: &str| format!("/commands/carts/{}/{command}", cart.id);

    refused(
        &app,
        &path("checkout"),
        guest,
        checkout_body(),
        422,
        "empty_cart",
    )
    .await;

    add_item(&app, &cart.id, guest, "CUP-1", 500).await;
    let over = refused(
        &app,
        &path("add-item"),
        guest,
        json!({"sku": "CUP-1", "quantity": 500}),
        422,
        "quantity_limit_exceeded",
    )
    .await;
    assert!(
        over.body["detail"].as_str().unwrap().contains("999"),
        "{}",
        over.body
    );
    refused(
        &app,
        &path("change-quantity"),
        guest,
        json!({"sku": "CUP-1", "quantity": 1000}),
        422,
        "quantity_limit_exceeded",
    )
    .await;
    // A draft, an unknown SKU, a product taken off sale: none can be bought.
    refused(
        &app,
        &path("add-item"),
        guest,
        json!({"sku": "SECRET-1", "quantity": 1}),
        422,
        "product_unavailable",
    )
    .await;
    refused(
        &app,
        &path("add-item"),
        guest,
        json!({"sku": "NOPE-1", "quantity": 1}),
        422,
        "product_unavailable",
    )
    .await;
    let (plate, _) = published_product(&app, "PLATE-1", 800, "kitchen").await;
    let unpublished = app
        .command(
            &format!("/commands/products/{plate}/unpublish"),
            Caller::Bearer(&admin(&app)),
            json!({}),
        )
        .await;
    assert_eq!(unpublished.status, 200);
    refused(
        &app,
        &path("add-item"),
        guest,
        json!({"sku": "PLATE-1", "quantity": 1}),
        422,
        "product_unavailable",
    )
    .await;
    refused(
        &app,
        &path("change-quantity"),
        guest,
        json!({"sku": "PLATE-1", "quantity": 2}),
        422,
        "line_not_found",
    )
    .await;
    refused(
        &app,
        &path("remove-item"),
        guest,
        json!({"sku": "PLATE-1"}),
        422,
        "line_not_found",
    )
    .await;

    // Once abandoned, a cart changes no more.
    let abandoned = app.command(&path("abandon"), guest, json!({})).await;
    assert_eq!(abandoned.status, 200, "{}", abandoned.body);
    refused(
        &app,
        &path("add-item"),
        guest,
        json!({"sku": "CUP-1", "quantity": 1}),
        422,
        "cart_abandoned",
    )
    .await;
    refused(
        &app,
        &path("checkout"),
        guest,
        checkout_body(),
        422,
        "cart_abandoned",
    )
    .await;
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn checkout_refuses_a_product_taken_off_sale_after_it_was_added(pool: PgPool) {
    let app = spawn_app(pool, true).await;
    let (mug, _) = published_product(&app, "MUG-1", 1000, "kitchen").await;
    let ada = customer(&app);
    let cart = customer_cart(&app, &ada).await;
    add_item(&app, &cart, Caller::Bearer(&ada.token), "MUG-1", 1).await;
    let unpublished = app
        .command(
            &format!("/commands/products/{mug}/unpublish"),
            Caller::Bearer(&admin(&app)),
            json!({}),
        )
        .await;
    assert_eq!(unpublished.status, 200);
    refused(
        &app,
        &format!("/commands/carts/{cart}/checkout"),
        Caller::Bearer(&ada.token),
        checkout_body(),
        422,
        "product_unavailable",
    )
    .await;
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn catalog_and_stock_rules_answer_422_with_their_code(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    let admin = admin(&app);
    let as_admin = Caller::Bearer(&admin);
    let (id, _) = draft_product(&app, "LAMP-1", 4000, "lighting").await;
    let product = |command: &str| format!("/commands/products/{id}/{command}");

    refused(
        &app,
        &product("change-price"),
        as_admin,
        json!({"price": {"amount": 0, "currency": "EUR"}}),
        422,
        "price_not_positive",
    )
    .await;
    refused(
        &app,
        &product("change-price"),
        as_admin,
        json!({"price": {"amount": 100, "currency": "USD"}}),
        422,
        "currency_change_not_allowed",
    )
    .await;
    refused(
        &app,
        &product("update"),
        as_admin,
        json!({"name": " ", "description": "", "category": "lighting", "brand": "Acme", "attributes": {}}),
        422,
        "invalid_name",
    )
    .await;
    // A SKU names one product only.
    refused(
        &app,
        "/commands/products",
        as_admin,
        json!({"sku": "LAMP-1", "name": "Another lamp", "description": "", "category": "lighting",
               "brand": "Acme", "price": {"amount": 100, "currency": "EUR"}}),
        409,
        "sku_taken",
    )
    .await;
    let discontinued = app
        .command(&product("discontinue"), as_admin, json!({}))
        .await;
    assert_eq!(discontinued.status, 200);
    refused(
        &app,
        &product("publish"),
        as_admin,
        json!({}),
        422,
        "product_discontinued",
    )
    .await;

    stocked(&app, "BULB-1", 2, 10).await;
    let inventory = |command: &str| format!("/commands/inventory/BULB-1/{command}");
    refused(
        &app,
        &inventory("register"),
        as_admin,
        json!({"low_stock_threshold": 1}),
        422,
        "already_exists",
    )
    .await;
    refused(
        &app,
        &inventory("receive"),
        as_admin,
        json!({"quantity": 1, "reference": "  "}),
        422,
        "invalid_reference",
    )
    .await;
    refused(
        &app,
        &inventory("adjust"),
        as_admin,
        json!({"delta": -11, "reason": "recount"}),
        422,
        "negative_stock",
    )
    .await;
    refused(
        &app,
        &inventory("adjust"),
        as_admin,
        json!({"delta": 0, "reason": "recount"}),
        422,
        "invalid_delta",
    )
    .await;
    refused(
        &app,
        &inventory("adjust"),
        as_admin,
        json!({"delta": 3, "reason": "damaged"}),
        422,
        "adjustment_against_reason",
    )
    .await;
    // Stock held for orders cannot be adjusted away.
    reserve_stock(&pool, "BULB-1", 6).await;
    refused(
        &app,
        &inventory("adjust"),
        as_admin,
        json!({"delta": -5, "reason": "lost"}),
        422,
        "below_reserved",
    )
    .await;
    refused(
        &app,
        "/commands/inventory/NEVER-1/receive",
        as_admin,
        json!({"quantity": 1, "reference": "PO"}),
        404,
        "not_found",
    )
    .await;
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn order_and_payment_rules_answer_422_with_their_code(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    let admin = admin(&app);
    let as_admin = Caller::Bearer(&admin);
    let order = paid_order(&pool, None, &[("MUG-1", 1000, 2)]).await;
    let orders = |command: &str| format!("/commands/orders/{}/{command}", order.order_id);
    let ship = |sku: &str, quantity: u32| json!({"lines": [{"sku": sku, "quantity": quantity}], "carrier": "DHL", "tracking_number": "T1"});

    refused(
        &app,
        &orders("ship"),
        as_admin,
        ship("MUG-1", 3),
        422,
        "exceeds_unshipped",
    )
    .await;
    refused(
        &app,
        &orders("ship"),
        as_admin,
        ship("CUP-1", 1),
        422,
        "unknown_sku",
    )
    .await;
    refused(
        &app,
        &orders("ship"),
        as_admin,
        json!({"lines": [], "carrier": "DHL", "tracking_number": "T1"}),
        422,
        "empty_shipment",
    )
    .await;
    refused(
        &app,
        &orders("deliver"),
        as_admin,
        json!({}),
        422,
        "illegal_transition",
    )
    .await;
    refused(
        &app,
        &orders("cancel"),
        as_admin,
        json!({"reason": ""}),
        422,
        "invalid_reason",
    )
    .await;
    refused(
        &app,
        &format!("/commands/orders/{}/ship", uuid::Uuid::new_v4()),
        as_admin,
        ship("MUG-1", 1),
        404,
        "not_found",
    )
    .await;

    let refund = |amount: i64, currency: &str| json!({"amount": {"amount": amount, "currency": currency}, "reason": "goodwill"});
    let payment = format!("/commands/payments/{}/refund", order.payment_id);
    refused(
        &app,
        &payment,
        as_admin,
        refund(2001, "EUR"),
        422,
        "refund_exceeds_captured",
    )
    .await;
    refused(
        &app,
        &payment,
        as_admin,
        refund(0, "EUR"),
        422,
        "invalid_refund_amount",
    )
    .await;
    refused(
        &app,
        &payment,
        as_admin,
        refund(100, "USD"),
        422,
        "currency_mismatch",
    )
    .await;
    refused(
        &app,
        &format!("/commands/payments/{}/refund", uuid::Uuid::new_v4()),
        as_admin,
        refund(1, "EUR"),
        404,
        "not_found",
    )
    .await;
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn the_wrong_role_is_refused_with_403(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    let (id, _) = published_product(&app, "MUG-1", 1000, "kitchen").await;
    stocked(&app, "MUG-1", 1, 5).await;
    let ada = customer(&app);
    let cart = customer_cart(&app, &ada).await;
    let order = paid_order(&pool, Some(ada.id), &[("MUG-1", 1000, 1)]).await;
    let auditor = app.token("audrey", Role::Auditor);
    let analyst = app.token("anna", Role::Analyst);
    let admin = admin(&app);
    let product = json!({"sku": "NEW-1", "name": "New", "description": "", "category": "c",
                         "brand": "b", "price": {"amount": 1, "currency": "EUR"}});
    let ship = json!({"lines": [{"sku": "MUG-1", "quantity": 1}], "carrier": "DHL", "tracking_number": "T"});
    let refund = json!({"amount": {"amount": 1, "currency": "EUR"}, "reason": "r"});

    let commands: Vec<(String, Value, Vec<&str>)> = vec![
        (
            "/commands/products".into(),
            product,
            vec![&ada.token, &auditor, &analyst],
        ),
        (
            format!("/commands/products/{id}/unpublish"),
            json!({}),
            vec![&ada.token, &auditor],
        ),
        (
            format!("/commands/products/{id}/change-price"),
            json!({"price": {"amount": 1, "currency": "EUR"}}),
            vec![&ada.token],
        ),
        (
            "/commands/inventory/MUG-1/receive".into(),
            json!({"quantity": 1, "reference": "x"}),
            vec![&ada.token, &analyst],
        ),
        (
            "/commands/inventory/MUG-1/adjust".into(),
            json!({"delta": -1, "reason": "lost"}),
            vec![&ada.token],
        ),
        (
            "/commands/inventory/NEW-1/register".into(),
            json!({"low_stock_threshold": 1}),
            vec![&ada.token],
        ),
        // Carts are opened by customers and guests, never by staff.
        (
            "/commands/carts".into(),
            json!({}),
            vec![&admin, &auditor, &analyst],
        ),
        (
            format!("/commands/carts/{cart}/attach-customer"),
            json!({}),
            vec![&admin, &auditor],
        ),
        (
            format!("/commands/orders/{}/ship", order.order_id),
            ship,
            vec![&ada.token, &auditor],
        ),
        (
            format!("/commands/orders/{}/deliver", order.order_id),
            json!({}),
            vec![&ada.token],
        ),
        (
            format!("/commands/orders/{}/cancel", order.order_id),
            json!({"reason": "r"}),
            vec![&auditor, &analyst],
        ),
        (
            format!("/commands/payments/{}/refund", order.payment_id),
            refund,
            vec![&ada.token, &auditor],
        ),
    ];
    for (path, body, callers) in commands {
        for token in callers {
            refused(
                &app,
                &path,
                Caller::Bearer(token),
                body.clone(),
                403,
                "forbidden",
            )
            .await;
        }
    }

    let queries: Vec<(String, Vec<&str>)> = vec![
        (
            "/queries/inventory?low_stock=true".into(),
            vec![&ada.token, &auditor],
        ),
        ("/queries/orders".into(), vec![&auditor, &analyst]),
        (
            format!("/queries/orders/{}", order.order_id),
            vec![&auditor],
        ),
        (
            format!("/queries/orders?customer_id={}", uuid::Uuid::new_v4()),
            vec![&ada.token],
        ),
        (
            "/queries/products?status=draft".into(),
            vec![&ada.token, &auditor],
        ),
    ];
    for (path, callers) in queries {
        for token in callers {
            let answer = app.query(&path, Caller::Bearer(token), None).await;
            assert_eq!(
                (answer.status, answer.code()),
                (403, "forbidden"),
                "GET {path}: {}",
                answer.body
            );
            assert_problem(&answer);
        }
    }
    // Anonymous callers may not filter by status either.
    let answer = app
        .query("/queries/products?status=draft", Caller::Anonymous, None)
        .await;
    assert_eq!(answer.status, 403, "{}", answer.body);
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn another_customers_cart_or_order_does_not_exist_for_them(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    published_product(&app, "MUG-1", 1000, "kitchen").await;
    let ada = customer(&app);
    let eve = customer(&app);
    let adas_cart = customer_cart(&app, &ada).await;
    let added = add_item(&app, &adas_cart, Caller::Bearer(&ada.token), "MUG-1", 1).await;
    let guest = guest_cart(&app).await;
    let guest_added = add_item(&app, &guest.id, Caller::Guest(&guest.token), "MUG-1", 1).await;
    let order = paid_order(&pool, Some(ada.id), &[("MUG-1", 1000, 1)]).await;
    let eve_caller = Caller::Bearer(&eve.token);

    // Another customer's cart, and a guest's cart without (or with another) token.
    let other_guest = guest_cart(&app).await;
    let strangers = [
        (adas_cart.as_str(), eve_caller),
        (adas_cart.as_str(), Caller::Anonymous),
        (adas_cart.as_str(), Caller::Guest(&other_guest.token)),
        (guest.id.as_str(), eve_caller),
        (guest.id.as_str(), Caller::Anonymous),
        (guest.id.as_str(), Caller::Guest(&other_guest.token)),
        (guest.id.as_str(), Caller::Guest("not-a-token")),
    ];
    for (cart, caller) in strangers {
        for (command, body) in [
            ("add-item", json!({"sku": "MUG-1", "quantity": 1})),
            ("change-quantity", json!({"sku": "MUG-1", "quantity": 2})),
            ("remove-item", json!({"sku": "MUG-1"})),
            ("checkout", checkout_body()),
            ("abandon", json!({})),
        ] {
            refused(
                &app,
                &format!("/commands/carts/{cart}/{command}"),
                caller,
                body,
                404,
                "not_found",
            )
            .await;
        }
        let consistency = if cart == adas_cart {
            added.consistency()
        } else {
            guest_added.consistency()
        };
        let seen = app
            .query(
                &format!("/queries/carts/{cart}"),
                caller,
                Some(&consistency),
            )
            .await;
        assert_eq!(seen.status, 404, "{cart} as {caller:?}: {}", seen.body);
        assert_problem(&seen);
    }
    // Signing in does not take over a guest cart whose token one does not hold,
    // nor another customer's cart.
    refused(
        &app,
        &format!("/commands/carts/{}/attach-customer", guest.id),
        eve_caller,
        json!({}),
        404,
        "not_found",
    )
    .await;
    refused(
        &app,
        &format!("/commands/carts/{adas_cart}/attach-customer"),
        eve_caller,
        json!({}),
        404,
        "not_found",
    )
    .await;

    // Another customer's order: reading, listing its payments and cancelling it.
    let seen = app
        .query(
            &format!("/queries/orders/{}", order.order_id),
            eve_caller,
            Some(&order.consistency),
        )
        .await;
    assert_eq!(seen.status, 404, "{}", seen.body);
    let payments = app
        .query(
            &format!("/queries/payments?order_id={}", order.order_id),
            eve_caller,
            Some(&order.consistency),
        )
        .await;
    assert_eq!(payments.status, 404, "{}", payments.body);
    refused(
        &app,
        &format!("/commands/orders/{}/cancel", order.order_id),
        eve_caller,
        json!({"reason": "mine now"}),
        404,
        "not_found",
    )
    .await;
    // The same answer as for an order that does not exist at all.
    let unknown = app
        .query(
            &format!("/queries/orders/{}", uuid::Uuid::new_v4()),
            eve_caller,
            None,
        )
        .await;
    assert_eq!((unknown.status, unknown.code()), (seen.status, seen.code()));
    // Ada herself sees both.
    let hers = app
        .query(
            &format!("/queries/orders/{}", order.order_id),
            Caller::Bearer(&ada.token),
            Some(&order.consistency),
        )
        .await;
    assert_eq!(hers.status, 200, "{}", hers.body);
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn routes_that_need_a_token_answer_401_without_one(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    let (id, _) = published_product(&app, "MUG-1", 1000, "kitchen").await;
    let cart = guest_cart(&app).await;
    let order = paid_order(&pool, None, &[("MUG-1", 1000, 1)]).await;
    let commands = [
        (
            "/commands/products".to_owned(),
            json!({"sku": "X-1", "name": "X", "description": "", "category": "c", "brand": "b", "price": {"amount": 1, "currency": "EUR"}}),
        ),
        (format!("/commands/products/{id}/unpublish"), json!({})),
        (
            "/commands/inventory/MUG-1/register".to_owned(),
            json!({"low_stock_threshold": 1}),
        ),
        (
            format!("/commands/orders/{}/cancel", order.order_id),
            json!({"reason": "r"}),
        ),
        (
            format!("/commands/orders/{}/deliver", order.order_id),
            json!({}),
        ),
        (
            format!("/commands/payments/{}/refund", order.payment_id),
            json!({"amount": {"amount": 1, "currency": "EUR"}, "reason": "r"}),
        ),
        (
            format!("/commands/carts/{}/attach-customer", cart.id),
            json!({}),
        ),
    ];
    for (path, body) in commands {
        refused(
            &app,
            &path,
            Caller::Anonymous,
            body.clone(),
            401,
            "unauthorized",
        )
        .await;
        // A guest's cart token is no bearer token.
        refused(
            &app,
            &path,
            Caller::Guest(&cart.token),
            body,
            401,
            "unauthorized",
        )
        .await;
    }
    for path in [
        "/queries/orders".to_owned(),
        format!("/queries/orders/{}", order.order_id),
        format!("/queries/payments?order_id={}", order.order_id),
        "/queries/inventory".to_owned(),
    ] {
        let answer = app.query(&path, Caller::Anonymous, None).await;
        assert_eq!(
            (answer.status, answer.code()),
            (401, "unauthorized"),
            "GET {path}: {}",
            answer.body
        );
        assert_problem(&answer);
    }
}

/// Tokens that must never be taken: expired, signed with another key, unsigned,
/// tampered with, or not a JWT at all.
fn bad_tokens(app: &TestApp) -> Vec<(&'static str, String)> {
    let ours = Authenticator::hs256(&Secret::new(JWT_SECRET.into()));
    let theirs = Authenticator::hs256(&Secret::new(
        "another-secret-of-the-same-length-0123".into(),
    ));
    let expired = ours.mint("ada", Role::Admin, -3600).unwrap();
    let forged = theirs.mint("ada", Role::Admin, 600).unwrap();
    let valid = app.token("ada", Role::Customer);
    let mut parts: Vec<&str> = valid.split('.').collect();
    // Same header and signature, the payload swapped for an admin's.
    let admin_payload = ours.mint("ada", Role::Admin, 600).unwrap();
    let admin_claims = admin_payload.split('.').nth(1).unwrap().to_owned();
    parts[1] = &admin_claims;
    let tampered = parts.join(".");
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let unsigned = format!(
        "{}.{}.",
        b64.encode(br#"{"alg":"none","typ":"JWT"}"#),
        b64.encode(format!(
            r#"{{"sub":"ada","role":"admin","exp":{}}}"#,
            chrono::Utc::now().timestamp() + 600
        ))
    );
    vec![
        ("expired", expired),
        ("forged", forged),
        ("tampered", tampered),
        ("unsigned", unsigned),
        ("garbage", "not-a-jwt".into()),
    ]
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_bad_token_is_401_even_where_anonymous_callers_are_welcome(pool: PgPool) {
    let app = spawn_app(pool, true).await;
    let (id, consistency) = published_product(&app, "MUG-1", 1000, "kitchen").await;
    stocked(&app, "MUG-1", 1, 5).await;
    let cart = guest_cart(&app).await;
    for (what, token) in bad_tokens(&app) {
        let before = count_events(&app.pool).await;
        for path in [
            "/queries/products".to_owned(),
            format!("/queries/products/{id}"),
            "/queries/inventory/MUG-1".to_owned(),
            format!("/queries/carts/{}", cart.id),
        ] {
            let answer = app
                .query(
                    &path,
                    Caller::BearerWithCart(&token, &cart.token),
                    Some(&consistency),
                )
                .await;
            assert_eq!(
                (answer.status, answer.code()),
                (401, "unauthorized"),
                "{what} token, GET {path}: {}",
                answer.body
            );
            assert_problem(&answer);
        }
        for (path, body) in [
            ("/commands/carts".to_owned(), json!({})),
            (
                format!("/commands/carts/{}/add-item", cart.id),
                json!({"sku": "MUG-1", "quantity": 1}),
            ),
        ] {
            let answer = app
                .command(&path, Caller::BearerWithCart(&token, &cart.token), body)
                .await;
            assert_eq!(
                (answer.status, answer.code()),
                (401, "unauthorized"),
                "{what} token, POST {path}: {}",
                answer.body
            );
        }
        assert_eq!(
            count_events(&app.pool).await,
            before,
            "{what} token appended"
        );
    }
    // The expired one says so.
    let (_, expired) = &bad_tokens(&app)[0];
    let answer = app
        .query("/queries/products", Caller::Bearer(expired), None)
        .await;
    assert!(
        answer.body["detail"].as_str().unwrap().contains("expired"),
        "{}",
        answer.body
    );
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_malformed_authorization_header_is_401(pool: PgPool) {
    let app = spawn_app(pool, true).await;
    let valid = app.token("ada", Role::Admin);
    let headers: Vec<reqwest::header::HeaderValue> = vec![
        format!("Basic {valid}").parse().unwrap(),
        format!("Token {valid}").parse().unwrap(),
        valid.parse().unwrap(),
        "Bearer".parse().unwrap(),
        "Bearer ".parse().unwrap(),
        "".parse().unwrap(),
        format!("Bearer {valid} extra").parse().unwrap(),
        reqwest::header::HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap(),
    ];
    let before = count_events(&app.pool).await;
    for header in headers {
        for request in [
            app.client.get(app.url("/queries/products")),
            app.client.post(app.url("/commands/carts")).json(&json!({})),
        ] {
            let answer =
                crate::support::reply(request.header("Authorization", header.clone())).await;
            assert_eq!(
                (answer.status, answer.code()),
                (401, "unauthorized"),
                "Authorization: {header:?}: {}",
                answer.body
            );
            assert_problem(&answer);
        }
    }
    assert_eq!(count_events(&app.pool).await, before);
}

/// Who may send a command is settled before its body is read: an anonymous caller
/// with a broken body is told to sign in (401), a customer with one that the route
/// is not theirs (403), not what is wrong with the body.
#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn callers_are_refused_before_their_body_is_validated(pool: PgPool) {
    let app = spawn_app(pool, false).await;
    let customer = app.token("7d0b6a5e-8f5b-4a35-9b0a-3c3cbbd3f0a1", Role::Customer);
    let invalid = json!({"sku": "", "unknown_field": true});
    let id = "00000000-0000-0000-0000-000000000001";
    for path in [
        "/commands/products".to_owned(),
        format!("/commands/products/{id}/change-price"),
        "/commands/inventory/MUG-1/receive".to_owned(),
        format!("/commands/orders/{id}/ship"),
        format!("/commands/payments/{id}/refund"),
    ] {
        let anonymous = app.command(&path, Caller::Anonymous, invalid.clone()).await;
        assert_eq!(anonymous.status, 401, "{path}: {}", anonymous.body);
        let wrong_role = app
            .command(&path, Caller::Bearer(&customer), invalid.clone())
            .await;
        assert_eq!(wrong_role.status, 403, "{path}: {}", wrong_role.body);
    }
    let anonymous_cancel = app
        .command(
            &format!("/commands/orders/{id}/cancel"),
            Caller::Anonymous,
            invalid,
        )
        .await;
    assert_eq!(anonymous_cancel.status, 401, "{}", anonymous_cancel.body);
    let admin = app.token("admin-1", Role::Admin);
    let attach = format!("/commands/carts/{id}/attach-customer");
    let anonymous_attach = app
        .command(&attach, Caller::Anonymous, json!({"policy": "nonsense"}))
        .await;
    assert_eq!(anonymous_attach.status, 401, "{}", anonymous_attach.body);
    let admin_attach = app
        .command(
            &attach,
            Caller::Bearer(&admin),
            json!({"policy": "nonsense"}),
        )
        .await;
    assert_eq!(admin_attach.status, 403, "{}", admin_attach.body);
}
