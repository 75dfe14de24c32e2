//! Plain, JSON-friendly value types the views share. Views never hold the domain's
//! validated types: readers (the API, its OpenAPI document, other languages) see
//! plain numbers, strings and UUIDs, and a view read back from the database never
//! fails a validation that a later version of the domain tightened.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use domain::shared::{Money, PostalAddress};

/// An amount of money: integer minor units (cents for EUR) and an ISO 4217 code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MoneyView {
    /// Minor units of `currency`.
    pub amount: i64,
    /// ISO 4217 alphabetic code, such as `EUR`.
    pub currency: String,
}

impl MoneyView {
    pub fn zero(currency: &str) -> Self {
        MoneyView {
            amount: 0,
            currency: currency.to_owned(),
        }
    }
}

impl From<Money> for MoneyView {
    fn from(money: Money) -> Self {
        MoneyView {
            amount: money.amount(),
            currency: money.currency().code().to_owned(),
        }
    }
}

impl From<&Money> for MoneyView {
    fn from(money: &Money) -> Self {
        MoneyView::from(*money)
    }
}

/// A postal address as an order ships to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AddressView {
    pub name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub postal_code: String,
    pub region: Option<String>,
    /// ISO 3166-1 alpha-2, such as `DE`.
    pub country: String,
}

impl From<PostalAddress> for AddressView {
    fn from(address: PostalAddress) -> Self {
        let fields = domain::shared::PostalAddressFields::from(address);
        AddressView {
            name: fields.name,
            line1: fields.line1,
            line2: fields.line2,
            city: fields.city,
            postal_code: fields.postal_code,
            region: fields.region,
            country: fields.country,
        }
    }
}
