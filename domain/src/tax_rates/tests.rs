//! Given/when/then for every tax rate rule, one test per rule.

use chrono::{DateTime, TimeZone, Utc};
use cqrs_es::test::TestFramework;

use super::*;
use crate::pricing::TaxCategory;

type TaxTest = TestFramework<TaxRates>;

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap()
}

fn rate(region: Option<&str>, category: &str, basis_points: u32) -> TaxRate {
    TaxRate {
        country: "DE".into(),
        region: region.map(str::to_owned),
        category: TaxCategory::new(category).unwrap(),
        basis_points,
    }
}

fn set(rates: Vec<TaxRate>) -> TaxRatesCommand {
    TaxRatesCommand::SetTaxRates {
        country: "DE".into(),
        rates,
        set_at: at(),
    }
}

fn german() -> Vec<TaxRate> {
    vec![rate(None, "reduced", 700), rate(None, "standard", 1900)]
}

fn set_event(rates: Vec<TaxRate>) -> TaxRatesEvent {
    TaxRatesEvent::TaxRatesSet {
        country: "DE".into(),
        rates,
        set_at: at(),
    }
}

fn refusal(rates: Vec<TaxRate>) -> String {
    TaxRates::default()
        .decide(set(rates))
        .unwrap_err()
        .to_string()
}

#[test]
fn sets_a_country_s_rates_sorted_by_region_and_category() {
    let unsorted = vec![rate(None, "standard", 1900), rate(None, "reduced", 700)];
    TaxTest::with(())
        .given_no_previous_events()
        .when(set(unsorted))
        .then_expect_events(vec![set_event(german())]);
}

#[test]
fn setting_the_rates_in_force_records_nothing() {
    TaxTest::with(())
        .given(vec![set_event(german())])
        .when(set(german()))
        .then_expect_events(vec![]);
}

#[test]
fn an_empty_list_stops_taxing_the_country() {
    TaxTest::with(())
        .given(vec![set_event(german())])
        .when(set(Vec::new()))
        .then_expect_events(vec![set_event(Vec::new())]);
}

#[test]
fn refuses_two_rates_for_one_category_and_region() {
    let error = refusal(vec![
        rate(None, "standard", 1900),
        rate(None, "standard", 700),
    ]);
    assert!(error.contains("two rates for category standard"), "{error}");
    // The same category in a region is another rate.
    assert!(TaxRates::default()
        .decide(set(vec![
            rate(None, "standard", 1900),
            rate(Some("BY"), "standard", 1800)
        ]))
        .is_ok());
}

#[test]
fn refuses_a_rate_above_one_hundred_percent_or_of_another_country() {
    assert!(refusal(vec![rate(None, "standard", 10_001)]).contains("basis_points"));
    let mut french = rate(None, "standard", 2000);
    french.country = "FR".into();
    assert!(refusal(vec![french]).contains("a rate of FR"));
}

#[test]
fn refuses_a_blank_region_and_a_bad_country_code() {
    assert!(refusal(vec![rate(Some(" "), "standard", 1900)]).contains("region"));
    let bad = TaxRates::default()
        .decide(TaxRatesCommand::SetTaxRates {
            country: "de".into(),
            rates: Vec::new(),
            set_at: at(),
        })
        .unwrap_err();
    assert_eq!(bad.code(), "invalid_tax_rates");
}

#[test]
fn the_table_prices_the_rates_in_force() {
    let mut rates = TaxRates::default();
    cqrs_es::Aggregate::apply(&mut rates, set_event(german()));
    let table = rates.table();
    assert_eq!(
        table.rate_for("DE", None, &TaxCategory::new("reduced").unwrap()),
        Some(700)
    );
}
