//! The shipping methods read model (`read_shipping_methods`): one row per method,
//! for the storefront's choice at checkout (the methods that ship to a country in
//! the cart's currency) and the back office's list.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use sqlx::PgExecutor;
use utoipa::ToSchema;
use uuid::Uuid;

use domain::shipping_method::{ShippingMethodDefinition, ShippingMethodEvent};

use super::document::{created_twice, existing, DocumentProjection, EventContext, KeyKind, View};
use super::view_types::MoneyView;
use crate::Error;

pub const PROJECTOR: &str = "shipping_methods";

/// Builds `read_shipping_methods`.
pub type ShippingMethodsProjection = DocumentProjection<ShippingMethodView>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ShippingMethodView {
    pub method_id: Uuid,
    pub name: String,
    pub price: MoneyView,
    /// Free when the subtotal after discounts reaches it.
    pub free_above: Option<MoneyView>,
    /// ISO 3166-1 alpha-2 codes, sorted.
    pub countries: Vec<String>,
    /// A retired method is offered to no checkout.
    pub retired: bool,
    pub defined_at: DateTime<Utc>,
    pub version: i64,
    pub updated_at: DateTime<Utc>,
}

impl ShippingMethodView {
    fn with(mut self, definition: ShippingMethodDefinition) -> Self {
        self.name = definition.name;
        self.price = definition.price.into();
        self.free_above = definition.free_above.map(MoneyView::from);
        self.countries = definition.countries.into_iter().collect();
        self
    }
}

impl View for ShippingMethodView {
    const PROJECTOR: &'static str = PROJECTOR;
    const AGGREGATE_TYPE: &'static str = domain::AggregateKind::ShippingMethod.type_name();
    const TABLE: &'static str = "read_shipping_methods";
    const KEY_COLUMN: &'static str = "method_id";
    const KEY_KIND: KeyKind = KeyKind::Uuid;
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("currency", "doc->'price'->>'currency'"),
        ("retired", "(doc->>'retired')::boolean"),
        (
            "countries",
            "ARRAY(SELECT jsonb_array_elements_text(doc->'countries'))",
        ),
    ];

    type Event = ShippingMethodEvent;

    fn fold(
        view: Option<Self>,
        event: ShippingMethodEvent,
        at: &EventContext,
    ) -> Result<Self, String> {
        let mut view = match event {
            ShippingMethodEvent::ShippingMethodDefined {
                method_id,
                definition,
                defined_at,
            } => {
                created_twice(&view, "ShippingMethodDefined")?;
                ShippingMethodView {
                    method_id: method_id.as_uuid(),
                    name: String::new(),
                    price: MoneyView::zero(definition.price.currency().code()),
                    free_above: None,
                    countries: Vec::new(),
                    retired: false,
                    defined_at,
                    version: 0,
                    updated_at: at.recorded_at,
                }
                .with(definition)
            }
            ShippingMethodEvent::ShippingMethodChanged { definition } => {
                existing(view, "ShippingMethodChanged")?.with(definition)
            }
            ShippingMethodEvent::ShippingMethodRetired { .. } => ShippingMethodView {
                retired: true,
                ..existing(view, "ShippingMethodRetired")?
            },
        };
        view.version = at.sequence;
        view.updated_at = at.recorded_at;
        Ok(view)
    }

    fn version(&self) -> i64 {
        self.version
    }
}

/// The methods that may be chosen (not retired), or all of them, optionally only
/// those shipping to `country` and priced in `currency`; by name, then id. The
/// table holds a shop's few methods: no paging.
pub async fn list<'e>(
    executor: impl PgExecutor<'e>,
    country: Option<&str>,
    currency: Option<&str>,
    include_retired: bool,
) -> Result<Vec<ShippingMethodView>, Error> {
    let rows: Vec<Json<ShippingMethodView>> = sqlx::query_scalar(
        "SELECT doc FROM read_shipping_methods
          WHERE ($1::text IS NULL OR countries @> ARRAY[$1::text])
            AND ($2::text IS NULL OR currency = $2)
            AND ($3 OR NOT retired)
          ORDER BY doc->>'name', method_id",
    )
    .bind(country)
    .bind(currency)
    .bind(include_retired)
    .fetch_all(executor)
    .await?;
    Ok(rows.into_iter().map(|Json(view)| view).collect())
}
