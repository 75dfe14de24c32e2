//! Sales reports for admins and analysts: revenue, discounts, tax and units per
//! day, in total or by product, category or promotion (the `sales` read model).

use axum::extract::State;
use axum::response::Response;
use chrono::{Duration, NaiveDate, Utc};
use projections::read_models::sales::{self, Dimension, SalesFilter, SalesRow};
use serde::Deserialize;

use super::{consistent, private_json};
use crate::auth::{Principal, Role};
use crate::consistency::ConsistencyToken;
use crate::error::ApiError;
use crate::extract::Query;
use crate::state::AppState;

/// At most this many days per report.
const MAX_DAYS: i64 = 366;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SalesQuery {
    /// `total` (the default), `product`, `category` or `promotion`.
    #[param(value_type = Option<String>, pattern = "^(total|product|category|promotion)$")]
    pub dimension: Option<String>,
    /// The first UTC day (`2026-12-01`); 29 days before `to` when absent.
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<NaiveDate>,
    /// The last UTC day, included; today when absent. At most 366 days after `from`.
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<NaiveDate>,
    /// One SKU, category or promotion id only.
    #[param(max_length = 200)]
    pub key: Option<String>,
    /// One ISO 4217 currency only.
    #[param(min_length = 3, max_length = 3, pattern = "^[A-Z]{3}$")]
    pub currency: Option<String>,
}

fn invalid(detail: String) -> ApiError {
    ApiError::bad_request("invalid_query", detail)
}

impl SalesQuery {
    fn filter(self, today: NaiveDate) -> Result<SalesFilter, ApiError> {
        let dimension = match self.dimension.as_deref() {
            None => Dimension::Total,
            Some(text) => Dimension::parse(text).ok_or_else(|| {
                invalid(format!(
                    "dimension must be total, product, category or promotion, not {text:?}"
                ))
            })?,
        };
        let to = self.to.unwrap_or(today);
        let from = self.from.unwrap_or(to - Duration::days(29));
        if from > to {
            return Err(invalid(format!("from ({from}) is after to ({to})")));
        }
        if (to - from).num_days() >= MAX_DAYS {
            return Err(invalid(format!(
                "a report covers at most {MAX_DAYS} days; {from} to {to} is more"
            )));
        }
        if self.key.as_ref().is_some_and(|k| k.chars().count() > 200) {
            return Err(invalid("key is at most 200 characters".to_owned()));
        }
        super::check_code("currency", self.currency.as_deref(), 3)?;
        Ok(SalesFilter {
            dimension,
            from,
            to,
            key: self.key,
            currency: self.currency,
        })
    }
}

#[utoipa::path(get, path = "/queries/sales", tag = "queries",
    params(SalesQuery, ("X-Consistency-Token" = Option<String>, Header)),
    responses((status = 200, body = Vec<SalesRow>,
        description = "by day, currency, revenue (highest first) and key; at most 5000 rows")),
    security(("bearer" = [])))]
pub async fn report(
    State(state): State<AppState>,
    principal: Principal,
    token: ConsistencyToken,
    Query(query): Query<SalesQuery>,
) -> Result<Response, ApiError> {
    principal.require(&[Role::Admin, Role::Analyst])?;
    let filter = query.filter(Utc::now().date_naive())?;
    consistent(&state, sales::PROJECTOR, token).await?;
    let rows = sales::report(&state.pool, &filter).await?;
    Ok(private_json(&rows))
}
