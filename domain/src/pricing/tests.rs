//! The engine's rules, one test each, by example.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use uuid::Uuid;

use super::*;
use crate::shared::{Currency, Money, Sku};

pub(super) fn eur() -> Currency {
    Currency::new("EUR").unwrap()
}

pub(super) fn cents(amount: i64) -> Money {
    Money::new(amount, eur())
}

pub(super) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap()
}

pub(super) fn line(sku: &str, price: i64, quantity: u32) -> PricingLine {
    PricingLine {
        sku: Sku::new(sku).unwrap(),
        unit_price: cents(price),
        quantity,
        facts: ProductFacts {
            category: "mugs".into(),
            brand: "Acme".into(),
            tax_category: TaxCategory::standard(),
        },
    }
}

pub(super) fn offer(n: u128, action: Action) -> PromotionOffer {
    PromotionOffer {
        promotion_id: PromotionId::new(Uuid::from_u128(n)),
        name: format!("promotion {n}"),
        code: None,
        conditions: Conditions::default(),
        action,
        stacking: Stacking::default(),
        window: Window::default(),
        status: PromotionStatus::Active,
        exhausted: false,
    }
}

fn coupon(n: u128, code: &str, action: Action) -> PromotionOffer {
    PromotionOffer {
        code: Some(CouponCode::new(code).unwrap()),
        ..offer(n, action)
    }
}

fn percent(bp: u32) -> Action {
    Action::PercentOffOrder { basis_points: bp }
}

struct Cart {
    lines: Vec<PricingLine>,
    promotions: Vec<PromotionOffer>,
    coupons: BTreeSet<CouponCode>,
    customer: CustomerFacts,
    delivery: Option<Delivery>,
}

impl Cart {
    fn of(lines: Vec<PricingLine>) -> Self {
        Cart {
            lines,
            promotions: vec![],
            coupons: BTreeSet::new(),
            customer: CustomerFacts::default(),
            delivery: None,
        }
    }

    fn with(mut self, offer: PromotionOffer) -> Self {
        if let Some(code) = &offer.code {
            self.coupons.insert(code.clone());
        }
        self.promotions.push(offer);
        self
    }

    fn to(mut self, delivery: Delivery) -> Self {
        self.delivery = Some(delivery);
        self
    }

    fn price(&self) -> PricedCart {
        price(&PricingRequest {
            currency: eur(),
            lines: &self.lines,
            promotions: &self.promotions,
            coupons: &self.coupons,
            customer: self.customer,
            at: now(),
            delivery: self.delivery.as_ref(),
        })
        .unwrap()
    }
}

pub(super) fn method(price: i64, free_above: Option<i64>) -> ShippingOffer {
    ShippingOffer {
        id: ShippingMethodId::new(Uuid::from_u128(99)),
        name: "Standard".into(),
        price: cents(price),
        free_above: free_above.map(cents),
        countries: ["DE", "FR"].iter().map(|c| (*c).to_owned()).collect(),
    }
}

pub(super) fn eu_rates() -> TaxTable {
    let rate = |country: &str, category: &str, bp| TaxRate {
        country: country.into(),
        region: None,
        category: TaxCategory::new(category).unwrap(),
        basis_points: bp,
    };
    TaxTable {
        rates: vec![
            rate("DE", "standard", 1900),
            rate("DE", "reduced", 700),
            rate("FR", "standard", 2000),
            rate("FR", "reduced", 550),
        ],
    }
}

fn to_country(country: &str, shipping: i64, inclusive: bool) -> Delivery {
    Delivery {
        method: Some(method(shipping, None)),
        country: country.into(),
        region: None,
        tax: eu_rates(),
        prices_include_tax: inclusive,
    }
}

#[test]
fn without_promotions_the_total_is_the_sum_of_the_lines() {
    let priced = Cart::of(vec![line("A", 1000, 2), line("B", 250, 1)]).price();
    assert_eq!(priced.subtotal, cents(2250));
    assert_eq!(priced.discount_total, cents(0));
    assert_eq!(priced.total, cents(2250));
    assert!(priced.shipping.is_none() && priced.tax.is_none());
}

#[test]
fn a_percentage_off_the_order_is_split_over_the_lines_to_the_cent() {
    // 10 % of 1000 = 100, split 1:1:1 → 34 + 33 + 33.
    let priced = Cart::of(vec![
        line("A", 333, 1),
        line("B", 333, 1),
        line("C", 334, 1),
    ])
    .with(offer(1, percent(1000)))
    .price();
    let parts: Vec<i64> = priced.lines.iter().map(|l| l.discount.amount()).collect();
    assert_eq!(parts.iter().sum::<i64>(), 100);
    assert_eq!(priced.total, cents(900));
    assert_eq!(priced.discounts[0].amount, cents(100));
}

#[test]
fn a_discount_records_its_part_of_each_line_as_minor_units_and_reads_back_the_same() {
    let priced = Cart::of(vec![line("A", 333, 1), line("B", 667, 1)])
        .with(offer(1, percent(1000)))
        .price();
    let recorded = serde_json::to_value(&priced).unwrap();
    assert_eq!(
        recorded["discounts"][0]["lines"],
        serde_json::json!({"A": 33, "B": 67})
    );
    let read: PricedCart = serde_json::from_value(recorded).unwrap();
    assert_eq!(read, priced);
}

#[test]
fn percentages_round_half_up_to_the_minor_unit() {
    // 15 % of 1 230 = 184.5 → 185.
    let priced = Cart::of(vec![line("A", 1230, 1)])
        .with(offer(1, percent(1500)))
        .price();
    assert_eq!(priced.discount_total, cents(185));
}

#[test]
fn a_fixed_amount_never_takes_the_order_below_zero() {
    let priced = Cart::of(vec![line("A", 500, 1)])
        .with(offer(
            1,
            Action::FixedOffOrder {
                amount: cents(2000),
            },
        ))
        .price();
    assert_eq!(priced.discount_total, cents(500));
    assert_eq!(priced.total, cents(0));
}

#[test]
fn line_discounts_take_off_matching_lines_only() {
    let mut promotion = offer(1, Action::PercentOffLines { basis_points: 5000 });
    promotion
        .conditions
        .lines
        .skus
        .insert(Sku::new("B").unwrap());
    let priced = Cart::of(vec![line("A", 1000, 1), line("B", 400, 2)])
        .with(promotion)
        .price();
    assert_eq!(priced.lines[0].discount, cents(0));
    assert_eq!(priced.lines[1].discount, cents(400));
}

#[test]
fn buy_two_get_one_free_discounts_the_cheapest_unit_of_each_three() {
    let mut promotion = offer(
        1,
        Action::BuyXGetY {
            buy: 2,
            get: 1,
            basis_points: 10_000,
        },
    );
    promotion.conditions.lines.categories.insert("mugs".into());
    let priced = Cart::of(vec![line("A", 1000, 2), line("B", 300, 2)])
        .with(promotion)
        .price();
    // 4 units: one group of three, one free unit, the cheapest (B at 300).
    assert_eq!(priced.discount_total, cents(300));
    assert_eq!(priced.lines[1].discount, cents(300));
}

#[test]
fn promotions_stack_in_priority_order_each_on_what_the_one_before_left() {
    let mut first = offer(2, Action::FixedOffOrder { amount: cents(200) });
    first.stacking.priority = 1;
    let mut second = offer(1, percent(1000));
    second.stacking.priority = 2;
    let priced = Cart::of(vec![line("A", 1200, 1)])
        .with(second)
        .with(first)
        .price();
    // 1200 − 200 = 1000, then 10 % = 100.
    let amounts: Vec<i64> = priced.discounts.iter().map(|d| d.amount.amount()).collect();
    assert_eq!(amounts, vec![200, 100]);
    assert_eq!(priced.total, cents(900));
}

#[test]
fn an_exclusive_promotion_applies_alone() {
    let mut exclusive = offer(1, percent(2000));
    exclusive.stacking = Stacking {
        priority: 1,
        exclusive: true,
    };
    let mut later = coupon(2, "SAVE5", Action::FixedOffOrder { amount: cents(500) });
    later.stacking.priority = 5;
    let priced = Cart::of(vec![line("A", 1000, 1)])
        .with(exclusive)
        .with(later)
        .price();
    assert_eq!(priced.discounts.len(), 1);
    assert_eq!(priced.discount_total, cents(200));
    assert_eq!(priced.not_applied[0].reason, Ineligible::NotCombinable);
}

#[test]
fn an_exclusive_promotion_after_another_does_not_apply() {
    let mut first = offer(1, percent(1000));
    first.stacking.priority = 1;
    let mut exclusive = coupon(2, "ALONE", percent(5000));
    exclusive.stacking = Stacking {
        priority: 2,
        exclusive: true,
    };
    let priced = Cart::of(vec![line("A", 1000, 1)])
        .with(first)
        .with(exclusive)
        .price();
    assert_eq!(priced.discount_total, cents(100));
    assert_eq!(priced.not_applied[0].reason, Ineligible::NotCombinable);
}

#[test]
fn a_coupon_not_on_the_cart_does_not_apply() {
    let mut cart = Cart::of(vec![line("A", 1000, 1)]).with(coupon(1, "HALF", percent(5000)));
    cart.coupons.clear();
    let priced = cart.price();
    assert!(priced.discounts.is_empty() && priced.not_applied.is_empty());
}

#[test]
fn each_failed_condition_is_named() {
    let base = || coupon(1, "CODE", percent(1000));
    let cases: Vec<(PromotionOffer, &str)> = vec![
        (
            PromotionOffer {
                status: PromotionStatus::Paused,
                ..base()
            },
            "paused",
        ),
        (
            PromotionOffer {
                window: Window {
                    starts_at: Some(now() + Duration::hours(1)),
                    ends_at: None,
                },
                ..base()
            },
            "not_started",
        ),
        (
            PromotionOffer {
                window: Window {
                    starts_at: None,
                    ends_at: Some(now()),
                },
                ..base()
            },
            "ended",
        ),
        (
            PromotionOffer {
                exhausted: true,
                ..base()
            },
            "exhausted",
        ),
        (
            PromotionOffer {
                conditions: Conditions {
                    minimum_subtotal: Some(cents(5000)),
                    ..Conditions::default()
                },
                ..base()
            },
            "minimum_subtotal",
        ),
        (
            PromotionOffer {
                conditions: Conditions {
                    minimum_subtotal: Some(Money::new(100, Currency::new("USD").unwrap())),
                    ..Conditions::default()
                },
                ..base()
            },
            "currency",
        ),
        (
            PromotionOffer {
                conditions: Conditions {
                    lines: LineFilter {
                        brands: ["Other".to_owned()].into(),
                        ..LineFilter::default()
                    },
                    ..Conditions::default()
                },
                ..base()
            },
            "matching_lines",
        ),
        (
            PromotionOffer {
                conditions: Conditions {
                    first_order_only: true,
                    ..Conditions::default()
                },
                ..base()
            },
            "first_order_only",
        ),
    ];
    for (promotion, condition) in cases {
        let priced = Cart::of(vec![line("A", 1000, 1)]).with(promotion).price();
        assert_eq!(priced.discount_total, cents(0), "{condition}");
        assert_eq!(priced.not_applied[0].reason.condition(), condition);
    }
}

#[test]
fn a_first_order_promotion_applies_to_a_first_order() {
    let mut promotion = offer(1, percent(1000));
    promotion.conditions.first_order_only = true;
    let mut cart = Cart::of(vec![line("A", 1000, 1)]).with(promotion);
    cart.customer.first_order = true;
    assert_eq!(cart.price().discount_total, cents(100));
}

#[test]
fn tax_exclusive_prices_add_the_destination_s_tax_per_line_after_discounts() {
    let mut reduced = line("BOOK", 1000, 1);
    reduced.facts.tax_category = TaxCategory::new("reduced").unwrap();
    let priced = Cart::of(vec![line("A", 1000, 1), reduced])
        .with(offer(1, percent(1000)))
        .to(to_country("DE", 500, false))
        .price();
    // Lines net 900 each: 19 % = 171, 7 % = 63; shipping 500 at 19 % = 95.
    assert_eq!(priced.lines[0].tax, cents(171));
    assert_eq!(priced.lines[1].tax, cents(63));
    let shipping = priced.shipping.as_ref().unwrap();
    assert_eq!(shipping.tax, cents(95));
    assert_eq!(priced.tax.as_ref().unwrap().total, cents(329));
    assert_eq!(priced.total, cents(1800 + 500 + 329));
}

#[test]
fn tax_inclusive_prices_keep_the_total_and_show_the_tax_they_contain() {
    let priced = Cart::of(vec![line("A", 1190, 1)])
        .to(to_country("DE", 0, true))
        .price();
    assert_eq!(priced.lines[0].tax, cents(190));
    assert_eq!(priced.total, cents(1190));
}

#[test]
fn the_destination_decides_the_rate_of_a_cross_border_order() {
    let de = Cart::of(vec![line("A", 1000, 1)])
        .to(to_country("DE", 0, false))
        .price();
    let fr = Cart::of(vec![line("A", 1000, 1)])
        .to(to_country("FR", 0, false))
        .price();
    assert_eq!(de.lines[0].tax_rate_basis_points, Some(1900));
    assert_eq!(fr.lines[0].tax_rate_basis_points, Some(2000));
    assert_eq!(fr.total, cents(1200));
}

#[test]
fn a_region_s_own_rate_comes_before_its_country_s() {
    let mut table = eu_rates();
    table.rates.push(TaxRate {
        country: "DE".into(),
        region: Some("HE".into()),
        category: TaxCategory::standard(),
        basis_points: 1600,
    });
    let category = TaxCategory::new("unlisted").unwrap();
    assert_eq!(
        table.rate_for("DE", Some("HE"), &TaxCategory::standard()),
        Some(1600)
    );
    assert_eq!(
        table.rate_for("DE", Some("BY"), &TaxCategory::standard()),
        Some(1900)
    );
    assert_eq!(
        table.rate_for("DE", None, &category),
        Some(1900),
        "standard as fallback"
    );
    assert_eq!(table.rate_for("US", None, &category), None);
}

#[test]
fn free_shipping_promotion_takes_the_shipping_price_off() {
    let priced = Cart::of(vec![line("A", 1000, 1)])
        .with(offer(1, Action::FreeShipping))
        .to(to_country("DE", 495, false))
        .price();
    let shipping = priced.shipping.as_ref().unwrap();
    assert_eq!((shipping.discount, shipping.amount), (cents(495), cents(0)));
    assert_eq!(priced.discounts[0].shipping, cents(495));
    assert_eq!(priced.discount_total, cents(495));
}

#[test]
fn shipping_is_free_above_the_method_s_threshold_after_discounts() {
    let mut delivery = to_country("DE", 495, true);
    delivery.method = Some(method(495, Some(5000)));
    let just_enough = Cart::of(vec![line("A", 5000, 1)])
        .to(delivery.clone())
        .price();
    assert!(just_enough.shipping.as_ref().unwrap().free_above_reached);
    let after_discount = Cart::of(vec![line("A", 5000, 1)])
        .with(offer(1, percent(1000)))
        .to(delivery)
        .price();
    assert_eq!(after_discount.shipping.as_ref().unwrap().amount, cents(495));
}

#[test]
fn a_method_that_does_not_ship_to_the_destination_is_refused() {
    let cart = Cart::of(vec![line("A", 1000, 1)]).to(to_country("US", 0, false));
    let refused = price(&PricingRequest {
        currency: eur(),
        lines: &cart.lines,
        promotions: &[],
        coupons: &BTreeSet::new(),
        customer: CustomerFacts::default(),
        at: now(),
        delivery: cart.delivery.as_ref(),
    });
    assert!(matches!(
        refused,
        Err(PricingError::ShippingNotAvailable { .. })
    ));
}

#[test]
fn coupon_codes_compare_without_case_and_refuse_odd_characters() {
    assert_eq!(
        CouponCode::new("summer-10").unwrap(),
        CouponCode::new("SUMMER-10").unwrap()
    );
    for bad in ["ab", "has space", "ünï", &"x".repeat(33)] {
        assert!(CouponCode::new(bad).is_err(), "{bad}");
    }
}

#[test]
fn without_a_shipping_method_the_lines_are_taxed_and_nothing_is_charged_for_shipping() {
    let mut delivery = to_country("DE", 495, false);
    delivery.method = None;
    let priced = Cart::of(vec![line("A", 1000, 2)]).to(delivery).price();
    assert_eq!(priced.shipping, None);
    assert_eq!(priced.tax.as_ref().unwrap().total, cents(380));
    assert_eq!(priced.total, cents(2380));
}
