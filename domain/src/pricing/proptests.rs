//! Properties of the engine that hold for every cart and every mix of promotions:
//! no line goes below zero, discounts add up exactly, tax never exceeds the net.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::tests::{cents, eu_rates, eur, line, method, now, offer};
use super::*;
use crate::shared::Money;

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        (1u32..=10_000).prop_map(|bp| Action::PercentOffOrder { basis_points: bp }),
        (0i64..50_000).prop_map(|a| Action::FixedOffOrder { amount: cents(a) }),
        (1u32..=10_000).prop_map(|bp| Action::PercentOffLines { basis_points: bp }),
        (0i64..5_000).prop_map(|a| Action::FixedOffLines {
            amount_per_unit: cents(a)
        }),
        Just(Action::FreeShipping),
        (1u32..4, 1u32..3, 1u32..=10_000).prop_map(|(buy, get, bp)| Action::BuyXGetY {
            buy,
            get,
            basis_points: bp
        }),
    ]
}

fn lines() -> impl Strategy<Value = Vec<PricingLine>> {
    proptest::collection::vec((0i64..100_000, 1u32..20), 1..8).prop_map(|specs| {
        specs
            .into_iter()
            .enumerate()
            .map(|(i, (price, quantity))| line(&format!("SKU-{i}"), price, quantity))
            .collect()
    })
}

fn promotions() -> impl Strategy<Value = Vec<PromotionOffer>> {
    proptest::collection::vec((action(), 0u32..5, any::<bool>()), 0..5).prop_map(|specs| {
        specs
            .into_iter()
            .enumerate()
            .map(|(i, (action, priority, exclusive))| {
                let mut promotion = offer(i as u128 + 1, action);
                promotion.stacking = Stacking {
                    priority,
                    exclusive,
                };
                promotion
            })
            .collect()
    })
}

proptest! {
    #[test]
    fn split_parts_add_up_exactly_and_stay_within_their_weights(
        weights in proptest::collection::vec(0i64..1_000_000, 1..20),
        share in 0u32..=10_000,
    ) {
        let sum: i64 = weights.iter().sum();
        let total = percent_of(sum, share);
        let parts = split(total, &weights);
        if sum > 0 {
            prop_assert_eq!(parts.iter().sum::<i64>(), total);
        }
        for (part, weight) in parts.iter().zip(&weights) {
            prop_assert!(*part >= 0 && part <= weight);
        }
    }

    #[test]
    fn no_line_goes_negative_and_every_figure_adds_up(
        lines in lines(),
        promotions in promotions(),
        shipping in 0i64..2_000,
        inclusive in any::<bool>(),
    ) {
        let delivery = Delivery {
            method: Some(method(shipping, Some(20_000))),
            country: "DE".into(),
            region: None,
            tax: eu_rates(),
            prices_include_tax: inclusive,
        };
        let priced = price(&PricingRequest {
            currency: eur(),
            lines: &lines,
            promotions: &promotions,
            coupons: &BTreeSet::new(),
            customer: CustomerFacts::default(),
            at: now(),
            delivery: Some(&delivery),
        }).unwrap();
        let mut line_discounts = 0;
        for line in &priced.lines {
            prop_assert!(line.net.amount() >= 0, "{line:?}");
            prop_assert!(line.discount.amount() >= 0);
            prop_assert_eq!(line.gross.amount() - line.discount.amount(), line.net.amount());
            // Every line is standard-rated in DE (19 %): its tax is at most 19 % of its net.
            prop_assert!(line.tax.amount() >= 0 && line.tax.amount() <= percent_of(line.net.amount(), 1900));
            line_discounts += line.discount.amount();
        }
        // Every discount's parts add up to it, and all of them to the total.
        let mut by_promotions = 0;
        for discount in &priced.discounts {
            let parts: i64 = discount.lines.values().map(Money::amount).sum();
            prop_assert_eq!(parts + discount.shipping.amount(), discount.amount.amount());
            by_promotions += parts;
        }
        prop_assert_eq!(by_promotions, line_discounts);
        let shipping = priced.shipping.as_ref().unwrap();
        prop_assert!(shipping.amount.amount() >= 0);
        prop_assert_eq!(
            priced.discount_total.amount(),
            line_discounts + shipping.discount.amount()
        );
        prop_assert_eq!(priced.subtotal.amount() - line_discounts, priced.subtotal_after_discounts.amount());
        let tax = priced.tax.as_ref().unwrap().total.amount();
        let expected = priced.subtotal_after_discounts.amount()
            + shipping.amount.amount()
            + if inclusive { 0 } else { tax };
        prop_assert_eq!(priced.total.amount(), expected);
        // At most one exclusive promotion applied, and then alone.
        let exclusive = priced.discounts.iter().filter(|d| promotions.iter().any(|p| p.promotion_id == d.promotion_id && p.stacking.exclusive)).count();
        prop_assert!(exclusive == 0 || priced.discounts.len() == 1);
    }
}
