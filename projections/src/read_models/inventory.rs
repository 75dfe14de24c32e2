//! The stock read model (`read_inventory`): one row per SKU with its on-hand,
//! reserved and available units and whether it is low, for the storefront's
//! "in stock" badges and the back office's reorder list.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use sqlx::{PgExecutor, Postgres, QueryBuilder};
use utoipa::ToSchema;

use domain::inventory::InventoryEvent;

use super::document::{
    self, created_twice, existing, DocumentProjection, EventContext, KeyKind, View,
};
use super::pagination::{clamp_limit, decode_cursor, Page};
use crate::Error;

pub const PROJECTOR: &str = "inventory";

/// Builds `read_inventory`.
pub type InventoryProjection = DocumentProjection<InventoryView>;

/// The stock of one SKU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InventoryView {
    pub sku: String,
    /// Units in the warehouse.
    pub on_hand: u64,
    /// Units held for orders not yet shipped.
    pub reserved: u64,
    /// `on_hand - reserved`: what may still be sold.
    pub available: u64,
    pub low_stock_threshold: u64,
    /// `available <= low_stock_threshold`.
    pub low_stock: bool,
    /// Orders holding units of this SKU.
    pub reservations: u64,
    /// The SKU stream's sequence of the last event folded in.
    pub version: i64,
    pub updated_at: DateTime<Utc>,
}

impl InventoryView {
    fn with_levels(mut self, (on_hand, reserved, available): (u64, u64, u64)) -> Self {
        self.on_hand = on_hand;
        self.reserved = reserved;
        self.available = available;
        self.low_stock = available <= self.low_stock_threshold;
        self
    }
}

impl View for InventoryView {
    const PROJECTOR: &'static str = PROJECTOR;
    const AGGREGATE_TYPE: &'static str = domain::AggregateKind::Inventory.type_name();
    const TABLE: &'static str = "read_inventory";
    const KEY_COLUMN: &'static str = "sku";
    const KEY_KIND: KeyKind = KeyKind::Text;
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("low_stock", "(doc->>'low_stock')::boolean"),
        ("available", "(doc->>'available')::bigint"),
    ];

    type Event = InventoryEvent;

    fn fold(view: Option<Self>, event: InventoryEvent, at: &EventContext) -> Result<Self, String> {
        let levels = event.levels_after();
        let mut view = match event {
            InventoryEvent::InventoryRegistered {
                sku,
                low_stock_threshold,
                ..
            } => {
                created_twice(&view, "InventoryRegistered")?;
                InventoryView {
                    sku: sku.as_str().to_owned(),
                    on_hand: 0,
                    reserved: 0,
                    available: 0,
                    low_stock_threshold,
                    low_stock: true,
                    reservations: 0,
                    version: 0,
                    updated_at: at.recorded_at,
                }
            }
            InventoryEvent::StockReceived { .. }
            | InventoryEvent::StockAdjusted { .. }
            | InventoryEvent::ReservationHeld { .. } => existing(view, "a stock movement")?,
            InventoryEvent::StockReserved {
                quantity,
                held_for_order_after,
                ..
            } => {
                let mut view = existing(view, "StockReserved")?;
                // An extension of a reservation the order holds is not a new one.
                if held_for_order_after == quantity {
                    view.reservations = view.reservations.saturating_add(1);
                }
                view
            }
            InventoryEvent::ReservationReleased {
                held_for_order_after,
                ..
            } => {
                let mut view = existing(view, "ReservationReleased")?;
                if held_for_order_after == 0 {
                    view.reservations = view.reservations.saturating_sub(1);
                }
                view
            }
            InventoryEvent::StockCommitted {
                remaining_reserved_for_order,
                ..
            } => {
                let mut view = existing(view, "StockCommitted")?;
                // Shipping the last reserved unit settles the reservation.
                if remaining_reserved_for_order == 0 {
                    view.reservations = view.reservations.saturating_sub(1);
                }
                view
            }
            InventoryEvent::LowStockReached {
                low_stock_threshold,
                ..
            } => InventoryView {
                low_stock_threshold,
                ..existing(view, "LowStockReached")?
            },
        }
        .with_levels(levels);
        view.version = at.sequence;
        view.updated_at = at.recorded_at;
        Ok(view)
    }

    fn version(&self) -> i64 {
        self.version
    }
}

/// The stock of `sku`, if it is registered.
pub async fn get<'e>(
    executor: impl PgExecutor<'e>,
    sku: &str,
) -> Result<Option<InventoryView>, Error> {
    document::get(executor, sku.to_owned()).await
}

/// SKUs in SKU order, all of them or only those at or below their threshold.
pub async fn list<'e>(
    executor: impl PgExecutor<'e>,
    low_stock_only: bool,
    limit: i64,
    cursor: Option<&str>,
) -> Result<Page<InventoryView>, Error> {
    let after: Option<String> = decode_cursor(cursor)?;
    let limit = clamp_limit(limit);
    let mut query: QueryBuilder<'_, Postgres> =
        QueryBuilder::new("SELECT doc, sku FROM read_inventory WHERE true");
    if low_stock_only {
        query.push(" AND low_stock");
    }
    if let Some(after) = after {
        query.push(" AND sku > ").push_bind(after);
    }
    query.push(" ORDER BY sku LIMIT ").push_bind(limit + 1);
    let rows: Vec<(Json<InventoryView>, String)> =
        query.build_query_as().fetch_all(executor).await?;
    Ok(Page::from_rows(
        rows.into_iter()
            .map(|(Json(view), sku)| (view, sku))
            .collect(),
        limit,
    ))
}
