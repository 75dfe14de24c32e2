//! Shipping methods and tax rates (admin): define, change and retire a shipping
//! method; set a country's tax rates. Checkouts read both as stored, so a change
//! applies to the next checkout, never to an order placed before.

use axum::extract::State;
use axum::response::Response;
use chrono::Utc;
use domain::pricing::{ShippingMethodId, TaxCategory, TaxRate};
use domain::shared::Money;
use domain::shipping_method::{ShippingMethod, ShippingMethodCommand, ShippingMethodDefinition};
use domain::tax_rates::{TaxRates, TaxRatesCommand};
use serde::Deserialize;
use uuid::Uuid;

use super::{Call, CommandContext};
use crate::auth::{Admins, Allowed};
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::openapi::MoneySchema;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShippingMethodBody {
    #[schema(min_length = 1, max_length = 100, example = "Standard")]
    pub name: String,
    /// Zero or more.
    #[schema(value_type = MoneySchema)]
    pub price: Money,
    /// Free when the subtotal after discounts reaches it: positive, in the price's
    /// currency.
    #[schema(value_type = Option<MoneySchema>)]
    #[serde(default)]
    pub free_above: Option<Money>,
    /// ISO 3166-1 alpha-2 codes.
    #[schema(min_items = 1, max_items = 250, value_type = Vec<String>, example = json!(["DE", "FR"]))]
    pub countries: std::collections::BTreeSet<String>,
}

impl From<ShippingMethodBody> for ShippingMethodDefinition {
    fn from(body: ShippingMethodBody) -> Self {
        ShippingMethodDefinition {
            name: body.name,
            price: body.price,
            free_above: body.free_above,
            countries: body.countries,
        }
    }
}

#[utoipa::path(post, path = "/commands/shipping-methods", tag = "commands",
    request_body = ShippingMethodBody,
    responses((status = 201, body = super::CommandAccepted)),
    security(("bearer" = [])))]
pub async fn define(
    State(state): State<AppState>,
    _: Allowed<Admins>,
    context: CommandContext,
    Json(body): Json<ShippingMethodBody>,
) -> Result<Response, ApiError> {
    let method_id = ShippingMethodId::new(super::orders::new_id(&context, b"shipping-method"));
    let command = ShippingMethodCommand::DefineShippingMethod {
        method_id,
        definition: body.into(),
        defined_at: Utc::now(),
    };
    Call::<ShippingMethod>::new(method_id, "define-shipping-method", command)
        .creating()
        .send(&state, &context)
        .await
}

#[utoipa::path(post, path = "/commands/shipping-methods/{id}/change", tag = "commands",
    params(("id" = Uuid, Path)), request_body = ShippingMethodBody,
    responses((status = 200, body = super::CommandAccepted)),
    security(("bearer" = [])))]
pub async fn change(
    State(state): State<AppState>,
    _: Allowed<Admins>,
    context: CommandContext,
    Path(id): Path<Uuid>,
    Json(body): Json<ShippingMethodBody>,
) -> Result<Response, ApiError> {
    let command = ShippingMethodCommand::ChangeShippingMethod {
        definition: body.into(),
    };
    Call::<ShippingMethod>::new(id, "change-shipping-method", command)
        .send(&state, &context)
        .await
}

admin_command_without_body!(
    ShippingMethod,
    retire,
    "/commands/shipping-methods/{id}/retire",
    "retire-shipping-method",
    ShippingMethodCommand::RetireShippingMethod {
        retired_at: Utc::now()
    }
);

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxRatesBody {
    /// Every rate of the country from now on; an empty list stops taxing it.
    #[schema(max_items = 200)]
    pub rates: Vec<TaxRateBody>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxRateBody {
    /// A region of the country, as addresses name it (`region`); absent: the
    /// whole country. A region's rate wins over the country's.
    #[schema(min_length = 1, max_length = 64)]
    #[serde(default)]
    pub region: Option<String>,
    /// A product tax category (a product's `tax_category` attribute; products
    /// without one are `standard`). A category without a rate is taxed at the
    /// `standard` rate.
    #[schema(value_type = String, min_length = 1, max_length = 32, pattern = "^[a-z0-9_-]{1,32}$", example = "standard")]
    pub category: TaxCategory,
    /// 1900 = 19 %.
    #[schema(minimum = 0, maximum = 10000, example = 1900)]
    pub basis_points: u32,
}

#[utoipa::path(post, path = "/commands/tax-rates/{country}/set", tag = "commands",
    params(("country" = String, Path, description = "ISO 3166-1 alpha-2", min_length = 2, max_length = 2, pattern = "^[A-Z]{2}$")),
    request_body = TaxRatesBody,
    responses((status = 200, body = super::CommandAccepted),
              (status = 201, body = super::CommandAccepted, description = "the country's first rates")),
    security(("bearer" = [])))]
pub async fn set_tax_rates(
    State(state): State<AppState>,
    _: Allowed<Admins>,
    context: CommandContext,
    Path(country): Path<String>,
    Json(body): Json<TaxRatesBody>,
) -> Result<Response, ApiError> {
    if !domain::shared::is_country_code(&country) {
        return Err(ApiError::bad_request(
            "invalid_path",
            format!("{country:?} is not an ISO 3166-1 alpha-2 country code (such as DE)"),
        ));
    }
    let command = TaxRatesCommand::SetTaxRates {
        rates: body
            .rates
            .into_iter()
            .map(|rate| TaxRate {
                country: country.clone(),
                region: rate.region,
                category: rate.category,
                basis_points: rate.basis_points,
            })
            .collect(),
        country: country.clone(),
        set_at: Utc::now(),
    };
    Call::<TaxRates>::new(country, "set-tax-rates", command)
        .send(&state, &context)
        .await
}
