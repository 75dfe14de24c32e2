//! Given/when/then for the cart's discounts and coupons, named after the rules.

use std::collections::BTreeMap;

use uuid::Uuid;

use super::fixtures::*;
use super::{Cart, CartCommand, CartError, CartEvent, PricingContext};
use crate::pricing::{
    Action, Conditions, CouponCode, CustomerFacts, Ineligible, PromotionId, PromotionOffer,
    PromotionStatus, Stacking, Window,
};
use crate::shared::Money;

fn promotion(n: u128, code: Option<&str>, action: Action) -> PromotionOffer {
    PromotionOffer {
        promotion_id: PromotionId::new(Uuid::from_u128(n)),
        name: format!("promotion {n}"),
        code: code.map(|c| CouponCode::new(c).unwrap()),
        conditions: Conditions::default(),
        action,
        stacking: Stacking::default(),
        window: Window::default(),
        status: PromotionStatus::Active,
        exhausted: false,
    }
}

fn ten_percent(code: Option<&str>) -> PromotionOffer {
    promotion(1, code, Action::PercentOffOrder { basis_points: 1000 })
}

fn context(promotions: Vec<PromotionOffer>) -> PricingContext {
    PricingContext {
        promotions,
        facts: BTreeMap::new(),
        customer: CustomerFacts::default(),
        at: at(),
        delivery: None,
    }
}

fn code(c: &str) -> CouponCode {
    CouponCode::new(c).unwrap()
}

/// The cart's state after `commands`, each decided and applied.
fn after(commands: Vec<CartCommand>) -> Cart {
    let mut cart = Cart::default();
    for command in commands {
        for event in cart.decide(command).unwrap() {
            cqrs_es::Aggregate::apply(&mut cart, event);
        }
    }
    cart
}

fn open() -> CartCommand {
    CartCommand::OpenCart {
        cart_id: cart_id(),
        currency: eur(),
        customer_id: None,
        opened_at: at(),
    }
}

fn priced(command: CartCommand, promotions: Vec<PromotionOffer>) -> CartCommand {
    CartCommand::WithPricing {
        command: Box::new(command),
        pricing: context(promotions),
    }
}

fn apply_coupon(c: &str, offer: Option<PromotionOffer>) -> CartCommand {
    CartCommand::ApplyCoupon {
        code: code(c),
        promotion: offer,
        pricing: context(vec![]),
    }
}

#[test]
fn an_automatic_promotion_is_recorded_with_the_change_that_made_it_apply() {
    let events = after(vec![open()])
        .decide(priced(add("A", 1000, 2), vec![ten_percent(None)]))
        .unwrap();
    let [CartEvent::ItemAdded {
        discounts: Some(recorded),
        ..
    }] = events.as_slice()
    else {
        panic!("one ItemAdded carrying its discounts: {events:?}");
    };
    assert_eq!(recorded.discount_total, eur_cents(200));
    assert_eq!(recorded.total, eur_cents(1800));
    assert_eq!(recorded.discounts[0].lines[&sku("A")], eur_cents(200));
    let cart = after(vec![
        open(),
        priced(add("A", 1000, 2), vec![ten_percent(None)]),
    ]);
    let kept = cart.state().and_then(|s| s.discounts.as_ref());
    assert_eq!(kept, Some(recorded), "the cart keeps them");
}

#[test]
fn unchanged_discounts_are_not_recorded_again() {
    let cart = after(vec![
        open(),
        priced(add("A", 1000, 1), vec![ten_percent(None)]),
    ]);
    let events = cart
        .decide(priced(
            CartCommand::RefreshPrices {
                current_prices: prices(&[("A", 1000)]),
            },
            vec![ten_percent(None)],
        ))
        .unwrap();
    assert!(events.is_empty(), "{events:?}");
}

#[test]
fn a_promotion_that_ended_is_taken_off_at_the_next_change() {
    let cart = after(vec![
        open(),
        priced(add("A", 1000, 1), vec![ten_percent(None)]),
    ]);
    let events = cart.decide(priced(add("B", 500, 1), vec![])).unwrap();
    assert!(matches!(
        events.as_slice(),
        [CartEvent::ItemAdded { discounts: Some(d), .. }] if d.discounts.is_empty()
    ));
}

#[test]
fn applies_a_coupon_and_its_discount() {
    let cart = after(vec![open(), add("A", 1000, 1)]);
    let events = cart
        .decide(apply_coupon("save10", Some(ten_percent(Some("SAVE10")))))
        .unwrap();
    assert_eq!(
        events[0],
        CartEvent::CouponApplied {
            code: code("SAVE10"),
            promotion_id: PromotionId::new(Uuid::from_u128(1)),
        }
    );
    assert!(matches!(
        &events[1],
        CartEvent::CartDiscountsChanged { discount_total, .. } if *discount_total == eur_cents(100)
    ));
}

#[test]
fn refuses_an_unknown_coupon() {
    given_cart(&[line("A", 1000, 1)])
        .when(apply_coupon("NOPE", None))
        .then_expect_error(CartError::CouponUnknown { code: code("NOPE") });
}

#[test]
fn refuses_an_expired_coupon() {
    let mut offer = ten_percent(Some("OLD"));
    offer.window.ends_at = Some(at());
    given_cart(&[line("A", 1000, 1)])
        .when(apply_coupon("OLD", Some(offer)))
        .then_expect_error(CartError::CouponExpired { code: code("OLD") });
}

#[test]
fn refuses_an_exhausted_coupon() {
    let mut offer = ten_percent(Some("GONE"));
    offer.exhausted = true;
    given_cart(&[line("A", 1000, 1)])
        .when(apply_coupon("GONE", Some(offer)))
        .then_expect_error(CartError::CouponExhausted { code: code("GONE") });
}

#[test]
fn refuses_a_coupon_whose_condition_fails_and_names_it() {
    let mut offer = ten_percent(Some("BIG"));
    offer.conditions.minimum_subtotal = Some(eur_cents(5000));
    given_cart(&[line("A", 1000, 1)])
        .when(apply_coupon("BIG", Some(offer)))
        .then_expect_error(CartError::CouponNotApplicable {
            code: code("BIG"),
            reason: Ineligible::MinimumSubtotal {
                minimum: eur_cents(5000),
            },
        });
}

#[test]
fn removing_a_coupon_takes_its_discount_off() {
    let offer = ten_percent(Some("SAVE10"));
    let cart = after(vec![
        open(),
        add("A", 1000, 1),
        apply_coupon("SAVE10", Some(offer)),
    ]);
    let events = cart
        .decide(CartCommand::RemoveCoupon {
            code: code("save10"),
            pricing: context(vec![]),
        })
        .unwrap();
    assert_eq!(
        events[0],
        CartEvent::CouponRemoved {
            code: code("SAVE10")
        }
    );
    assert!(matches!(
        &events[1],
        CartEvent::CartDiscountsChanged { discount_total, .. } if discount_total.is_zero()
    ));
}

#[test]
fn a_checkout_whose_discounts_moved_is_refused_as_prices_changed() {
    let cart = after(vec![
        open(),
        priced(add("A", 1000, 1), vec![ten_percent(None)]),
    ]);
    let refused = cart
        .decide(priced(check_out(&[("A", 1000)]), vec![]))
        .unwrap_err();
    assert_eq!(refused.code(), "prices_changed");
    assert_eq!(
        refused,
        CartError::DiscountsChanged {
            before: eur_cents(100),
            after: Money::zero(eur()),
        }
    );
}

#[test]
fn the_checkout_freezes_the_priced_cart() {
    let cart = after(vec![
        open(),
        priced(add("A", 1000, 1), vec![ten_percent(None)]),
    ]);
    let events = cart
        .decide(priced(check_out(&[("A", 1000)]), vec![ten_percent(None)]))
        .unwrap();
    let [CartEvent::CartCheckedOut {
        pricing: Some(pricing),
        ..
    }] = events.as_slice()
    else {
        panic!("{events:?}");
    };
    assert_eq!(pricing.total, eur_cents(900));
    assert_eq!(pricing.discounts.len(), 1);
}
