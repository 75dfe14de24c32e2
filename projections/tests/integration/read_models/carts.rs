//! The cart read model: every cart event, a customer's open cart, and what a cart
//! view must never hold.

use std::collections::BTreeMap;

use domain::cart::{CartEvent, CartLine, MergePolicy, PriceChange};
use domain::shared::{
    CartId, CustomerId, Email, LineItem, OrderId, PaymentMethodToken, PostalAddress,
    PostalAddressFields,
};
use projections::read_models::carts::{self, CartStatus, CartView};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use uuid::Uuid;

use super::fixtures::{append, append_all, at, eur, fold_all, id, project, qty, sku, small_pool};

pub fn opened(cart: Uuid, customer: Option<Uuid>) -> CartEvent {
    CartEvent::CartOpened {
        cart_id: CartId::new(cart),
        currency: eur(0).currency(),
        customer_id: customer.map(CustomerId::new),
        opened_at: at(),
    }
}

fn line(code: &str, cents: i64, n: u32, price_changed: bool) -> CartLine {
    CartLine {
        sku: sku(code),
        name: format!("Product {code}"),
        unit_price: eur(cents),
        quantity: qty(n),
        line_total: eur(cents * i64::from(n)),
        price_changed,
    }
}

pub fn added(code: &str, cents: i64, n: u32, subtotal: i64, item_count: u32) -> CartEvent {
    CartEvent::ItemAdded {
        line: line(code, cents, n, false),
        quantity_added: qty(n),
        subtotal: eur(subtotal),
        item_count,
        discounts: None,
    }
}

pub fn checked_out(cart: Uuid, order: Uuid, lines: &[(&str, i64, u32)]) -> CartEvent {
    let subtotal: i64 = lines
        .iter()
        .map(|(_, cents, n)| cents * i64::from(*n))
        .sum();
    CartEvent::CartCheckedOut {
        cart_id: CartId::new(cart),
        order_id: OrderId::new(order),
        customer_id: None,
        lines: lines
            .iter()
            .map(|(code, cents, n)| LineItem {
                sku: sku(code),
                name: format!("Product {code}"),
                unit_price: eur(*cents),
                quantity: qty(*n),
            })
            .collect(),
        line_totals: lines
            .iter()
            .map(|(code, cents, n)| (sku(code), eur(cents * i64::from(*n))))
            .collect::<BTreeMap<_, _>>(),
        subtotal: eur(subtotal),
        item_count: lines.iter().map(|(_, _, n)| n).sum(),
        currency: eur(0).currency(),
        email: Email::new("ada@example.org").unwrap(),
        shipping_address: PostalAddress::new(PostalAddressFields {
            name: "Ada Lovelace".into(),
            line1: "12 St James's Square".into(),
            line2: None,
            city: "London".into(),
            postal_code: "SW1Y 4JH".into(),
            region: None,
            country: "GB".into(),
        })
        .unwrap(),
        payment_token: PaymentMethodToken::new("tok_visa_secret").unwrap(),
        checked_out_at: at(),
        pricing: None,
    }
}

async fn cart(pool: &PgPool, cart: Uuid) -> CartView {
    project::<CartView>(pool).await;
    carts::get(pool, cart).await.unwrap().expect("the cart")
}

fn skus(view: &CartView) -> Vec<(&str, u32, bool)> {
    view.lines
        .iter()
        .map(|l| (l.sku.as_str(), l.quantity, l.price_changed))
        .collect()
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn every_cart_event_changes_the_view_as_it_should(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let pool = small_pool(pool_options, connect_options).await;
    let (c, stream) = (id(1), id(1).to_string());
    let mut sequence = 0;
    let mut next = || {
        sequence += 1;
        sequence
    };

    append(&pool, "Cart", &stream, next(), &opened(c, None)).await;
    let view = cart(&pool, c).await;
    assert_eq!(
        (view.cart_id, view.status, view.currency.as_str()),
        (c, CartStatus::Open, "EUR")
    );
    assert_eq!(
        (view.customer_id, view.lines.len(), view.item_count),
        (None, 0, 0)
    );
    assert_eq!((view.created_at, view.version), (at(), 1));

    append(&pool, "Cart", &stream, next(), &added("A", 100, 2, 200, 2)).await;
    append(&pool, "Cart", &stream, next(), &added("B", 250, 1, 450, 3)).await;
    let view = cart(&pool, c).await;
    assert_eq!(skus(&view), vec![("A", 2, false), ("B", 1, false)]);
    assert_eq!((view.subtotal.amount, view.item_count), (450, 3));
    assert_eq!(view.lines[1].line_total.amount, 250);

    let changed = CartEvent::ItemQuantityChanged {
        line: line("A", 100, 5, false),
        previous_quantity: qty(2),
        subtotal: eur(750),
        item_count: 6,
        discounts: None,
    };
    append(&pool, "Cart", &stream, next(), &changed).await;
    let view = cart(&pool, c).await;
    assert_eq!(skus(&view), vec![("A", 5, false), ("B", 1, false)]);
    assert_eq!((view.subtotal.amount, view.item_count), (750, 6));

    let removed = CartEvent::ItemRemoved {
        line: line("B", 250, 1, false),
        subtotal: eur(500),
        item_count: 5,
        discounts: None,
    };
    append(&pool, "Cart", &stream, next(), &removed).await;
    let view = cart(&pool, c).await;
    assert_eq!(skus(&view), vec![("A", 5, false)]);
    assert_eq!(view.subtotal.amount, 500);

    let attached = CartEvent::CartAttachedToCustomer {
        customer_id: CustomerId::new(id(77)),
    };
    append(&pool, "Cart", &stream, next(), &attached).await;
    assert_eq!(cart(&pool, c).await.customer_id, Some(id(77)));

    let merged = CartEvent::CartLinesMerged {
        source_cart_id: CartId::new(id(2)),
        policy: MergePolicy::Merge,
        lines: vec![line("A", 100, 5, false), line("C", 300, 1, false)],
        capped_quantities: vec![],
        dropped_skus: vec![],
        subtotal: eur(800),
        item_count: 6,
    };
    append(&pool, "Cart", &stream, next(), &merged).await;
    let view = cart(&pool, c).await;
    assert_eq!(skus(&view), vec![("A", 5, false), ("C", 1, false)]);
    assert_eq!((view.subtotal.amount, view.item_count), (800, 6));

    let refreshed = CartEvent::PricesRefreshed {
        changes: vec![PriceChange {
            sku: sku("C"),
            old_price: eur(300),
            new_price: eur(350),
        }],
        lines: vec![line("A", 100, 5, false), line("C", 350, 1, true)],
        subtotal: eur(850),
        item_count: 6,
    };
    append(&pool, "Cart", &stream, next(), &refreshed).await;
    let view = cart(&pool, c).await;
    assert_eq!(skus(&view), vec![("A", 5, false), ("C", 1, true)]);
    assert_eq!(
        (view.lines[1].unit_price.amount, view.subtotal.amount),
        (350, 850)
    );

    let order = id(500);
    append(
        &pool,
        "Cart",
        &stream,
        next(),
        &checked_out(c, order, &[("A", 100, 5), ("C", 350, 1)]),
    )
    .await;
    let view = cart(&pool, c).await;
    assert_eq!(
        (view.status, view.order_id),
        (CartStatus::CheckedOut, Some(order))
    );
    assert_eq!(
        skus(&view),
        vec![("A", 5, false), ("C", 1, false)],
        "flags cleared"
    );
    assert_eq!(
        view.customer_id,
        Some(id(77)),
        "a guest checkout does not forget the customer"
    );
    assert_eq!(view.version, 9);

    // What a cart view never holds: the checkout's payment token, and no address.
    let doc: String = sqlx::query_scalar("SELECT doc::text FROM read_carts WHERE cart_id = $1")
        .bind(c)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        !doc.contains("tok_visa_secret") && !doc.contains("London"),
        "{doc}"
    );

    // The two other ends of a cart's life.
    let (abandoned, merged_away) = (id(3), id(4));
    append_all(
        &pool,
        "Cart",
        &abandoned.to_string(),
        1,
        &[
            opened(abandoned, None),
            CartEvent::CartAbandoned {
                customer_id: None,
                subtotal: eur(0),
                item_count: 0,
                abandoned_at: at(),
            },
        ],
    )
    .await;
    append_all(
        &pool,
        "Cart",
        &merged_away.to_string(),
        1,
        &[
            opened(merged_away, None),
            CartEvent::CartMergedInto {
                target_cart_id: CartId::new(c),
            },
        ],
    )
    .await;
    assert_eq!(cart(&pool, abandoned).await.status, CartStatus::Abandoned);
    let view = cart(&pool, merged_away).await;
    assert_eq!(
        (view.status, view.merged_into),
        (CartStatus::Merged, Some(c))
    );
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_customer_s_open_cart_is_their_newest_one_still_open(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let pool = small_pool(pool_options, connect_options).await;
    let (ada, bob) = (id(10), id(11));
    let open_at = |cart: Uuid, customer: Uuid, minutes: i64| CartEvent::CartOpened {
        cart_id: CartId::new(cart),
        currency: eur(0).currency(),
        customer_id: Some(CustomerId::new(customer)),
        opened_at: at() + chrono::Duration::minutes(minutes),
    };
    append(
        &pool,
        "Cart",
        &id(1).to_string(),
        1,
        &open_at(id(1), ada, 0),
    )
    .await;
    append(
        &pool,
        "Cart",
        &id(2).to_string(),
        1,
        &open_at(id(2), ada, 5),
    )
    .await;
    // The newest of Ada's carts was checked out: no longer open.
    append_all(
        &pool,
        "Cart",
        &id(3).to_string(),
        1,
        &[
            open_at(id(3), ada, 10),
            added("A", 100, 1, 100, 1),
            checked_out(id(3), id(900), &[("A", 100, 1)]),
        ],
    )
    .await;
    // A guest cart attached to Bob later.
    append_all(
        &pool,
        "Cart",
        &id(4).to_string(),
        1,
        &[
            opened(id(4), None),
            CartEvent::CartAttachedToCustomer {
                customer_id: CustomerId::new(bob),
            },
        ],
    )
    .await;
    project::<CartView>(&pool).await;

    let found = |customer| {
        let pool = pool.clone();
        async move {
            carts::open_cart_of(&pool, customer)
                .await
                .unwrap()
                .map(|c| c.cart_id)
        }
    };
    assert_eq!(found(ada).await, Some(id(2)));
    assert_eq!(found(bob).await, Some(id(4)));
    assert_eq!(found(id(12)).await, None);
}

#[test]
fn the_cart_fold_follows_its_events_without_a_database() {
    let c = id(1);
    let view: CartView = fold_all(vec![
        opened(c, Some(id(2))),
        added("A", 100, 1, 100, 1),
        added("A", 120, 2, 240, 2),
    ])
    .unwrap();
    assert_eq!(skus(&view), vec![("A", 2, false)], "one line per SKU");
    assert_eq!(
        (view.lines[0].unit_price.amount, view.subtotal.amount),
        (120, 240)
    );
    assert_eq!((view.customer_id, view.version), (Some(id(2)), 3));

    let orphan = fold_all::<CartView>(vec![added("A", 100, 1, 100, 1)]).unwrap_err();
    assert!(orphan.contains("no creating event"), "{orphan}");
}
