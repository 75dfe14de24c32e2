//! Sales (`read_sales`): revenue, discounts, tax and units per day, in total and
//! by product, category and promotion, for admins' and analysts' reports. Built
//! from what each order froze when it was placed (`OrderPlaced.pricing`), never
//! recomputed; refunds and cancellations are counted on the day they happen.
//!
//! One row per (day, dimension, key, currency); a batch adds its figures to the
//! rows in one upsert. Days are UTC days of the event's business time (`placed_at`)
//! or, for refunds and cancellations, of when they were recorded.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDate;
use serde::Serialize;
use sqlx::{FromRow, PgConnection, PgExecutor};
use utoipa::ToSchema;

use domain::order::OrderEvent;
use eventlog::{decode, PayloadsOf, RecordedEvent};

use crate::runtime::PostgresProjection;
use crate::Error;

pub const PROJECTOR: &str = "sales";
pub const TABLE: &str = "read_sales";

/// What a row adds up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// Every order of the day: key `all`.
    Total,
    /// Key: the SKU.
    Product,
    /// Key: the product's category (empty where unknown).
    Category,
    /// Key: the promotion's id.
    Promotion,
}

impl Dimension {
    pub const fn as_str(self) -> &'static str {
        match self {
            Dimension::Total => "total",
            Dimension::Product => "product",
            Dimension::Category => "category",
            Dimension::Promotion => "promotion",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Dimension::Total,
            Dimension::Product,
            Dimension::Category,
            Dimension::Promotion,
        ]
        .into_iter()
        .find(|d| d.as_str() == text)
    }
}

/// The figures of one row, in minor units of its currency.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Figures {
    /// A name to show (the product's or promotion's), last seen.
    label: String,
    orders: i64,
    units: i64,
    gross: i64,
    discounts: i64,
    tax: i64,
    revenue: i64,
    refunded: i64,
    cancelled_orders: i64,
}

type Key = (NaiveDate, Dimension, String, String);

/// Builds `read_sales` (or a copy of its shape, for a rebuild beside it).
#[derive(Debug, Clone)]
pub struct SalesProjection {
    table: String,
}

impl SalesProjection {
    pub fn new() -> Self {
        SalesProjection {
            table: TABLE.to_owned(),
        }
    }
}

impl Default for SalesProjection {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl PostgresProjection for SalesProjection {
    fn name(&self) -> &str {
        PROJECTOR
    }

    fn payloads(&self) -> Option<PayloadsOf> {
        Some(PayloadsOf::events(FIGURED))
    }

    async fn apply(&self, tx: &mut PgConnection, events: &[RecordedEvent]) -> Result<(), Error> {
        let rows = figures_of(events)?;
        if rows.is_empty() {
            return Ok(());
        }
        write(&self.table, tx, rows).await
    }

    async fn reset(&self, tx: &mut PgConnection) -> Result<(), Error> {
        sqlx::query(&format!("TRUNCATE {}", self.table))
            .execute(tx)
            .await?;
        Ok(())
    }

    fn tables(&self) -> Vec<String> {
        vec![self.table.clone()]
    }

    fn writing_to(&self, shadow: &dyn Fn(&str) -> String) -> Option<Arc<dyn PostgresProjection>> {
        Some(Arc::new(SalesProjection {
            table: shadow(&self.table),
        }))
    }
}

/// The order events that move the figures.
const FIGURED: &[&str] = &["OrderPlaced", "OrderCancelled", "OrderRefundRecorded"];

/// The figures `events` add, by row. Pure.
fn figures_of(events: &[RecordedEvent]) -> Result<BTreeMap<Key, Figures>, Error> {
    let order_type = domain::AggregateKind::Order.type_name();
    let mut rows: BTreeMap<Key, Figures> = BTreeMap::new();
    for event in events {
        if event.aggregate_type != order_type || !FIGURED.contains(&event.event_type.as_str()) {
            continue;
        }
        match decode::<OrderEvent>(event)? {
            OrderEvent::OrderPlaced {
                lines,
                currency,
                total,
                placed_at,
                pricing,
                ..
            } => {
                let day = placed_at.date_naive();
                let currency = currency.code();
                let mut sums = Figures {
                    orders: 1,
                    revenue: total.amount(),
                    ..Figures::default()
                };
                match &pricing {
                    Some(priced) => {
                        let names: BTreeMap<&str, &str> = lines
                            .iter()
                            .map(|l| (l.sku.as_str(), l.name.as_str()))
                            .collect();
                        for line in &priced.lines {
                            let paid = priced
                                .paid_for(&line.sku)
                                .map_or(line.net.amount(), |m| m.amount());
                            let units = i64::from(line.quantity);
                            for (dimension, key, label) in [
                                (
                                    Dimension::Product,
                                    line.sku.as_str(),
                                    names.get(line.sku.as_str()).copied().unwrap_or_default(),
                                ),
                                (
                                    Dimension::Category,
                                    line.category.as_str(),
                                    line.category.as_str(),
                                ),
                            ] {
                                let figures = row(&mut rows, day, dimension, key, currency);
                                figures.label = label.to_owned();
                                figures.orders += 1;
                                figures.units += units;
                                figures.gross += line.gross.amount();
                                figures.discounts += line.discount.amount();
                                figures.tax += line.tax.amount();
                                figures.revenue += paid;
                            }
                            sums.units += units;
                            sums.gross += line.gross.amount();
                        }
                        for discount in &priced.discounts {
                            let figures = row(
                                &mut rows,
                                day,
                                Dimension::Promotion,
                                &discount.promotion_id.to_string(),
                                currency,
                            );
                            figures.label = discount.name.clone();
                            figures.orders += 1;
                            figures.discounts += discount.amount.amount();
                        }
                        sums.discounts = priced.discount_total.amount();
                        sums.tax = priced.tax.as_ref().map_or(0, |t| t.total.amount());
                    }
                    None => {
                        for line in &lines {
                            let units = i64::from(line.quantity.get());
                            let figures = row(
                                &mut rows,
                                day,
                                Dimension::Product,
                                line.sku.as_str(),
                                currency,
                            );
                            figures.label = line.name.clone();
                            figures.orders += 1;
                            figures.units += units;
                            figures.gross += line.line_total.amount();
                            figures.revenue += line.line_total.amount();
                            sums.units += units;
                            sums.gross += line.line_total.amount();
                        }
                    }
                }
                add(
                    row(&mut rows, day, Dimension::Total, "all", currency),
                    &sums,
                );
            }
            OrderEvent::OrderCancelled {
                amount_to_release, ..
            } => {
                let day = event.recorded_at.date_naive();
                row(
                    &mut rows,
                    day,
                    Dimension::Total,
                    "all",
                    amount_to_release.currency().code(),
                )
                .cancelled_orders += 1;
            }
            OrderEvent::OrderRefundRecorded { amount, .. } => {
                let day = event.recorded_at.date_naive();
                row(
                    &mut rows,
                    day,
                    Dimension::Total,
                    "all",
                    amount.currency().code(),
                )
                .refunded += amount.amount();
            }
            _ => {}
        }
    }
    Ok(rows)
}

fn row<'a>(
    rows: &'a mut BTreeMap<Key, Figures>,
    day: NaiveDate,
    dimension: Dimension,
    key: &str,
    currency: &str,
) -> &'a mut Figures {
    rows.entry((day, dimension, key.to_owned(), currency.to_owned()))
        .or_default()
}

fn add(into: &mut Figures, more: &Figures) {
    into.orders += more.orders;
    into.units += more.units;
    into.gross += more.gross;
    into.discounts += more.discounts;
    into.tax += more.tax;
    into.revenue += more.revenue;
    into.refunded += more.refunded;
    into.cancelled_orders += more.cancelled_orders;
}

async fn write(
    table: &str,
    tx: &mut PgConnection,
    rows: BTreeMap<Key, Figures>,
) -> Result<(), Error> {
    let n = rows.len();
    let (mut days, mut dimensions, mut keys, mut currencies, mut labels) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let mut numbers: [Vec<i64>; 8] = Default::default();
    for ((day, dimension, key, currency), f) in rows {
        days.push(day);
        dimensions.push(dimension.as_str());
        keys.push(key);
        currencies.push(currency);
        labels.push(f.label);
        for (column, value) in numbers.iter_mut().zip([
            f.orders,
            f.units,
            f.gross,
            f.discounts,
            f.tax,
            f.revenue,
            f.refunded,
            f.cancelled_orders,
        ]) {
            column.push(value);
        }
    }
    let [orders, units, gross, discounts, tax, revenue, refunded, cancelled] = numbers;
    sqlx::query(&format!(
        "INSERT INTO {table} (day, dimension, key, currency, label, orders, units, gross,
                              discounts, tax, revenue, refunded, cancelled_orders)
         SELECT * FROM UNNEST($1::date[], $2::text[], $3::text[], $4::text[], $5::text[],
                              $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[],
                              $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[])
         ON CONFLICT (dimension, day, key, currency) DO UPDATE SET
             label = CASE WHEN EXCLUDED.label = '' THEN {table}.label ELSE EXCLUDED.label END,
             orders = {table}.orders + EXCLUDED.orders,
             units = {table}.units + EXCLUDED.units,
             gross = {table}.gross + EXCLUDED.gross,
             discounts = {table}.discounts + EXCLUDED.discounts,
             tax = {table}.tax + EXCLUDED.tax,
             revenue = {table}.revenue + EXCLUDED.revenue,
             refunded = {table}.refunded + EXCLUDED.refunded,
             cancelled_orders = {table}.cancelled_orders + EXCLUDED.cancelled_orders"
    ))
    .bind(days)
    .bind(dimensions)
    .bind(keys)
    .bind(currencies)
    .bind(labels)
    .bind(orders)
    .bind(units)
    .bind(gross)
    .bind(discounts)
    .bind(tax)
    .bind(revenue)
    .bind(refunded)
    .bind(cancelled)
    .execute(tx)
    .await?;
    Ok(())
}

/// One row of the report: what was sold on `day`, for one key of a dimension.
#[derive(Debug, Clone, PartialEq, Eq, FromRow, Serialize, ToSchema)]
pub struct SalesRow {
    pub day: NaiveDate,
    /// `total`, `product`, `category` or `promotion`.
    pub dimension: String,
    /// `all`, a SKU, a category, or a promotion id.
    pub key: String,
    /// The product's or promotion's name.
    pub label: String,
    /// ISO 4217; figures are in its minor units.
    pub currency: String,
    /// Orders placed (for a product or category: orders with such a line; for a
    /// promotion: orders it applied to).
    pub orders: i64,
    pub units: i64,
    /// Before discounts.
    pub gross: i64,
    pub discounts: i64,
    pub tax: i64,
    /// What customers pay (for the total: shipping included).
    pub revenue: i64,
    /// Refunds recorded that day (total only).
    pub refunded: i64,
    /// Orders cancelled that day (total only).
    pub cancelled_orders: i64,
}

/// What a report asks for.
#[derive(Debug, Clone)]
pub struct SalesFilter {
    pub dimension: Dimension,
    pub from: NaiveDate,
    /// Included.
    pub to: NaiveDate,
    pub key: Option<String>,
    pub currency: Option<String>,
}

/// At most this many rows per report.
pub const MAX_ROWS: i64 = 5000;

/// The rows of `filter`, by day, then currency, then revenue (highest first),
/// then key; at most [`MAX_ROWS`] (ask for fewer days for more).
pub async fn report<'e>(
    executor: impl PgExecutor<'e>,
    filter: &SalesFilter,
) -> Result<Vec<SalesRow>, Error> {
    let rows = sqlx::query_as::<_, SalesRow>(
        "SELECT day, dimension, key, label, currency, orders, units, gross, discounts, tax,
                revenue, refunded, cancelled_orders
           FROM read_sales
          WHERE dimension = $1 AND day BETWEEN $2 AND $3
            AND ($4::text IS NULL OR key = $4)
            AND ($5::text IS NULL OR currency = $5)
          ORDER BY day, currency, revenue DESC, key
          LIMIT $6",
    )
    .bind(filter.dimension.as_str())
    .bind(filter.from)
    .bind(filter.to)
    .bind(filter.key.as_deref())
    .bind(filter.currency.as_deref())
    .bind(MAX_ROWS)
    .fetch_all(executor)
    .await?;
    Ok(rows)
}
