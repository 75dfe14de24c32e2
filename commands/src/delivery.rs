//! Where a checkout's goods go and how, as pricing reads it: the chosen shipping
//! method and the destination's tax rates, read from their aggregates as stored
//! (a method retired or a rate changed a moment ago on another instance counts),
//! and whether the currency's catalog prices include tax.

use std::collections::BTreeSet;

use domain::pricing::{Delivery, ShippingMethodId};
use domain::shared::{Currency, PostalAddressFields};
use domain::shipping_method::ShippingMethod;
use domain::tax_rates::TaxRates;
use uuid::Uuid;

use crate::error::StoreError;
use crate::stores::Stores;

/// Why no delivery can be priced for a checkout.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The shop ships to the destination by some method, and none was named.
    #[error("choose a shipping method: {} ship to {country} in {currency}", list(.available))]
    MethodRequired {
        country: String,
        currency: Currency,
        available: Vec<Uuid>,
    },
    /// The named method does not exist, is retired, or is priced in another
    /// currency (whether it ships to the destination, pricing decides).
    #[error("{0}")]
    MethodUnavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn list(ids: &[Uuid]) -> String {
    ids.iter()
        .map(Uuid::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

pub struct Deliveries {
    stores: Stores,
    /// Currencies whose catalog prices exclude tax (US style): tax is added on top.
    /// Every other currency's prices include it (EU style).
    tax_exclusive: BTreeSet<Currency>,
}

impl Deliveries {
    pub fn new(stores: Stores, tax_exclusive: BTreeSet<Currency>) -> Self {
        Deliveries {
            stores,
            tax_exclusive,
        }
    }

    pub fn prices_include_tax(&self, currency: Currency) -> bool {
        !self.tax_exclusive.contains(&currency)
    }

    /// The delivery of a checkout in `currency` to `address` by `method`. With
    /// no method named, shipping is free only where the shop defines no method
    /// that ships there in that currency.
    pub async fn for_checkout(
        &self,
        currency: Currency,
        address: &PostalAddressFields,
        method: Option<ShippingMethodId>,
    ) -> Result<Delivery, DeliveryError> {
        let method = match method {
            Some(id) => {
                let loaded = self
                    .stores
                    .of::<ShippingMethod>()
                    .load_stored(&id.to_string())
                    .await?;
                let offer = loaded
                    .aggregate
                    .state()
                    .and_then(|state| state.offer())
                    .ok_or_else(|| {
                        DeliveryError::MethodUnavailable(format!(
                            "there is no shipping method {id} to choose (unknown or retired)"
                        ))
                    })?;
                if offer.price.currency() != currency {
                    return Err(DeliveryError::MethodUnavailable(format!(
                        "shipping method {id} is priced in {}, the cart in {currency}",
                        offer.price.currency()
                    )));
                }
                Some(offer)
            }
            None => {
                let pool = self.stores.of::<ShippingMethod>().pool();
                let available: Vec<Uuid> = sqlx::query_scalar(
                    "SELECT method_id FROM read_shipping_methods
                      WHERE countries @> ARRAY[$1::text] AND currency = $2 AND NOT retired
                      ORDER BY method_id",
                )
                .bind(&address.country)
                .bind(currency.code())
                .fetch_all(pool)
                .await
                .map_err(StoreError::from)?;
                if !available.is_empty() {
                    return Err(DeliveryError::MethodRequired {
                        country: address.country.clone(),
                        currency,
                        available,
                    });
                }
                None
            }
        };
        let rates = self
            .stores
            .of::<TaxRates>()
            .load_stored(&address.country)
            .await?;
        Ok(Delivery {
            method,
            country: address.country.clone(),
            region: address.region.clone(),
            tax: rates.aggregate.table(),
            prices_include_tax: self.prices_include_tax(currency),
        })
    }
}
