//! A country's tax rates (aggregate type `TaxRates`, id: the ISO 3166-1 alpha-2
//! code): the rate of each product tax category there, for the whole country and
//! for its regions. The checkout reads the destination country's rates as a
//! [`TaxTable`] and freezes the rate of each line into the order.
//!
//! Event-sourced rather than a settings table because tax must be explainable to
//! an auditor: which rate was in force when, and who set it, is in the hash-chained
//! log, replayed and exported like every other fact. One stream per country keeps
//! a change atomic (a country's rates are replaced together) and the streams short.
//!
//! # Rules
//!
//! - `SetTaxRates` replaces the country's rates with the given list: at most 200
//!   rates, each 0 to 10 000 basis points, for the country itself, each region
//!   1 to 64 characters with no control characters, one rate per (region,
//!   category). An empty list stops taxing the country.
//! - Setting the rates in force again records nothing.
//!
//! | from | command | to | event |
//! | --- | --- | --- | --- |
//! | any | `SetTaxRates` | (rates set) | `TaxRatesSet` |

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

use crate::pricing::MAX_BASIS_POINTS;
pub use crate::pricing::{TaxRate, TaxTable};
use crate::shared::is_country_code;

#[cfg(test)]
mod tests;

pub const MAX_RATES: usize = 200;
pub const MAX_REGION_CHARS: usize = 64;

/// Every event type name, as stored in the event store's `event_type` column.
pub const EVENT_TYPES: &[&str] = &["TaxRatesSet"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum TaxRatesCommand {
    SetTaxRates {
        country: String,
        rates: Vec<TaxRate>,
        set_at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TaxRatesEvent {
    /// The country's rates from now on, all of them.
    TaxRatesSet {
        country: String,
        rates: Vec<TaxRate>,
        set_at: DateTime<Utc>,
    },
}

impl DomainEvent for TaxRatesEvent {
    fn event_type(&self) -> String {
        match self {
            TaxRatesEvent::TaxRatesSet { .. } => "TaxRatesSet".to_owned(),
        }
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}

/// Why tax rates are refused; each `code` is stable (HTTP 422).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaxRatesError {
    #[error("invalid tax rates: {reason}")]
    Invalid { reason: String },
}

impl TaxRatesError {
    pub fn code(&self) -> &'static str {
        match self {
            TaxRatesError::Invalid { .. } => "invalid_tax_rates",
        }
    }
}

/// A country's rates; `Default` is a country without any (not taxed).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaxRates {
    pub country: Option<String>,
    pub rates: Vec<TaxRate>,
    pub set_at: Option<DateTime<Utc>>,
}

impl TaxRates {
    /// The rates as pricing reads them.
    pub fn table(&self) -> TaxTable {
        TaxTable {
            rates: self.rates.clone(),
        }
    }

    pub fn decide(&self, command: TaxRatesCommand) -> Result<Vec<TaxRatesEvent>, TaxRatesError> {
        let TaxRatesCommand::SetTaxRates {
            country,
            mut rates,
            set_at,
        } = command;
        validate(&country, &rates)?;
        if self.country.as_ref().is_some_and(|known| *known != country) {
            return Err(invalid(format!(
                "these are the rates of {}, not of {country}",
                self.country.as_deref().unwrap_or_default()
            )));
        }
        rates.sort_by(|a, b| (&a.region, &a.category).cmp(&(&b.region, &b.category)));
        if self.country.is_some() && rates == self.rates {
            return Ok(Vec::new());
        }
        Ok(vec![TaxRatesEvent::TaxRatesSet {
            country,
            rates,
            set_at,
        }])
    }
}

fn invalid(reason: String) -> TaxRatesError {
    TaxRatesError::Invalid { reason }
}

fn validate(country: &str, rates: &[TaxRate]) -> Result<(), TaxRatesError> {
    if !is_country_code(country) {
        return Err(invalid(format!(
            "{country:?} is not an ISO 3166-1 alpha-2 country code"
        )));
    }
    if rates.len() > MAX_RATES {
        return Err(invalid(format!("at most {MAX_RATES} rates per country")));
    }
    let mut seen = BTreeSet::new();
    for rate in rates {
        if rate.country != country {
            return Err(invalid(format!(
                "a rate of {} among the rates of {country}",
                rate.country
            )));
        }
        if rate.basis_points > MAX_BASIS_POINTS {
            return Err(invalid("basis_points must be 0 to 10000".to_owned()));
        }
        if let Some(region) = &rate.region {
            let chars = region.chars().count();
            if region.trim().is_empty()
                || chars > MAX_REGION_CHARS
                || region.chars().any(char::is_control)
            {
                return Err(invalid(
                    "a region must be 1 to 64 characters, not blank, no control characters"
                        .to_owned(),
                ));
            }
        }
        if !seen.insert((rate.region.clone(), rate.category.clone())) {
            return Err(invalid(format!(
                "two rates for category {} in {}",
                rate.category,
                rate.region.as_deref().unwrap_or(country)
            )));
        }
    }
    Ok(())
}

impl Aggregate for TaxRates {
    const TYPE: &'static str = "TaxRates";
    type Command = TaxRatesCommand;
    type Event = TaxRatesEvent;
    type Error = TaxRatesError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            TaxRatesEvent::TaxRatesSet {
                country,
                rates,
                set_at,
            } => {
                self.country = Some(country);
                self.rates = rates;
                self.set_at = Some(set_at);
            }
        }
    }
}
