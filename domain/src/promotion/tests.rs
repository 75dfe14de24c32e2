//! Given/when/then for every promotion rule, one test per rule.

use chrono::{DateTime, Duration, TimeZone, Utc};
use cqrs_es::test::TestFramework;
use uuid::Uuid;

use super::*;
use crate::pricing::{Action, CouponCode, PromotionStatus, Window};
use crate::shared::{Currency, CustomerId, Money, OrderId};

type PromotionTest = TestFramework<Promotion>;

fn id() -> PromotionId {
    PromotionId::new(Uuid::from_u128(0x9A))
}

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap()
}

fn order(n: u128) -> OrderId {
    OrderId::new(Uuid::from_u128(n))
}

fn customer(n: u128) -> CustomerId {
    CustomerId::new(Uuid::from_u128(1000 + n))
}

fn definition() -> PromotionDefinition {
    PromotionDefinition {
        name: "Winter sale".into(),
        code: Some(CouponCode::new("winter").unwrap()),
        conditions: Default::default(),
        action: Action::PercentOffOrder { basis_points: 1000 },
        stacking: Default::default(),
        window: Window::default(),
        usage_limit: Some(2),
        per_customer_limit: Some(1),
    }
}

fn created() -> PromotionEvent {
    PromotionEvent::PromotionCreated {
        promotion_id: id(),
        definition: definition(),
        created_at: at(),
    }
}

fn redeem(order_n: u128, customer_n: Option<u128>) -> PromotionCommand {
    PromotionCommand::RedeemPromotion {
        order_id: order(order_n),
        customer_id: customer_n.map(customer),
        redeemed_at: at(),
    }
}

fn redeemed(order_n: u128, customer_n: Option<u128>, uses: u32) -> PromotionEvent {
    PromotionEvent::PromotionRedeemed {
        order_id: order(order_n),
        customer_id: customer_n.map(customer),
        redeemed_at: at(),
        uses,
    }
}

#[test]
fn creates_a_valid_promotion() {
    PromotionTest::with(())
        .given_no_previous_events()
        .when(PromotionCommand::CreatePromotion {
            promotion_id: id(),
            definition: definition(),
            created_at: at(),
        })
        .then_expect_events(vec![created()]);
}

#[test]
fn refuses_definitions_outside_the_limits() {
    let mut cases = Vec::new();
    let mut d = definition();
    d.name = " ".into();
    cases.push(d);
    let mut d = definition();
    d.action = Action::PercentOffOrder {
        basis_points: 10_001,
    };
    cases.push(d);
    let mut d = definition();
    d.action = Action::FixedOffOrder {
        amount: Money::new(0, Currency::new("EUR").unwrap()),
    };
    cases.push(d);
    let mut d = definition();
    d.action = Action::BuyXGetY {
        buy: 0,
        get: 1,
        basis_points: 10_000,
    };
    cases.push(d);
    let mut d = definition();
    d.window = Window {
        starts_at: Some(at()),
        ends_at: Some(at()),
    };
    cases.push(d);
    let mut d = definition();
    d.usage_limit = Some(0);
    cases.push(d);
    for definition in cases {
        let refused = Promotion::default().decide(PromotionCommand::CreatePromotion {
            promotion_id: id(),
            definition: definition.clone(),
            created_at: at(),
        });
        assert!(
            matches!(refused, Err(PromotionError::Invalid { .. })),
            "{definition:?}: {refused:?}"
        );
    }
}

#[test]
fn refuses_to_change_the_coupon_code() {
    let mut changed = definition();
    changed.code = Some(CouponCode::new("other").unwrap());
    PromotionTest::with(())
        .given(vec![created()])
        .when(PromotionCommand::ChangePromotion {
            definition: changed,
        })
        .then_expect_error(PromotionError::CodeIsFixed);
}

#[test]
fn redeems_until_the_usage_limit_then_refuses() {
    PromotionTest::with(())
        .given(vec![
            created(),
            redeemed(1, Some(1), 1),
            redeemed(2, Some(2), 2),
        ])
        .when(redeem(3, Some(3)))
        .then_expect_error(PromotionError::UsageLimitReached { limit: 2 });
}

#[test]
fn refuses_a_second_use_by_the_same_customer() {
    PromotionTest::with(())
        .given(vec![created(), redeemed(1, Some(1), 1)])
        .when(redeem(2, Some(1)))
        .then_expect_error(PromotionError::CustomerLimitReached { limit: 1 });
}

#[test]
fn redeeming_again_for_the_same_order_records_nothing() {
    PromotionTest::with(())
        .given(vec![created(), redeemed(1, Some(1), 1)])
        .when(redeem(1, Some(1)))
        .then_expect_events(vec![]);
}

#[test]
fn a_released_use_can_be_redeemed_again() {
    let released = PromotionEvent::PromotionRedemptionReleased {
        order_id: order(1),
        customer_id: Some(customer(1)),
        uses: 1,
    };
    PromotionTest::with(())
        .given(vec![
            created(),
            redeemed(1, Some(1), 1),
            redeemed(2, Some(2), 2),
            released,
        ])
        .when(redeem(3, Some(1)))
        .then_expect_events(vec![redeemed(3, Some(1), 2)]);
}

#[test]
fn releasing_an_order_that_holds_no_use_records_nothing() {
    PromotionTest::with(())
        .given(vec![created()])
        .when(PromotionCommand::ReleaseRedemption { order_id: order(9) })
        .then_expect_events(vec![]);
}

#[test]
fn a_paused_or_ended_promotion_is_not_redeemed() {
    PromotionTest::with(())
        .given(vec![created(), PromotionEvent::PromotionPaused {}])
        .when(redeem(1, None))
        .then_expect_error(PromotionError::Paused);
    PromotionTest::with(())
        .given(vec![
            created(),
            PromotionEvent::PromotionEnded { ended_at: at() },
        ])
        .when(redeem(1, None))
        .then_expect_error(PromotionError::Ended);
}

#[test]
fn a_promotion_outside_its_window_is_not_redeemed() {
    PromotionTest::with(())
        .given(vec![
            created(),
            PromotionEvent::PromotionScheduled {
                window: Window {
                    starts_at: Some(at() + Duration::days(1)),
                    ends_at: None,
                },
            },
        ])
        .when(redeem(1, None))
        .then_expect_error(PromotionError::OutsideWindow { at: at() });
}

#[test]
fn ending_is_final() {
    PromotionTest::with(())
        .given(vec![
            created(),
            PromotionEvent::PromotionEnded { ended_at: at() },
        ])
        .when(PromotionCommand::ResumePromotion {})
        .then_expect_error(PromotionError::Ended);
}

#[test]
fn pausing_then_resuming() {
    PromotionTest::with(())
        .given(vec![created(), PromotionEvent::PromotionPaused {}])
        .when(PromotionCommand::ResumePromotion {})
        .then_expect_events(vec![PromotionEvent::PromotionResumed {}]);
}

#[test]
fn the_offer_is_exhausted_for_a_customer_at_their_limit_but_not_for_another() {
    let mut promotion = Promotion::default();
    for event in [created(), redeemed(1, Some(1), 1)] {
        cqrs_es::Aggregate::apply(&mut promotion, event);
    }
    let state = promotion.state().unwrap();
    assert!(state.offer_for(Some(customer(1))).exhausted);
    assert!(!state.offer_for(Some(customer(2))).exhausted);
    assert_eq!(state.offer_for(None).status, PromotionStatus::Active);
}
