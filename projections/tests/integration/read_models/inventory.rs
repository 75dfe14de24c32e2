//! The stock read model: every inventory event, reservations, low stock, and the
//! list by SKU with its low-stock filter.

use chrono::Duration;
use domain::inventory::{AdjustmentReason, InventoryEvent, ReleaseReason};
use domain::shared::OrderId;
use projections::read_models::inventory::{self, InventoryView};
use projections::Error;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use super::fixtures::{append, append_all, at, every_page, fold_all, id, project, sku, small_pool};

pub fn registered(code: &str, threshold: u64) -> InventoryEvent {
    InventoryEvent::InventoryRegistered {
        sku: sku(code),
        low_stock_threshold: threshold,
        on_hand_after: 0,
        reserved_after: 0,
        available_after: 0,
    }
}

pub fn received(
    code: &str,
    quantity: u64,
    on_hand_after: u64,
    reserved_after: u64,
) -> InventoryEvent {
    InventoryEvent::StockReceived {
        sku: sku(code),
        quantity,
        reference: "PO-1".into(),
        on_hand_after,
        reserved_after,
        available_after: on_hand_after - reserved_after,
    }
}

fn reserved(code: &str, order: u128, quantity: u64, levels: (u64, u64)) -> InventoryEvent {
    InventoryEvent::StockReserved {
        sku: sku(code),
        order_id: OrderId::new(id(order)),
        quantity,
        expires_at: at() + Duration::minutes(15),
        held_for_order_after: quantity,
        on_hand_after: levels.0,
        reserved_after: levels.1,
        available_after: levels.0 - levels.1,
    }
}

async fn stock(pool: &PgPool, code: &str) -> InventoryView {
    project::<InventoryView>(pool).await;
    inventory::get(pool, code).await.unwrap().expect("the SKU")
}

fn levels(view: &InventoryView) -> (u64, u64, u64, bool, u64) {
    (
        view.on_hand,
        view.reserved,
        view.available,
        view.low_stock,
        view.reservations,
    )
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn every_inventory_event_changes_the_view_as_it_should(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let pool = small_pool(pool_options, connect_options).await;
    let code = "MUG-1";
    let mut sequence = 0;
    let mut step = |event: InventoryEvent| {
        sequence += 1;
        let pool = pool.clone();
        async move {
            append(&pool, "Inventory", code, sequence, &event).await;
            stock(&pool, code).await
        }
    };

    let view = step(registered(code, 5)).await;
    assert_eq!(
        (view.sku.as_str(), view.low_stock_threshold, view.version),
        (code, 5, 1)
    );
    assert_eq!(levels(&view), (0, 0, 0, true, 0), "a new SKU starts low");

    let view = step(received(code, 20, 20, 0)).await;
    assert_eq!(levels(&view), (20, 0, 20, false, 0));

    let adjusted = InventoryEvent::StockAdjusted {
        sku: sku(code),
        delta: -2,
        reason: AdjustmentReason::Damaged,
        note: "dropped".into(),
        on_hand_after: 18,
        reserved_after: 0,
        available_after: 18,
    };
    assert_eq!(levels(&step(adjusted).await), (18, 0, 18, false, 0));

    assert_eq!(
        levels(&step(reserved(code, 1, 6, (18, 6))).await),
        (18, 6, 12, false, 1)
    );
    assert_eq!(
        levels(&step(reserved(code, 2, 8, (18, 14))).await),
        (18, 14, 4, true, 2)
    );

    let low = InventoryEvent::LowStockReached {
        sku: sku(code),
        low_stock_threshold: 4,
        on_hand_after: 18,
        reserved_after: 14,
        available_after: 4,
    };
    let view = step(low).await;
    assert_eq!((view.low_stock_threshold, view.low_stock), (4, true));

    let partly_shipped = InventoryEvent::StockCommitted {
        sku: sku(code),
        order_id: OrderId::new(id(1)),
        quantity: 2,
        remaining_reserved_for_order: 4,
        on_hand_after: 16,
        reserved_after: 12,
        available_after: 4,
    };
    assert_eq!(levels(&step(partly_shipped).await), (16, 12, 4, true, 2));

    let all_shipped = InventoryEvent::StockCommitted {
        sku: sku(code),
        order_id: OrderId::new(id(1)),
        quantity: 4,
        remaining_reserved_for_order: 0,
        on_hand_after: 12,
        reserved_after: 8,
        available_after: 4,
    };
    assert_eq!(
        levels(&step(all_shipped).await),
        (12, 8, 4, true, 1),
        "settled"
    );

    let released = InventoryEvent::ReservationReleased {
        sku: sku(code),
        order_id: OrderId::new(id(2)),
        quantity: 8,
        reason: ReleaseReason::Expired,
        held_for_order_after: 0,
        on_hand_after: 12,
        reserved_after: 0,
        available_after: 12,
    };
    let view = step(released).await;
    assert_eq!(levels(&view), (12, 0, 12, false, 0));
    assert_eq!(view.version, 9);

    let (low_stock, available): (bool, i64) =
        sqlx::query_as("SELECT low_stock, available FROM read_inventory WHERE sku = $1")
            .bind(code)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((low_stock, available), (false, 12));
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn the_list_pages_by_sku_and_narrows_to_low_stock(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let pool = small_pool(pool_options, connect_options).await;
    // Even SKUs get stock, odd ones stay at zero (low).
    for n in 0..11 {
        let code = format!("SKU-{n:02}");
        let mut events = vec![registered(&code, 3)];
        if n % 2 == 0 {
            events.push(received(&code, 10, 10, 0));
        }
        append_all(&pool, "Inventory", &code, 1, &events).await;
    }
    project::<InventoryView>(&pool).await;

    for (low_stock_only, expected) in [
        (false, (0..11).collect::<Vec<_>>()),
        (true, (0..11).filter(|n| n % 2 == 1).collect()),
    ] {
        for limit in [1, 4, 100] {
            let pool = &pool;
            let seen: Vec<String> = every_page(limit, |cursor| async move {
                inventory::list(pool, low_stock_only, limit, cursor.as_deref()).await
            })
            .await
            .into_iter()
            .map(|view| view.sku)
            .collect();
            let expected: Vec<String> = expected.iter().map(|n| format!("SKU-{n:02}")).collect();
            assert_eq!(
                seen, expected,
                "low_stock_only {low_stock_only}, limit {limit}"
            );
        }
    }

    let error = inventory::list(&pool, false, 10, Some("!!"))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidCursor(_)), "{error}");
    assert!(inventory::get(&pool, "NOPE").await.unwrap().is_none());
}

#[test]
fn the_inventory_fold_counts_reservations_without_a_database() {
    let code = "MUG-1";
    let view: InventoryView = fold_all(vec![
        registered(code, 2),
        received(code, 10, 10, 0),
        reserved(code, 1, 3, (10, 3)),
        reserved(code, 2, 3, (10, 6)),
        reserved(code, 3, 3, (10, 9)),
    ])
    .unwrap();
    assert_eq!(levels(&view), (10, 9, 1, true, 3));
    let orphan = fold_all::<InventoryView>(vec![received(code, 1, 1, 0)]).unwrap_err();
    assert!(orphan.contains("no creating event"), "{orphan}");
}
