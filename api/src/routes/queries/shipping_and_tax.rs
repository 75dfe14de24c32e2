//! Shipping methods and tax rates, for anyone: a storefront offers the methods that
//! ship to the address in the cart's currency, and may show prices with the
//! destination's tax. Retired methods are listed for admins only.

use axum::extract::State;
use axum::response::Response;
use projections::read_models::shipping_methods::{self, ShippingMethodView};
use projections::read_models::tax_rates::{self, TaxRatesView};
use serde::Deserialize;

use super::{check_code, consistent, private_json};
use crate::auth::{Principal, Role};
use crate::consistency::ConsistencyToken;
use crate::error::ApiError;
use crate::extract::Query;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ShippingMethodFilter {
    /// Only methods that ship to this ISO 3166-1 alpha-2 country.
    #[param(min_length = 2, max_length = 2, pattern = "^[A-Z]{2}$")]
    pub country: Option<String>,
    /// Only methods priced in this ISO 4217 currency.
    #[param(min_length = 3, max_length = 3, pattern = "^[A-Z]{3}$")]
    pub currency: Option<String>,
    /// Retired methods too (admins only).
    #[serde(default)]
    pub include_retired: bool,
}

#[utoipa::path(get, path = "/queries/shipping-methods", tag = "queries",
    params(ShippingMethodFilter, ("X-Consistency-Token" = Option<String>, Header)),
    responses((status = 200, body = Vec<ShippingMethodView>, description = "by name, then id")))]
pub async fn list_shipping_methods(
    State(state): State<AppState>,
    principal: Option<Principal>,
    token: ConsistencyToken,
    Query(filter): Query<ShippingMethodFilter>,
) -> Result<Response, ApiError> {
    check_code("country", filter.country.as_deref(), 2)?;
    check_code("currency", filter.currency.as_deref(), 3)?;
    if filter.include_retired {
        principal
            .as_ref()
            .ok_or_else(|| {
                ApiError::Unauthorized("include_retired needs an admin's bearer token".into())
            })?
            .require(&[Role::Admin])?;
    }
    consistent(&state, shipping_methods::PROJECTOR, token).await?;
    let found = shipping_methods::list(
        &state.pool,
        filter.country.as_deref(),
        filter.currency.as_deref(),
        filter.include_retired,
    )
    .await?;
    Ok(private_json(&found))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TaxRatesFilter {
    /// Only this ISO 3166-1 alpha-2 country.
    #[param(min_length = 2, max_length = 2, pattern = "^[A-Z]{2}$")]
    pub country: Option<String>,
}

#[utoipa::path(get, path = "/queries/tax-rates", tag = "queries",
    params(TaxRatesFilter, ("X-Consistency-Token" = Option<String>, Header)),
    responses((status = 200, body = Vec<TaxRatesView>, description = "by country")))]
pub async fn list_tax_rates(
    State(state): State<AppState>,
    token: ConsistencyToken,
    Query(filter): Query<TaxRatesFilter>,
) -> Result<Response, ApiError> {
    check_code("country", filter.country.as_deref(), 2)?;
    consistent(&state, tax_rates::PROJECTOR, token).await?;
    let found = tax_rates::list(&state.pool, filter.country.as_deref()).await?;
    Ok(private_json(&found))
}
