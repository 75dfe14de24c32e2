//! The cart's use of the pricing engine: its discounts are recomputed after every
//! change of its lines or coupons, from the promotions the command side looked up,
//! and recorded only when they moved (in the line event of a line change, else
//! as `CartDiscountsChanged`); coupons are applied
//! with a refusal that names why one cannot be; the checkout freezes the priced cart.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{CartError, CartEvent, CartState, CartStatus};
use crate::pricing::{
    price, AppliedDiscount, CouponCode, CustomerFacts, Delivery, NotApplied, PricedCart,
    PricingError, PricingLine, PricingRequest, ProductFacts, PromotionOffer, PromotionStatus,
};
use crate::shared::{Money, Sku};

/// At most this many coupons on one cart.
pub const MAX_COUPONS: usize = 5;

/// What pricing a cart needs besides the cart: looked up by the command side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PricingContext {
    /// Active automatic promotions and those of the cart's coupons.
    pub promotions: Vec<PromotionOffer>,
    /// Of the cart's SKUs (after the command); a SKU absent is priced as
    /// uncategorised and `standard`-taxed.
    pub facts: BTreeMap<Sku, ProductFacts>,
    #[serde(default)]
    pub customer: CustomerFacts,
    pub at: DateTime<Utc>,
    /// Known at checkout only: shipping and tax are priced with it.
    #[serde(default)]
    pub delivery: Option<Delivery>,
}

/// The discounts of a cart as last recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartDiscounts {
    pub discounts: Vec<AppliedDiscount>,
    pub not_applied: Vec<NotApplied>,
    pub discount_total: Money,
    /// The subtotal after discounts.
    pub total: Money,
}

pub(super) fn pricing_error(error: PricingError) -> CartError {
    match error {
        PricingError::AmountOutOfRange | PricingError::CurrencyMismatch { .. } => {
            CartError::AmountOutOfRange
        }
        PricingError::ShippingNotAvailable { method, country } => CartError::ShippingUnavailable {
            reason: format!("shipping method {method} does not ship to {country}"),
        },
    }
}

impl CartState {
    /// The cart priced with `context`, with `coupons` on it.
    pub(super) fn priced(
        &self,
        context: &PricingContext,
        coupons: &BTreeSet<CouponCode>,
        delivery: Option<&Delivery>,
    ) -> Result<PricedCart, CartError> {
        let lines: Vec<PricingLine> = self
            .lines
            .iter()
            .map(|line| PricingLine {
                sku: line.sku.clone(),
                unit_price: line.unit_price,
                quantity: line.quantity.get(),
                facts: context.facts.get(&line.sku).cloned().unwrap_or_default(),
            })
            .collect();
        price(&PricingRequest {
            currency: self.currency,
            lines: &lines,
            promotions: &context.promotions,
            coupons,
            customer: context.customer,
            at: context.at,
            delivery,
        })
        .map_err(pricing_error)
    }

    /// What each promotion takes off the lines, as recorded.
    pub(super) fn recorded_line_discounts(&self) -> BTreeMap<crate::pricing::PromotionId, i64> {
        self.discounts
            .as_ref()
            .map(|d| crate::pricing::line_discounts(&d.discounts))
            .unwrap_or_default()
    }

    /// `events`, with the discounts of the cart they leave when it is discounted
    /// otherwise than recorded: inside a lone line event, else in a following
    /// `CartDiscountsChanged`.
    pub(super) fn repriced(
        &self,
        mut events: Vec<CartEvent>,
        context: &PricingContext,
    ) -> Result<Vec<CartEvent>, CartError> {
        let mut after = self.clone();
        for event in &events {
            after.apply(event.clone());
        }
        if after.status != CartStatus::Open {
            return Ok(events);
        }
        let priced = after.priced(context, &after.coupons, None)?;
        let discounts = CartDiscounts {
            discounts: priced.discounts,
            not_applied: priced.not_applied,
            discount_total: priced.discount_total,
            total: priced.subtotal_after_discounts,
        };
        let unchanged = match &after.discounts {
            Some(recorded) => *recorded == discounts,
            None => discounts.discounts.is_empty() && discounts.not_applied.is_empty(),
        };
        if unchanged {
            return Ok(events);
        }
        // One line change carries the discounts it moved: the hot path of a cart
        // under promotions stays one event per command.
        if let [CartEvent::ItemAdded {
            discounts: carried, ..
        }
        | CartEvent::ItemQuantityChanged {
            discounts: carried, ..
        }
        | CartEvent::ItemRemoved {
            discounts: carried, ..
        }] = &mut events[..]
        {
            *carried = Some(discounts);
            return Ok(events);
        }
        events.push(CartEvent::CartDiscountsChanged {
            discounts: discounts.discounts,
            not_applied: discounts.not_applied,
            subtotal: priced.subtotal,
            discount_total: discounts.discount_total,
            total: discounts.total,
        });
        Ok(events)
    }

    pub(super) fn apply_coupon(
        &self,
        code: CouponCode,
        promotion: Option<PromotionOffer>,
        context: &PricingContext,
    ) -> Result<Vec<CartEvent>, CartError> {
        self.ensure_open()?;
        if self.coupons.contains(&code) {
            return Ok(Vec::new());
        }
        let Some(promotion) = promotion.filter(|p| p.code.as_ref() == Some(&code)) else {
            return Err(CartError::CouponUnknown { code });
        };
        if self.coupons.len() >= MAX_COUPONS {
            return Err(CartError::TooManyCoupons { max: MAX_COUPONS });
        }
        let ended = promotion.status == PromotionStatus::Ended
            || promotion
                .window
                .ends_at
                .is_some_and(|ends| context.at >= ends);
        if ended {
            return Err(CartError::CouponExpired { code });
        }
        if promotion.exhausted {
            return Err(CartError::CouponExhausted { code });
        }
        let mut context = context.clone();
        context
            .promotions
            .retain(|p| p.promotion_id != promotion.promotion_id);
        let promotion_id = promotion.promotion_id;
        context.promotions.push(promotion);
        let mut coupons = self.coupons.clone();
        coupons.insert(code.clone());
        let priced = self.priced(&context, &coupons, None)?;
        if let Some(refused) = priced.not_applied.iter().find(|n| n.code == code) {
            return Err(CartError::CouponNotApplicable {
                code,
                reason: refused.reason.clone(),
            });
        }
        self.repriced(
            vec![CartEvent::CouponApplied { code, promotion_id }],
            &context,
        )
    }

    pub(super) fn remove_coupon(
        &self,
        code: CouponCode,
        context: &PricingContext,
    ) -> Result<Vec<CartEvent>, CartError> {
        self.ensure_open()?;
        if !self.coupons.contains(&code) {
            return Err(CartError::CouponNotOnCart { code });
        }
        self.repriced(vec![CartEvent::CouponRemoved { code }], context)
    }
}
