//! Every command and every query on its happy path, each write read back through
//! its consistency token: products, inventory, carts, orders and payments.

use std::collections::BTreeSet;

use serde_json::{json, Value};
use sqlx::PgPool;

use crate::fixtures::{
    add_item, admin, checkout_body, customer, customer_cart, draft_product, guest_cart, paid_order,
    published_product, stocked, Customer,
};
use crate::support::{spawn_app, Caller, Reply, TestApp};

/// Follows `next_cursor` from `path` (which has a query string) to the last page;
/// returns every item's `key`, in order.
async fn walk_pages(
    app: &TestApp,
    path: &str,
    caller: Caller<'_>,
    consistency: &str,
    key: &str,
) -> Vec<String> {
    let mut keys = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..50 {
        let page_path = match &cursor {
            Some(cursor) => format!("{path}&cursor={cursor}"),
            None => path.to_owned(),
        };
        let page = app.query(&page_path, caller, Some(consistency)).await;
        assert_eq!(page.status, 200, "{page_path}: {}", page.body);
        for item in page.body["items"].as_array().unwrap() {
            keys.push(item[key].as_str().unwrap().to_owned());
        }
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return keys,
        }
    }
    panic!("{path}: more than 50 pages");
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn product_commands_change_the_product_read_model_step_by_step(pool: PgPool) {
    let app = spawn_app(pool, true).await;
    let admin = admin(&app);
    let (id, created) = draft_product(&app, "KETTLE-1", 3000, "kitchen").await;
    assert_eq!(created.body["version"], 1);
    let path = format!("/queries/products/{id}");

    let draft = app
        .query(&path, Caller::Bearer(&admin), Some(&created.consistency()))
        .await;
    assert_eq!(draft.status, 200, "{}", draft.body);
    assert_eq!(draft.body["status"], "draft");
    assert_eq!(draft.body["sku"], "KETTLE-1");
    assert_eq!(
        draft.body["price"],
        json!({"amount": 3000, "currency": "EUR"})
    );
    // A draft is the admins' business only.
    let hidden = app
        .query(&path, Caller::Anonymous, Some(&created.consistency()))
        .await;
    assert_eq!(hidden.status, 404, "{}", hidden.body);

    let updated = app
        .command(
            &format!("/commands/products/{id}/update"),
            Caller::Bearer(&admin),
            json!({"name": "Kettle", "description": "Boils water", "category": "kitchen",
                   "brand": "Hot", "attributes": {"volume": "1.7 l"}}),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(updated.body["version"], 2);
    let view = app
        .query(&path, Caller::Bearer(&admin), Some(&updated.consistency()))
        .await;
    assert_eq!(view.body["name"], "Kettle");
    assert_eq!(view.body["description"], "Boils water");
    assert_eq!(view.body["brand"], "Hot");
    assert_eq!(view.body["attributes"], json!({"volume": "1.7 l"}));

    let repriced = app
        .command(
            &format!("/commands/products/{id}/change-price"),
            Caller::Bearer(&admin),
            json!({"price": {"amount": 3490, "currency": "EUR"}}),
        )
        .await;
    assert_eq!(repriced.status, 200, "{}", repriced.body);
    let view = app
        .query(&path, Caller::Bearer(&admin), Some(&repriced.consistency()))
        .await;
    assert_eq!(view.body["price"]["amount"], 3490);

    let published = app
        .command(
            &format!("/commands/products/{id}/publish"),
            Caller::Bearer(&admin),
            json!({}),
        )
        .await;
    assert_eq!(published.status, 200, "{}", published.body);
    let public = app
        .query(&path, Caller::Anonymous, Some(&published.consistency()))
        .await;
    assert_eq!(public.status, 200, "{}", public.body);
    assert_eq!(public.body["status"], "published");
    assert_eq!(public.body["version"], 4);

    let unpublished = app
        .command(
            &format!("/commands/products/{id}/unpublish"),
            Caller::Bearer(&admin),
            json!({}),
        )
        .await;
    assert_eq!(unpublished.status, 200, "{}", unpublished.body);
    let gone = app
        .query(&path, Caller::Anonymous, Some(&unpublished.consistency()))
        .await;
    assert_eq!(gone.status, 404, "{}", gone.body);
    let view = app
        .query(
            &path,
            Caller::Bearer(&admin),
            Some(&unpublished.consistency()),
        )
        .await;
    assert_eq!(view.body["status"], "unpublished");

    let discontinued = app
        .command(
            &format!("/commands/products/{id}/discontinue"),
            Caller::Bearer(&admin),
            json!({}),
        )
        .await;
    assert_eq!(discontinued.status, 200, "{}", discontinued.body);
    assert_eq!(discontinued.body["version"], 6);
    let view = app
        .query(
            &path,
            Caller::Bearer(&admin),
            Some(&discontinued.consistency()),
        )
        .await;
    assert_eq!(view.body["status"], "discontinued");
    assert_eq!(view.body["version"], 6);
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn product_lists_page_by_category_and_show_drafts_to_admins_only(pool: PgPool) {
    let app = spawn_app(pool, true).await;
    let admin = admin(&app);
    let mut kitchen = Vec::new();
    for n in 0..5 {
        let (id, _) = published_product(&app, &format!("POT-{n}"), 1000 + n, "kitchen").await;
        kitchen.push(id);
    }
    let (garden, _) = published_product(&app, "HOSE-1", 2000, "garden").await;
    let (draft, last) = draft_product(&app, "POT-DRAFT", 999, "kitchen").await;
    let last = last.consistency();

    let expected: BTreeSet<String> = kitchen.iter().cloned().collect();
    let shopper = customer(&app);
    for caller in [Caller::Anonymous, Caller::Bearer(&shopper.token)] {
        let seen = walk_pages(
            &app,
            "/queries/products?category=kitchen&limit=2",
            caller,
            &last,
            "product_id",
        )
        .await;
        assert_eq!(
            seen.len(),
            5,
            "each published kitchen product once: {seen:?}"
        );
        assert_eq!(seen.iter().cloned().collect::<BTreeSet<_>>(), expected);
    }
    // Newest first.
    let first = app
        .query(
            "/queries/products?category=kitchen&limit=1",
            Caller::Anonymous,
            Some(&last),
        )
        .await;
    assert_eq!(first.body["items"][0]["product_id"], kitchen[4].as_str());
    // Without a category: every published product, never the draft.
    let all = walk_pages(
        &app,
        "/queries/products?limit=100",
        Caller::Anonymous,
        &last,
        "product_id",
    )
    .await;
    assert_eq!(all.len(), 6);
    assert!(all.contains(&garden) && !all.contains(&draft));

    // Admins see every status, and filter by one.
    let everything = walk_pages(
        &app,
        "/queries/products?category=kitchen&limit=3",
        Caller::Bearer(&admin),
        &last,
        "product_id",
    )
    .await;
    assert_eq!(everything.len(), 6);
    assert!(everything.contains(&draft));
    let drafts = walk_pages(
        &app,
        "/queries/products?status=draft&limit=10",
        Caller::Bearer(&admin),
        &last,
        "product_id",
    )
    .await;
    assert_eq!(drafts, vec![draft]);
    let garden_only = walk_pages(
        &app,
        "/queries/products?category=garden&status=published&limit=10",
        Caller::Bearer(&admin),
        &last,
        "product_id",
    )
    .await;
    assert_eq!(garden_only, vec![garden]);
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn inventory_commands_move_stock_and_low_stock_lists_what_to_reorder(pool: PgPool) {
    let app = spawn_app(pool, true).await;
    let admin = admin(&app);
    let registered = app
        .command(
            "/commands/inventory/BOLT-1/register",
            Caller::Bearer(&admin),
            json!({"low_stock_threshold": 5}),
        )
        .await;
    assert_eq!(registered.status, 201, "{}", registered.body);
    assert_eq!(registered.body["id"], "BOLT-1");
    let view = app
        .query(
            "/queries/inventory/BOLT-1",
            Caller::Anonymous,
            Some(&registered.consistency()),
        )
        .await;
    assert_eq!(view.status, 200, "{}", view.body);
    assert_eq!(view.body["on_hand"], 0);
    assert_eq!(view.body["low_stock_threshold"], 5);

    let received = app
        .command(
            "/commands/inventory/BOLT-1/receive",
            Caller::Bearer(&admin),
            json!({"quantity": 12, "reference": "PO-77"}),
        )
        .await;
    assert_eq!(received.status, 200, "{}", received.body);
    let view = app
        .query(
            "/queries/inventory/BOLT-1",
            Caller::Anonymous,
            Some(&received.consistency()),
        )
        .await;
    assert_eq!(
        (
            &view.body["on_hand"],
            &view.body["available"],
            &view.body["low_stock"]
        ),
        (&json!(12), &json!(12), &json!(false)),
        "{}",
        view.body
    );

    let adjusted = app
        .command(
            "/commands/inventory/BOLT-1/adjust",
            Caller::Bearer(&admin),
            json!({"delta": -8, "reason": "damaged", "note": "water"}),
        )
        .await;
    assert_eq!(adjusted.status, 200, "{}", adjusted.body);
    // Two events: the adjustment, and the fall to the low-stock threshold.
    assert_eq!(adjusted.body["version"], 4);
    let view = app
        .query(
            "/queries/inventory/BOLT-1",
            Caller::Anonymous,
            Some(&adjusted.consistency()),
        )
        .await;
    assert_eq!(view.body["on_hand"], 4);
    assert_eq!(view.body["available"], 4);
    assert_eq!(view.body["reserved"], 0);
    assert_eq!(view.body["low_stock"], true);

    let last = stocked(&app, "NUT-1", 1, 50).await;
    let low = walk_pages(
        &app,
        "/queries/inventory?low_stock=true&limit=10",
        Caller::Bearer(&admin),
        &last,
        "sku",
    )
    .await;
    assert_eq!(low, vec!["BOLT-1"]);
    let all = walk_pages(
        &app,
        "/queries/inventory?limit=1",
        Caller::Bearer(&admin),
        &last,
        "sku",
    )
    .await;
    assert_eq!(all, vec!["BOLT-1", "NUT-1"], "ordered by SKU, one per page");
}

async fn cart_view(app: &TestApp, cart_id: &str, caller: Caller<'_>, after: &Reply) -> Value {
    let view = app
        .query(
            &format!("/queries/carts/{cart_id}"),
            caller,
            Some(&after.consistency()),
        )
        .await;
    assert_eq!(view.status, 200, "{}", view.body);
    view.body
}

fn quantities(cart: &Value) -> Vec<(String, u64)> {
    cart["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["sku"].as_str().unwrap().to_owned(),
                l["quantity"].as_u64().unwrap(),
            )
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn lines(items: &[(&str, u64)]) -> Vec<(String, u64)> {
    items.iter().map(|(s, q)| ((*s).to_owned(), *q)).collect()
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_guest_adds_changes_and_removes_lines_at_catalog_prices(pool: PgPool) {
    let app = spawn_app(pool, true).await;
    published_product(&app, "CUP-1", 450, "kitchen").await;
    published_product(&app, "PLATE-1", 800, "kitchen").await;
    let cart = guest_cart(&app).await;
    let guest = Caller::Guest(&cart.token);

    add_item(&app, &cart.id, guest, "CUP-1", 2).await;
    let added = add_item(&app, &cart.id, guest, "PLATE-1", 1).await;
    assert_eq!(added.body["version"], 3);
    let view = cart_view(&app, &cart.id, guest, &added).await;
    assert_eq!(view["status"], "open");
    assert_eq!(view["customer_id"], Value::Null);
    assert_eq!(quantities(&view), lines(&[("CUP-1", 2), ("PLATE-1", 1)]));
    assert_eq!(view["subtotal"], json!({"amount": 1700, "currency": "EUR"}));
    assert_eq!(view["item_count"], 3);

    let changed = app
        .command(
            &format!("/commands/carts/{}/change-quantity", cart.id),
            guest,
            json!({"sku": "CUP-1", "quantity": 5}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    let view = cart_view(&app, &cart.id, guest, &changed).await;
    assert_eq!(quantities(&view), lines(&[("CUP-1", 5), ("PLATE-1", 1)]));
    assert_eq!(view["subtotal"]["amount"], 5 * 450 + 800);

    let removed = app
        .command(
            &format!("/commands/carts/{}/remove-item", cart.id),
            guest,
            json!({"sku": "PLATE-1"}),
        )
        .await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert_eq!(removed.body["version"], 5);
    let view = cart_view(&app, &cart.id, guest, &removed).await;
    assert_eq!(quantities(&view), lines(&[("CUP-1", 5)]));
    assert_eq!(view["subtotal"]["amount"], 2250);
    assert_eq!(view["version"], 5);
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_customer_cart_is_theirs_without_a_cart_token(pool: PgPool) {
    let app = spawn_app(pool, true).await;
    published_product(&app, "CUP-1", 450, "kitchen").await;
    let ada = customer(&app);
    let opened = app
        .command(
            "/commands/carts",
            Caller::Bearer(&ada.token),
            json!({"currency": "EUR"}),
        )
        .await;
    assert_eq!(opened.status, 201, "{}", opened.body);
    assert!(opened.body.get("cart_token").is_none(), "{}", opened.body);
    let cart_id = opened.body["id"].as_str().unwrap().to_owned();
    let added = add_item(&app, &cart_id, Caller::Bearer(&ada.token), "CUP-1", 1).await;
    let view = cart_view(&app, &cart_id, Caller::Bearer(&ada.token), &added).await;
    assert_eq!(view["customer_id"], ada.id.to_string());
    assert_eq!(view["currency"], "EUR");
    assert_eq!(quantities(&view), lines(&[("CUP-1", 1)]));
    // Admins reach any cart.
    let seen = app
        .query(
            &format!("/queries/carts/{cart_id}"),
            Caller::Bearer(&admin(&app)),
            Some(&added.consistency()),
        )
        .await;
    assert_eq!(seen.status, 200);
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn signing_in_attaches_a_guest_cart_to_the_customer(pool: PgPool) {
    let app = spawn_app(pool, true).await;
    published_product(&app, "CUP-1", 450, "kitchen").await;
    let cart = guest_cart(&app).await;
    add_item(&app, &cart.id, Caller::Guest(&cart.token), "CUP-1", 2).await;
    let ada = customer(&app);

    let attached = app
        .command(
            &format!("/commands/carts/{}/attach-customer", cart.id),
            Caller::BearerWithCart(&ada.token, &cart.token),
            json!({}),
        )
        .await;
    assert_eq!(attached.status, 200, "{}", attached.body);
    assert_eq!(attached.body["id"], cart.id.as_str());
    // Now the customer reaches it with their bearer token alone.
    let view = cart_view(&app, &cart.id, Caller::Bearer(&ada.token), &attached).await;
    assert_eq!(view["customer_id"], ada.id.to_string());
    assert_eq!(quantities(&view), lines(&[("CUP-1", 2)]));
    // And the customer may go on with it.
    add_item(&app, &cart.id, Caller::Bearer(&ada.token), "CUP-1", 1).await;
}

/// A guest cart with `guest_lines` and the customer's open cart with `their_lines`.
async fn two_carts(
    app: &TestApp,
    customer: &Customer,
    guest_lines: &[(&str, u32)],
    their_lines: &[(&str, u32)],
) -> (crate::fixtures::GuestCart, String) {
    let guest = guest_cart(app).await;
    for (sku, quantity) in guest_lines {
        add_item(app, &guest.id, Caller::Guest(&guest.token), sku, *quantity).await;
    }
    let theirs = customer_cart(app, customer).await;
    let mut last = None;
    for (sku, quantity) in their_lines {
        last = Some(
            add_item(
                app,
                &theirs,
                Caller::Bearer(&customer.token),
                sku,
                *quantity,
            )
            .await,
        );
    }
    // attach-customer looks the open cart up in the carts read model: let it arrive.
    cart_view(
        app,
        &theirs,
        Caller::Bearer(&customer.token),
        &last.unwrap(),
    )
    .await;
    (guest, theirs)
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn signing_in_with_an_open_cart_asks_for_a_merge_policy(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    published_product(&app, "CUP-1", 450, "kitchen").await;
    let ada = customer(&app);
    let (guest, _) = two_carts(&app, &ada, &[("CUP-1", 1)], &[("CUP-1", 2)]).await;
    let before = crate::fixtures::count_events(&pool).await;
    let refused = app
        .command(
            &format!("/commands/carts/{}/attach-customer", guest.id),
            Caller::BearerWithCart(&ada.token, &guest.token),
            json!({}),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(refused.code(), "merge_policy_required");
    assert_eq!(crate::fixtures::count_events(&pool).await, before);
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn each_merge_policy_decides_what_the_customer_cart_keeps(pool: PgPool) {
    let app = spawn_app(pool, true).await;
    for sku in ["A-1", "B-1", "C-1"] {
        published_product(&app, sku, 100, "kitchen").await;
    }
    let cases = [
        ("merge", lines(&[("A-1", 5), ("B-1", 1), ("C-1", 1)])),
        ("keep_guest", lines(&[("A-1", 3), ("C-1", 1)])),
        ("keep_existing", lines(&[("A-1", 2), ("B-1", 1)])),
    ];
    for (policy, expected) in cases {
        let ada = customer(&app);
        let (guest, theirs) = two_carts(
            &app,
            &ada,
            &[("A-1", 3), ("C-1", 1)],
            &[("A-1", 2), ("B-1", 1)],
        )
        .await;
        let merged = app
            .command(
                &format!("/commands/carts/{}/attach-customer", guest.id),
                Caller::BearerWithCart(&ada.token, &guest.token),
                json!({"policy": policy}),
            )
            .await;
        assert_eq!(merged.status, 200, "{policy}: {}", merged.body);
        assert_eq!(merged.body["id"], theirs.as_str(), "{policy}");
        let view = cart_view(&app, &theirs, Caller::Bearer(&ada.token), &merged).await;
        assert_eq!(quantities(&view), expected, "{policy}: {view}");
        assert_eq!(view["status"], "open");
        // The guest cart ends merged into theirs. Its event comes after the answer's
        // consistency token, so poll for it.
        let admin = admin(&app);
        let mut guest_view = Value::Null;
        for _ in 0..100 {
            guest_view = app
                .query(
                    &format!("/queries/carts/{}", guest.id),
                    Caller::Bearer(&admin),
                    None,
                )
                .await
                .body;
            if guest_view["status"] == "merged" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(guest_view["status"], "merged", "{policy}: {guest_view}");
        assert_eq!(guest_view["merged_into"], theirs.as_str());
    }
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn checkout_closes_the_cart_with_its_order_and_abandon_closes_another(pool: PgPool) {
    let app = spawn_app(pool, true).await;
    published_product(&app, "CUP-1", 450, "kitchen").await;
    let ada = customer(&app);
    let cart = customer_cart(&app, &ada).await;
    add_item(&app, &cart, Caller::Bearer(&ada.token), "CUP-1", 2).await;
    let checked_out = app
        .command(
            &format!("/commands/carts/{cart}/checkout"),
            Caller::Bearer(&ada.token),
            checkout_body(),
        )
        .await;
    assert_eq!(checked_out.status, 200, "{}", checked_out.body);
    let order_id = checked_out.body["order_id"].as_str().unwrap().to_owned();
    let view = cart_view(&app, &cart, Caller::Bearer(&ada.token), &checked_out).await;
    assert_eq!(view["status"], "checked_out");
    assert_eq!(view["order_id"], order_id.as_str());
    assert_eq!(view["subtotal"]["amount"], 900);

    let other = guest_cart(&app).await;
    add_item(&app, &other.id, Caller::Guest(&other.token), "CUP-1", 1).await;
    let abandoned = app
        .command(
            &format!("/commands/carts/{}/abandon", other.id),
            Caller::Guest(&other.token),
            json!({}),
        )
        .await;
    assert_eq!(abandoned.status, 200, "{}", abandoned.body);
    let view = cart_view(&app, &other.id, Caller::Guest(&other.token), &abandoned).await;
    assert_eq!(view["status"], "abandoned");
}

async fn ship(app: &TestApp, order_id: &str, lines: Value) -> Reply {
    let shipped = app
        .command(
            &format!("/commands/orders/{order_id}/ship"),
            Caller::Bearer(&admin(app)),
            json!({"lines": lines, "carrier": "DHL", "tracking_number": "JD0001"}),
        )
        .await;
    assert_eq!(shipped.status, 200, "{}", shipped.body);
    shipped
}

async fn order_view(app: &TestApp, order_id: &str, caller: Caller<'_>, consistency: &str) -> Value {
    let view = app
        .query(
            &format!("/queries/orders/{order_id}"),
            caller,
            Some(consistency),
        )
        .await;
    assert_eq!(view.status, 200, "{}", view.body);
    view.body
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn an_order_ships_in_two_parcels_is_delivered_and_its_payment_refunded(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    let ada = customer(&app);
    let order = paid_order(
        &pool,
        Some(ada.id),
        &[("MUG-1", 1000, 3), ("CUP-1", 500, 2)],
    )
    .await;
    let id = order.order_id.to_string();
    let mine = Caller::Bearer(&ada.token);

    let view = order_view(&app, &id, mine, &order.consistency).await;
    assert_eq!(view["status"], "confirmed", "{view}");
    assert_eq!(view["customer_id"], ada.id.to_string());
    assert_eq!(view["total"], json!({"amount": 4000, "currency": "EUR"}));
    assert_eq!(view["payment"]["payment_id"], order.payment_id.to_string());
    let admin_token = admin(&app);
    order_view(&app, &id, Caller::Bearer(&admin_token), &order.consistency).await;

    let first = ship(&app, &id, json!([{"sku": "MUG-1", "quantity": 2}])).await;
    let view = order_view(&app, &id, mine, &first.consistency()).await;
    assert_eq!(view["status"], "partially_shipped", "{view}");
    assert_eq!(view["shipments"].as_array().unwrap().len(), 1);
    assert_eq!(view["shipments"][0]["carrier"], "DHL");
    let mug = |v: &Value| {
        v["lines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["sku"] == "MUG-1")
            .unwrap()["shipped"]
            .clone()
    };
    assert_eq!(mug(&view), 2);

    let rest = ship(
        &app,
        &id,
        json!([{"sku": "MUG-1", "quantity": 1}, {"sku": "CUP-1", "quantity": 2}]),
    )
    .await;
    let view = order_view(&app, &id, mine, &rest.consistency()).await;
    assert_eq!(view["status"], "shipped", "{view}");
    assert_eq!(view["shipments"].as_array().unwrap().len(), 2);
    assert_eq!(mug(&view), 3);

    let delivered = app
        .command(
            &format!("/commands/orders/{id}/deliver"),
            Caller::Bearer(&admin_token),
            json!({}),
        )
        .await;
    assert_eq!(delivered.status, 200, "{}", delivered.body);
    let view = order_view(&app, &id, mine, &delivered.consistency()).await;
    assert_eq!(view["status"], "delivered");
    assert!(view["delivered_at"].is_string(), "{view}");

    let payments_path = format!("/queries/payments?order_id={id}");
    let payments = app
        .query(&payments_path, mine, Some(&order.consistency))
        .await;
    assert_eq!(payments.status, 200, "{}", payments.body);
    let payment = &payments.body[0];
    assert_eq!(payments.body.as_array().unwrap().len(), 1);
    assert_eq!(payment["payment_id"], order.payment_id.to_string());
    assert_eq!(payment["status"], "captured");
    assert_eq!(payment["captured_total"]["amount"], 4000);

    let refunded = app
        .command(
            &format!("/commands/payments/{}/refund", order.payment_id),
            Caller::Bearer(&admin_token),
            json!({"amount": {"amount": 1500, "currency": "EUR"}, "reason": "a mug arrived broken"}),
        )
        .await;
    assert_eq!(refunded.status, 200, "{}", refunded.body);
    // Decided on the order, issued by the checkout process.
    assert_eq!(refunded.body["id"], id.to_string());
    assert!(refunded.body["refund_id"].is_string(), "{}", refunded.body);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let payment = loop {
        let payments = app
            .query(&payments_path, Caller::Bearer(&admin_token), None)
            .await;
        let payment = payments.body[0].clone();
        if payment["refunded_total"]["amount"] == 1500 {
            break payment;
        }
        assert!(std::time::Instant::now() < deadline, "{payment}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(last_refund_id(&payment), refunded.body["refund_id"]);
    assert_eq!(payment["status"], "partially_refunded", "{payment}");
    assert_eq!(payment["refunded_total"]["amount"], 1500);
    assert_eq!(payment["refundable"]["amount"], 2500);
    let last = payment["transactions"].as_array().unwrap().last().unwrap();
    assert_eq!(last["kind"], "refund");
    assert_eq!(last["reason"], "a mug arrived broken");
    assert_eq!(order.total, 4000);
}

fn last_refund_id(payment: &Value) -> Value {
    payment["transactions"].as_array().unwrap().last().unwrap()["refund_id"].clone()
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn order_lists_show_customers_their_own_and_let_admins_filter(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    let ada = customer(&app);
    let bob = customer(&app);
    let ada_first = paid_order(&pool, Some(ada.id), &[("MUG-1", 1000, 1)]).await;
    let ada_second = paid_order(&pool, Some(ada.id), &[("CUP-1", 500, 1)]).await;
    let bob_order = paid_order(&pool, Some(bob.id), &[("MUG-1", 1000, 2)]).await;
    let guest_order = paid_order(&pool, None, &[("MUG-1", 1000, 3)]).await;
    let admin = admin(&app);
    let cancelled = app
        .command(
            &format!("/commands/orders/{}/cancel", ada_first.order_id),
            Caller::Bearer(&admin),
            json!({"reason": "out of stock after all"}),
        )
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    let last = cancelled.consistency();
    let ids = |orders: &[&crate::fixtures::PaidOrder]| -> BTreeSet<String> {
        orders.iter().map(|o| o.order_id.to_string()).collect()
    };
    let listed = |keys: Vec<String>| keys.into_iter().collect::<BTreeSet<_>>();

    let adas = walk_pages(
        &app,
        "/queries/orders?limit=1",
        Caller::Bearer(&ada.token),
        &last,
        "order_id",
    )
    .await;
    assert_eq!(adas.len(), 2, "one page each: {adas:?}");
    assert_eq!(listed(adas), ids(&[&ada_first, &ada_second]));
    // Newest first.
    let newest = app
        .query(
            "/queries/orders?limit=1",
            Caller::Bearer(&ada.token),
            Some(&last),
        )
        .await;
    assert_eq!(
        newest.body["items"][0]["order_id"],
        ada_second.order_id.to_string()
    );
    let bobs = walk_pages(
        &app,
        "/queries/orders?limit=10",
        Caller::Bearer(&bob.token),
        &last,
        "order_id",
    )
    .await;
    assert_eq!(listed(bobs), ids(&[&bob_order]));
    // A customer may name themselves.
    let own = walk_pages(
        &app,
        &format!("/queries/orders?customer_id={}&status=confirmed", ada.id),
        Caller::Bearer(&ada.token),
        &last,
        "order_id",
    )
    .await;
    assert_eq!(listed(own), ids(&[&ada_second]));

    let everyone = walk_pages(
        &app,
        "/queries/orders?limit=2",
        Caller::Bearer(&admin),
        &last,
        "order_id",
    )
    .await;
    assert_eq!(
        listed(everyone),
        ids(&[&ada_first, &ada_second, &bob_order, &guest_order])
    );
    let of_ada = walk_pages(
        &app,
        &format!("/queries/orders?customer_id={}", ada.id),
        Caller::Bearer(&admin),
        &last,
        "order_id",
    )
    .await;
    assert_eq!(listed(of_ada), ids(&[&ada_first, &ada_second]));
    let cancelled_ones = walk_pages(
        &app,
        "/queries/orders?status=cancelled",
        Caller::Bearer(&admin),
        &last,
        "order_id",
    )
    .await;
    assert_eq!(listed(cancelled_ones), ids(&[&ada_first]));
    let adas_confirmed = walk_pages(
        &app,
        &format!("/queries/orders?customer_id={}&status=confirmed", ada.id),
        Caller::Bearer(&admin),
        &last,
        "order_id",
    )
    .await;
    assert_eq!(listed(adas_confirmed), ids(&[&ada_second]));
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn orders_are_cancelled_by_admins_or_their_customer_until_they_ship(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    let ada = customer(&app);
    let admin = admin(&app);

    let hers = paid_order(&pool, Some(ada.id), &[("MUG-1", 1000, 1)]).await;
    let cancelled = app
        .command(
            &format!("/commands/orders/{}/cancel", hers.order_id),
            Caller::Bearer(&ada.token),
            json!({"reason": "changed my mind"}),
        )
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    let view = order_view(
        &app,
        &hers.order_id.to_string(),
        Caller::Bearer(&ada.token),
        &cancelled.consistency(),
    )
    .await;
    assert_eq!(view["status"], "cancelled");
    assert_eq!(view["cancellation"]["cancelled_by"], "customer");
    assert_eq!(view["cancellation"]["reason"], "changed my mind");

    let another = paid_order(&pool, Some(ada.id), &[("MUG-1", 1000, 1)]).await;
    let cancelled = app
        .command(
            &format!("/commands/orders/{}/cancel", another.order_id),
            Caller::Bearer(&admin),
            json!({"reason": "fraud suspected"}),
        )
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    let view = order_view(
        &app,
        &another.order_id.to_string(),
        Caller::Bearer(&admin),
        &cancelled.consistency(),
    )
    .await;
    assert_eq!(view["cancellation"]["cancelled_by"], "admin");

    // Once something shipped, neither may cancel the order.
    let shipped = paid_order(&pool, Some(ada.id), &[("MUG-1", 1000, 2)]).await;
    let parcel = ship(
        &app,
        &shipped.order_id.to_string(),
        json!([{"sku": "MUG-1", "quantity": 1}]),
    )
    .await;
    // The order's own stream: the checkout process may still be reacting to the
    // shipment elsewhere (committing the reserved stock) while this runs.
    let order_events = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM events WHERE aggregate_type = 'Order' AND aggregate_id = $1",
        )
        .bind(shipped.order_id.to_string())
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    let before = order_events().await;
    for token in [&ada.token, &admin] {
        let refused = app
            .command(
                &format!("/commands/orders/{}/cancel", shipped.order_id),
                Caller::Bearer(token),
                json!({"reason": "too late"}),
            )
            .await;
        assert_eq!(refused.status, 422, "{}", refused.body);
        assert_eq!(refused.code(), "already_shipped");
    }
    assert_eq!(order_events().await, before);
    let view = order_view(
        &app,
        &shipped.order_id.to_string(),
        Caller::Bearer(&admin),
        &parcel.consistency(),
    )
    .await;
    assert_eq!(view["status"], "partially_shipped");
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn every_event_records_who_sent_it_in_which_request_and_conversation(pool: PgPool) {
    let app = spawn_app(pool.clone(), true).await;
    let admin = admin(&app);
    let correlation = uuid::Uuid::new_v4();
    let request_id = uuid::Uuid::new_v4();
    let created = crate::support::reply(
        app.client
            .post(app.url("/commands/products"))
            .bearer_auth(&admin)
            .header("X-Correlation-Id", correlation.to_string())
            .header("X-Request-Id", request_id.to_string())
            .json(
                &json!({"sku": "MUG-1", "name": "Mug", "description": "", "category": "kitchen",
                          "brand": "Acme", "price": {"amount": 1000, "currency": "EUR"}}),
            ),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(
        created.header("x-request-id"),
        Some(request_id.to_string().as_str())
    );
    let id = created.body["id"].as_str().unwrap();
    let metadata: Value =
        sqlx::query_scalar("SELECT metadata::jsonb FROM events WHERE aggregate_id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(metadata["actor"], crate::fixtures::ADMIN, "{metadata}");
    assert_eq!(metadata["actor_role"], "admin");
    assert_eq!(metadata["correlation_id"], correlation.to_string());
    assert_eq!(metadata["request_id"], request_id.to_string());
    assert_eq!(metadata["command"], "create-product");

    // A guest is recorded as such; without X-Correlation-Id each request starts a
    // conversation of its own, and its request id is the one answered.
    let cart = guest_cart(&app).await;
    let rows: Vec<(Value,)> =
        sqlx::query_as("SELECT metadata::jsonb FROM events WHERE aggregate_id = $1")
            .bind(&cart.id)
            .fetch_all(&pool)
            .await
            .unwrap();
    let guest = &rows[0].0;
    assert_eq!(guest["actor"], "anonymous", "{guest}");
    assert_eq!(guest["actor_role"], "guest");
    assert_eq!(guest["command"], "open-cart");
    assert!(uuid::Uuid::parse_str(guest["correlation_id"].as_str().unwrap()).is_ok());
    assert_ne!(guest["correlation_id"], correlation.to_string());

    let refused = crate::support::reply(
        app.client
            .post(app.url("/commands/carts"))
            .header("X-Correlation-Id", "not-a-uuid")
            .json(&json!({})),
    )
    .await;
    assert_eq!(
        (refused.status, refused.code()),
        (400, "invalid_correlation_id")
    );
}
