//! The tax rates read model (`read_tax_rates`): one row per country with the rates
//! in force there, for the back office and for storefronts that show prices with
//! the destination's tax.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use sqlx::PgExecutor;
use utoipa::ToSchema;

use domain::tax_rates::TaxRatesEvent;

use super::document::{DocumentProjection, EventContext, KeyKind, View};
use crate::Error;

pub const PROJECTOR: &str = "tax_rates";

/// Builds `read_tax_rates`.
pub type TaxRatesProjection = DocumentProjection<TaxRatesView>;

/// The rates of one country.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TaxRatesView {
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// Sorted by region (the whole country first), then category.
    pub rates: Vec<TaxRateView>,
    pub set_at: DateTime<Utc>,
    pub version: i64,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TaxRateView {
    /// `None`: the whole country.
    pub region: Option<String>,
    /// A product tax category (`standard`, `reduced`, ...).
    pub category: String,
    /// 1900 = 19 %.
    pub basis_points: u32,
}

impl View for TaxRatesView {
    const PROJECTOR: &'static str = PROJECTOR;
    const AGGREGATE_TYPE: &'static str = domain::AggregateKind::TaxRates.type_name();
    const TABLE: &'static str = "read_tax_rates";
    const KEY_COLUMN: &'static str = "country";
    const KEY_KIND: KeyKind = KeyKind::Text;
    const COLUMNS: &'static [(&'static str, &'static str)] = &[];

    type Event = TaxRatesEvent;

    fn fold(_view: Option<Self>, event: TaxRatesEvent, at: &EventContext) -> Result<Self, String> {
        // Every event carries the country's whole table: the last one is the view.
        let TaxRatesEvent::TaxRatesSet {
            country,
            rates,
            set_at,
        } = event;
        Ok(TaxRatesView {
            country,
            rates: rates
                .into_iter()
                .map(|rate| TaxRateView {
                    region: rate.region,
                    category: rate.category.as_str().to_owned(),
                    basis_points: rate.basis_points,
                })
                .collect(),
            set_at,
            version: at.sequence,
            updated_at: at.recorded_at,
        })
    }

    fn version(&self) -> i64 {
        self.version
    }
}

/// The rates of every country with rates, or of `country` only, by country.
pub async fn list<'e>(
    executor: impl PgExecutor<'e>,
    country: Option<&str>,
) -> Result<Vec<TaxRatesView>, Error> {
    let rows: Vec<Json<TaxRatesView>> = sqlx::query_scalar(
        "SELECT doc FROM read_tax_rates
          WHERE ($1::text IS NULL OR country = $1)
          ORDER BY country",
    )
    .bind(country)
    .fetch_all(executor)
    .await?;
    Ok(rows.into_iter().map(|Json(view)| view).collect())
}
