//! Given/when/then for every shipping method rule, one test per rule.

use std::collections::BTreeSet;

use chrono::{DateTime, TimeZone, Utc};
use cqrs_es::test::TestFramework;
use uuid::Uuid;

use super::*;
use crate::shared::{Currency, Money};

type ShippingTest = TestFramework<ShippingMethod>;

fn id() -> ShippingMethodId {
    ShippingMethodId::new(Uuid::from_u128(0x5417))
}

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap()
}

fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::new("EUR").unwrap())
}

fn standard() -> ShippingMethodDefinition {
    ShippingMethodDefinition {
        name: "Standard".into(),
        price: eur(495),
        free_above: Some(eur(5000)),
        countries: BTreeSet::from(["DE".to_owned(), "FR".to_owned()]),
    }
}

fn define(definition: ShippingMethodDefinition) -> ShippingMethodCommand {
    ShippingMethodCommand::DefineShippingMethod {
        method_id: id(),
        definition,
        defined_at: at(),
    }
}

fn defined() -> ShippingMethodEvent {
    ShippingMethodEvent::ShippingMethodDefined {
        method_id: id(),
        definition: standard(),
        defined_at: at(),
    }
}

fn refusal_code(events: Vec<ShippingMethodEvent>, command: ShippingMethodCommand) -> &'static str {
    let mut method = ShippingMethod::default();
    for event in events {
        cqrs_es::Aggregate::apply(&mut method, event);
    }
    method.decide(command).unwrap_err().code()
}

#[test]
fn defines_a_method() {
    ShippingTest::with(())
        .given_no_previous_events()
        .when(define(standard()))
        .then_expect_events(vec![defined()]);
}

#[test]
fn refuses_a_method_without_countries_or_with_a_bad_code() {
    for countries in [BTreeSet::new(), BTreeSet::from(["DEU".to_owned()])] {
        let definition = ShippingMethodDefinition {
            countries,
            ..standard()
        };
        assert_eq!(
            refusal_code(Vec::new(), define(definition)),
            "invalid_shipping_method"
        );
    }
}

#[test]
fn refuses_a_negative_price_and_a_threshold_in_another_currency() {
    let negative = ShippingMethodDefinition {
        price: eur(-1),
        ..standard()
    };
    let other_currency = ShippingMethodDefinition {
        free_above: Some(Money::new(5000, Currency::new("USD").unwrap())),
        ..standard()
    };
    for definition in [negative, other_currency] {
        assert_eq!(
            refusal_code(Vec::new(), define(definition)),
            "invalid_shipping_method"
        );
    }
}

#[test]
fn refuses_a_blank_or_too_long_name() {
    for name in [
        "  ".to_owned(),
        "x".repeat(MAX_SHIPPING_METHOD_NAME_CHARS + 1),
    ] {
        let definition = ShippingMethodDefinition { name, ..standard() };
        assert_eq!(
            refusal_code(Vec::new(), define(definition)),
            "invalid_shipping_method"
        );
    }
}

#[test]
fn a_change_records_the_whole_new_definition() {
    let express = ShippingMethodDefinition {
        name: "Express".into(),
        price: eur(1500),
        free_above: None,
        ..standard()
    };
    ShippingTest::with(())
        .given(vec![defined()])
        .when(ShippingMethodCommand::ChangeShippingMethod {
            definition: express.clone(),
        })
        .then_expect_events(vec![ShippingMethodEvent::ShippingMethodChanged {
            definition: express,
        }]);
}

#[test]
fn a_change_that_changes_nothing_records_nothing() {
    ShippingTest::with(())
        .given(vec![defined()])
        .when(ShippingMethodCommand::ChangeShippingMethod {
            definition: standard(),
        })
        .then_expect_events(vec![]);
}

#[test]
fn a_retired_method_is_offered_no_more_and_cannot_change() {
    let retired = ShippingMethodEvent::ShippingMethodRetired { retired_at: at() };
    let mut method = ShippingMethod::default();
    for event in [defined(), retired.clone()] {
        cqrs_es::Aggregate::apply(&mut method, event);
    }
    assert_eq!(method.state().and_then(ShippingMethodState::offer), None);
    assert_eq!(
        refusal_code(
            vec![defined(), retired],
            ShippingMethodCommand::ChangeShippingMethod {
                definition: standard()
            }
        ),
        "shipping_method_retired"
    );
}

#[test]
fn an_offered_method_is_priced_as_defined() {
    let mut method = ShippingMethod::default();
    cqrs_es::Aggregate::apply(&mut method, defined());
    let offer = method.state().and_then(ShippingMethodState::offer).unwrap();
    assert_eq!(offer.price, eur(495));
    assert!(offer.ships_to("FR"));
    assert!(!offer.ships_to("US"));
}

#[test]
fn only_a_defined_method_can_change_or_retire() {
    assert_eq!(
        refusal_code(
            Vec::new(),
            ShippingMethodCommand::RetireShippingMethod { retired_at: at() }
        ),
        "not_found"
    );
    assert_eq!(
        refusal_code(vec![defined()], define(standard())),
        "already_exists"
    );
}
