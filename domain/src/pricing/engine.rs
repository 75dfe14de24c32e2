//! The calculation itself, in the order the module's documentation states.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::split::{included_tax, percent_of, split};
use super::{
    Action, CouponCode, Ineligible, LineFilter, ProductFacts, PromotionId, PromotionOffer,
    PromotionStatus, ShippingMethodId, ShippingOffer, TaxCategory, TaxTable, MAX_BASIS_POINTS,
};
use crate::shared::{Currency, Money, Sku};

/// A line to price: the cart's snapshot of the catalog, and the product's facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricingLine {
    pub sku: Sku,
    pub unit_price: Money,
    pub quantity: u32,
    pub facts: ProductFacts,
}

/// What pricing knows of the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CustomerFacts {
    /// A signed-in customer with no order yet (a guest: `false`).
    #[serde(default)]
    pub first_order: bool,
}

/// Where the goods go and how: known at checkout (and for a quote), not while
/// the cart fills.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// `None` where the shop defines no shipping method for the destination
    /// (digital goods, a shop that ships for free): nothing is charged.
    pub method: Option<ShippingOffer>,
    pub country: String,
    pub region: Option<String>,
    /// At least the destination's rates.
    pub tax: TaxTable,
    /// Catalog prices of this currency include tax (EU style); else tax is added.
    pub prices_include_tax: bool,
}

/// Everything one calculation reads.
#[derive(Debug, Clone, Copy)]
pub struct PricingRequest<'a> {
    pub currency: Currency,
    pub lines: &'a [PricingLine],
    /// Automatic promotions, and the promotions of the cart's coupons.
    pub promotions: &'a [PromotionOffer],
    /// The coupons on the cart: a promotion with a code applies only if its code
    /// is among them.
    pub coupons: &'a BTreeSet<CouponCode>,
    pub customer: CustomerFacts,
    pub at: DateTime<Utc>,
    pub delivery: Option<&'a Delivery>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    #[error("the amounts are larger than the system can hold")]
    AmountOutOfRange,
    #[error("a price is in {found}, the cart in {expected}")]
    CurrencyMismatch { expected: Currency, found: Currency },
    #[error("shipping method {method} does not ship to {country}")]
    ShippingNotAvailable {
        method: ShippingMethodId,
        country: String,
    },
}

/// One line, priced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedLine {
    pub sku: Sku,
    pub quantity: u32,
    pub unit_price: Money,
    /// `unit_price × quantity`.
    pub gross: Money,
    /// What promotions took off this line.
    pub discount: Money,
    /// `gross − discount`: what the line costs (tax included when prices include it).
    pub net: Money,
    pub tax_category: TaxCategory,
    /// The product's category when it was priced, for sales by category (empty
    /// in pricings recorded before it was kept).
    #[serde(default)]
    pub category: String,
    /// `None` until a destination is known, or where no tax is collected.
    pub tax_rate_basis_points: Option<u32>,
    pub tax: Money,
}

/// A promotion that applied, and where its amount went.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "RecordedDiscount<'static, BTreeMap<Sku, i64>>")]
pub struct AppliedDiscount {
    pub promotion_id: PromotionId,
    pub name: String,
    pub code: Option<CouponCode>,
    /// The action's kind (`percent_off_order`, ...).
    pub action: String,
    /// Lines and shipping together.
    pub amount: Money,
    /// The part of each line it took (lines it did not touch are absent).
    pub lines: BTreeMap<Sku, Money>,
    /// The part taken off shipping.
    pub shipping: Money,
}

/// How an [`AppliedDiscount`] is recorded: the part of each line in minor units
/// of the discount's own currency. Every cart change records every discount with
/// a part per line, so a currency repeated on each part made a ten-line cart's
/// event eight times the size of one without promotions, past the size where
/// PostgreSQL compresses a value on every write (events since `CartCheckedOut` v3,
/// `OrderPlaced` v4, the line changes v3 and `CartDiscountsChanged` v2).
#[derive(Serialize, Deserialize)]
struct RecordedDiscount<'a, Lines> {
    promotion_id: PromotionId,
    name: Cow<'a, str>,
    code: Option<Cow<'a, CouponCode>>,
    action: Cow<'a, str>,
    amount: Money,
    lines: Lines,
    shipping: Money,
}

/// The parts of the lines, as [`RecordedDiscount`] writes them.
struct LineParts<'a>(&'a BTreeMap<Sku, Money>);

impl Serialize for LineParts<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(sku, part)| (sku, part.amount())))
    }
}

impl Serialize for AppliedDiscount {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        RecordedDiscount {
            promotion_id: self.promotion_id,
            name: Cow::Borrowed(&self.name),
            code: self.code.as_ref().map(Cow::Borrowed),
            action: Cow::Borrowed(&self.action),
            amount: self.amount,
            lines: LineParts(&self.lines),
            shipping: self.shipping,
        }
        .serialize(serializer)
    }
}

impl From<RecordedDiscount<'static, BTreeMap<Sku, i64>>> for AppliedDiscount {
    fn from(recorded: RecordedDiscount<'static, BTreeMap<Sku, i64>>) -> Self {
        let currency = recorded.amount.currency();
        AppliedDiscount {
            promotion_id: recorded.promotion_id,
            name: recorded.name.into_owned(),
            code: recorded.code.map(Cow::into_owned),
            action: recorded.action.into_owned(),
            amount: recorded.amount,
            lines: recorded
                .lines
                .into_iter()
                .map(|(sku, part)| (sku, Money::new(part, currency)))
                .collect(),
            shipping: recorded.shipping,
        }
    }
}

/// A coupon on the cart whose promotion did not apply, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotApplied {
    pub promotion_id: PromotionId,
    pub code: CouponCode,
    pub reason: Ineligible,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingCharge {
    pub method_id: ShippingMethodId,
    pub name: String,
    /// The method's price.
    pub price: Money,
    /// The subtotal after discounts reached the method's free threshold.
    pub free_above_reached: bool,
    /// Taken off by a free-shipping promotion.
    pub discount: Money,
    /// What is charged for shipping (tax included when prices include it).
    pub amount: Money,
    pub tax_rate_basis_points: Option<u32>,
    pub tax: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxSummary {
    pub country: String,
    pub region: Option<String>,
    pub prices_include_tax: bool,
    /// Lines and shipping.
    pub total: Money,
}

/// A cart, priced: every figure an order needs to be explained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedCart {
    pub currency: Currency,
    pub lines: Vec<PricedLine>,
    pub discounts: Vec<AppliedDiscount>,
    pub not_applied: Vec<NotApplied>,
    /// The lines' gross.
    pub subtotal: Money,
    /// Every discount, lines and shipping.
    pub discount_total: Money,
    /// The lines' net.
    pub subtotal_after_discounts: Money,
    pub shipping: Option<ShippingCharge>,
    pub tax: Option<TaxSummary>,
    /// What the customer pays: the lines' net and shipping, plus the tax when
    /// prices exclude it.
    pub total: Money,
}

/// What each promotion took off the lines: two pricings with the same are the
/// same to the customer before a destination is known.
pub fn line_discounts(discounts: &[AppliedDiscount]) -> BTreeMap<PromotionId, i64> {
    discounts
        .iter()
        .map(|d| (d.promotion_id, d.amount.amount() - d.shipping.amount()))
        .collect()
}

impl TaxSummary {
    /// The tax the total adds to the prices (none when prices include it).
    pub fn added(&self) -> i64 {
        if self.prices_include_tax {
            0
        } else {
            self.total.amount()
        }
    }
}

impl PricedCart {
    /// What the customer pays for the line of `sku`: its net, plus its tax when
    /// tax is added on top.
    pub fn paid_for(&self, sku: &Sku) -> Option<Money> {
        let line = self.lines.iter().find(|line| &line.sku == sku)?;
        let added = match &self.tax {
            Some(tax) if !tax.prices_include_tax => line.tax.amount(),
            _ => 0,
        };
        Some(Money::new(
            line.net.amount().saturating_add(added),
            self.currency,
        ))
    }

    /// The tax added on top of the prices, lines and shipping.
    pub fn added_tax(&self) -> i64 {
        self.tax.as_ref().map_or(0, TaxSummary::added)
    }

    /// See [`line_discounts`].
    pub fn line_discounts(&self) -> BTreeMap<PromotionId, i64> {
        line_discounts(&self.discounts)
    }
}

fn add(a: i64, b: i64) -> Result<i64, PricingError> {
    a.checked_add(b).ok_or(PricingError::AmountOutOfRange)
}

fn total(amounts: &[i64]) -> Result<i64, PricingError> {
    amounts.iter().try_fold(0i64, |sum, a| add(sum, *a))
}

/// Prices the lines: promotions in stacking order, then shipping, then tax.
pub fn price(request: &PricingRequest<'_>) -> Result<PricedCart, PricingError> {
    let currency = request.currency;
    let money = |amount: i64| Money::new(amount, currency);
    let mut gross = Vec::with_capacity(request.lines.len());
    for line in request.lines {
        if line.unit_price.currency() != currency {
            return Err(PricingError::CurrencyMismatch {
                expected: currency,
                found: line.unit_price.currency(),
            });
        }
        let amount = line
            .unit_price
            .amount()
            .checked_mul(i64::from(line.quantity))
            .ok_or(PricingError::AmountOutOfRange)?;
        gross.push(amount.max(0));
    }
    let subtotal = total(&gross)?;

    let mut candidates: Vec<&PromotionOffer> = request
        .promotions
        .iter()
        .filter(|offer| match &offer.code {
            None => true,
            Some(code) => request.coupons.contains(code),
        })
        .collect();
    candidates.sort_by_key(|offer| (offer.stacking.priority, offer.promotion_id));
    candidates.dedup_by_key(|offer| offer.promotion_id);

    let mut net = gross.clone();
    let mut discounts: Vec<AppliedDiscount> = Vec::new();
    let mut not_applied = Vec::new();
    let mut free_shipping: Option<usize> = None;
    let mut closed = false;
    for offer in candidates {
        let verdict = if closed || (offer.stacking.exclusive && !discounts.is_empty()) {
            Err(Ineligible::NotCombinable)
        } else {
            eligibility(offer, request, subtotal)
        };
        if let Err(reason) = verdict {
            if let Some(code) = &offer.code {
                not_applied.push(NotApplied {
                    promotion_id: offer.promotion_id,
                    code: code.clone(),
                    reason,
                });
            }
            continue;
        }
        let parts = amounts(&offer.action, &offer.conditions.lines, request.lines, &net)?;
        for (remaining, part) in net.iter_mut().zip(&parts) {
            *remaining -= part;
        }
        if offer.action == Action::FreeShipping && free_shipping.is_none() {
            free_shipping = Some(discounts.len());
        }
        discounts.push(AppliedDiscount {
            promotion_id: offer.promotion_id,
            name: offer.name.clone(),
            code: offer.code.clone(),
            action: offer.action.kind().to_owned(),
            amount: money(total(&parts)?),
            lines: request
                .lines
                .iter()
                .zip(&parts)
                .filter(|(_, part)| **part > 0)
                .map(|(line, part)| (line.sku.clone(), money(*part)))
                .collect(),
            shipping: money(0),
        });
        closed = offer.stacking.exclusive;
    }
    let net_total = total(&net)?;

    let mut lines: Vec<PricedLine> = request
        .lines
        .iter()
        .zip(gross.iter().zip(&net))
        .map(|(line, (gross, net))| PricedLine {
            sku: line.sku.clone(),
            quantity: line.quantity,
            unit_price: line.unit_price,
            gross: money(*gross),
            discount: money(gross - net),
            net: money(*net),
            tax_category: line.facts.tax_category.clone(),
            category: line.facts.category.clone(),
            tax_rate_basis_points: None,
            tax: money(0),
        })
        .collect();

    let (shipping, tax) = match request.delivery {
        None => (None, None),
        Some(delivery) => {
            let mut shipping = match &delivery.method {
                Some(method) => Some(ship(
                    method,
                    &delivery.country,
                    currency,
                    net_total,
                    free_shipping.is_some(),
                )?),
                None => None,
            };
            if let (Some(shipping), Some(discount)) = (
                &shipping,
                free_shipping.and_then(|index| discounts.get_mut(index)),
            ) {
                discount.shipping = shipping.discount;
                discount.amount = money(add(discount.amount.amount(), shipping.discount.amount())?);
            }
            let tax_of = |net: i64, category: &TaxCategory| {
                let rate = delivery
                    .tax
                    .rate_for(&delivery.country, delivery.region.as_deref(), category)
                    .map(|bp| bp.min(MAX_BASIS_POINTS));
                let tax = match rate {
                    None => 0,
                    Some(bp) if delivery.prices_include_tax => included_tax(net, bp),
                    Some(bp) => percent_of(net, bp),
                };
                (rate, tax)
            };
            let mut tax_total = 0i64;
            for line in &mut lines {
                let (rate, tax) = tax_of(line.net.amount(), &line.tax_category);
                line.tax_rate_basis_points = rate;
                line.tax = money(tax);
                tax_total = add(tax_total, tax)?;
            }
            if let Some(shipping) = &mut shipping {
                let (rate, tax) = tax_of(shipping.amount.amount(), &TaxCategory::standard());
                shipping.tax_rate_basis_points = rate;
                shipping.tax = money(tax);
                tax_total = add(tax_total, tax)?;
            }
            let summary = TaxSummary {
                country: delivery.country.clone(),
                region: delivery.region.clone(),
                prices_include_tax: delivery.prices_include_tax,
                total: money(tax_total),
            };
            (shipping, Some(summary))
        }
    };

    let shipping_amount = shipping.as_ref().map_or(0, |s| s.amount.amount());
    let added_tax = tax.as_ref().map_or(0, TaxSummary::added);
    let discount_total = total(
        &discounts
            .iter()
            .map(|d| d.amount.amount())
            .collect::<Vec<_>>(),
    )?;
    Ok(PricedCart {
        currency,
        lines,
        discounts,
        not_applied,
        subtotal: money(subtotal),
        discount_total: money(discount_total),
        subtotal_after_discounts: money(net_total),
        shipping,
        tax,
        total: money(add(add(net_total, shipping_amount)?, added_tax)?),
    })
}

/// Whether `offer` may apply to the request's cart; the first condition that
/// fails is the reason.
fn eligibility(
    offer: &PromotionOffer,
    request: &PricingRequest<'_>,
    subtotal: i64,
) -> Result<(), Ineligible> {
    match offer.status {
        PromotionStatus::Active => {}
        PromotionStatus::Paused => return Err(Ineligible::Paused),
        PromotionStatus::Ended => return Err(Ineligible::Ended),
    }
    if let Some(starts_at) = offer.window.starts_at {
        if request.at < starts_at {
            return Err(Ineligible::NotStarted { starts_at });
        }
    }
    if offer
        .window
        .ends_at
        .is_some_and(|ends_at| request.at >= ends_at)
    {
        return Err(Ineligible::Ended);
    }
    if offer.exhausted {
        return Err(Ineligible::Exhausted);
    }
    let conditions = &offer.conditions;
    let foreign = |amount: &Money| amount.currency() != request.currency;
    if offer.action.amount().is_some_and(foreign)
        || conditions.minimum_subtotal.as_ref().is_some_and(foreign)
    {
        return Err(Ineligible::Currency);
    }
    if let Some(minimum) = conditions.minimum_subtotal {
        if subtotal < minimum.amount() {
            return Err(Ineligible::MinimumSubtotal { minimum });
        }
    }
    let matching_units: u64 = request
        .lines
        .iter()
        .filter(|line| conditions.lines.matches(&line.sku, &line.facts))
        .map(|line| u64::from(line.quantity))
        .sum();
    if !conditions.lines.is_everything() && matching_units == 0 {
        return Err(Ineligible::NoMatchingLines);
    }
    if let Action::BuyXGetY { buy, get, .. } = offer.action {
        let needed = buy.saturating_add(get);
        if matching_units < u64::from(needed) {
            return Err(Ineligible::TooFewUnits { needed });
        }
    }
    if conditions.first_order_only && !request.customer.first_order {
        return Err(Ineligible::FirstOrderOnly);
    }
    Ok(())
}

/// What `action` takes off each line, given what is left of each (`net`).
/// Never more than a line's net.
fn amounts(
    action: &Action,
    filter: &LineFilter,
    lines: &[PricingLine],
    net: &[i64],
) -> Result<Vec<i64>, PricingError> {
    let matching = |index: usize| {
        lines
            .get(index)
            .is_some_and(|line| filter.matches(&line.sku, &line.facts))
    };
    let parts = match action {
        Action::PercentOffOrder { basis_points } => {
            let discount = percent_of(total(net)?, (*basis_points).min(MAX_BASIS_POINTS));
            split(discount, net)
        }
        Action::FixedOffOrder { amount } => {
            let discount = amount.amount().max(0).min(total(net)?);
            split(discount, net)
        }
        Action::PercentOffLines { basis_points } => net
            .iter()
            .enumerate()
            .map(|(i, n)| {
                if matching(i) {
                    percent_of(*n, (*basis_points).min(MAX_BASIS_POINTS)).min(*n)
                } else {
                    0
                }
            })
            .collect(),
        Action::FixedOffLines { amount_per_unit } => net
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let units = lines.get(i).map_or(0, |line| i64::from(line.quantity));
                if matching(i) {
                    amount_per_unit
                        .amount()
                        .max(0)
                        .saturating_mul(units)
                        .min(*n)
                } else {
                    0
                }
            })
            .collect(),
        Action::FreeShipping => vec![0; net.len()],
        Action::BuyXGetY {
            buy,
            get,
            basis_points,
        } => {
            let group = u64::from(buy.saturating_add(*get)).max(1);
            let units: u64 = (0..lines.len())
                .filter(|i| matching(*i))
                .map(|i| u64::from(lines[i].quantity))
                .sum();
            let mut discounted = units / group * u64::from(*get);
            // The cheapest units are the ones discounted.
            let mut order: Vec<usize> = (0..lines.len()).filter(|i| matching(*i)).collect();
            order.sort_by(|a, b| {
                lines[*a]
                    .unit_price
                    .amount()
                    .cmp(&lines[*b].unit_price.amount())
                    .then_with(|| lines[*a].sku.cmp(&lines[*b].sku))
            });
            let mut parts = vec![0; net.len()];
            for index in order {
                if discounted == 0 {
                    break;
                }
                let take = discounted.min(u64::from(lines[index].quantity));
                discounted -= take;
                let per_unit = percent_of(
                    lines[index].unit_price.amount(),
                    (*basis_points).min(MAX_BASIS_POINTS),
                );
                let take = i64::try_from(take).unwrap_or(i64::MAX);
                parts[index] = per_unit.saturating_mul(take).min(net[index]);
            }
            parts
        }
    };
    Ok(parts)
}

/// The shipping charge before tax.
fn ship(
    method: &ShippingOffer,
    country: &str,
    currency: Currency,
    net_total: i64,
    free_by_promotion: bool,
) -> Result<ShippingCharge, PricingError> {
    if !method.ships_to(country) {
        return Err(PricingError::ShippingNotAvailable {
            method: method.id,
            country: country.to_owned(),
        });
    }
    for amount in std::iter::once(&method.price).chain(method.free_above.as_ref()) {
        if amount.currency() != currency {
            return Err(PricingError::CurrencyMismatch {
                expected: currency,
                found: amount.currency(),
            });
        }
    }
    let price = method.price.amount().max(0);
    let free_above_reached = method
        .free_above
        .is_some_and(|threshold| net_total >= threshold.amount());
    let due = if free_above_reached { 0 } else { price };
    let discount = if free_by_promotion { due } else { 0 };
    Ok(ShippingCharge {
        method_id: method.id,
        name: method.name.clone(),
        price: method.price,
        free_above_reached,
        discount: Money::new(discount, currency),
        amount: Money::new(due - discount, currency),
        tax_rate_basis_points: None,
        tax: Money::zero(currency),
    })
}
