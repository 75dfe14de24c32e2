//! Prices as carts and orders show them: each discount, what it applies to, the
//! tax and shipping, and the totals before and after. Copied from events, never
//! recomputed.

use std::collections::BTreeMap;

use domain::pricing::{AppliedDiscount, NotApplied, PricedCart};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::view_types::MoneyView;

/// A promotion that applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DiscountView {
    pub promotion_id: Uuid,
    pub name: String,
    /// The coupon code; `None` for an automatic promotion.
    pub code: Option<String>,
    /// `percent_off_order`, `fixed_off_order`, `percent_off_lines`,
    /// `fixed_off_lines`, `free_shipping` or `buy_x_get_y`.
    pub action: String,
    /// Lines and shipping together.
    pub amount: MoneyView,
    /// SKU → the part taken off that line, in minor units of `amount`'s currency
    /// (as the events record it: a currency on every part made a cart's document
    /// half again as large).
    #[serde(deserialize_with = "parts_of_lines")]
    pub lines: BTreeMap<String, i64>,
    pub shipping: MoneyView,
}

/// Reads the parts of the lines as minor units, from documents written since
/// they are and from older ones, whose parts were Money.
fn parts_of_lines<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Part {
        Minor(i64),
        Money(MoneyView),
    }
    let parts = BTreeMap::<String, Part>::deserialize(deserializer)?;
    Ok(parts
        .into_iter()
        .map(|(sku, part)| match part {
            Part::Minor(amount) | Part::Money(MoneyView { amount, .. }) => (sku, amount),
        })
        .collect())
}

impl From<AppliedDiscount> for DiscountView {
    fn from(d: AppliedDiscount) -> Self {
        DiscountView {
            promotion_id: d.promotion_id.as_uuid(),
            name: d.name,
            code: d.code.map(String::from),
            action: d.action,
            amount: d.amount.into(),
            lines: d
                .lines
                .into_iter()
                .map(|(sku, part)| (sku.as_str().to_owned(), part.amount()))
                .collect(),
            shipping: d.shipping.into(),
        }
    }
}

/// A coupon on the cart that does not apply now, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NotAppliedView {
    pub promotion_id: Uuid,
    pub code: String,
    /// The condition that failed (`minimum_subtotal`, `matching_lines`, ...).
    pub condition: String,
    pub detail: String,
}

impl From<NotApplied> for NotAppliedView {
    fn from(n: NotApplied) -> Self {
        NotAppliedView {
            promotion_id: n.promotion_id.as_uuid(),
            code: n.code.into(),
            condition: n.reason.condition().to_owned(),
            detail: n.reason.to_string(),
        }
    }
}

/// A line as priced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PricedLineView {
    pub sku: String,
    pub quantity: u32,
    pub unit_price: MoneyView,
    pub gross: MoneyView,
    pub discount: MoneyView,
    pub net: MoneyView,
    pub tax_category: String,
    /// 1 900 = 19 %; `None` where no tax is collected.
    pub tax_rate_basis_points: Option<u32>,
    pub tax: MoneyView,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ShippingChargeView {
    pub method_id: Uuid,
    pub name: String,
    pub price: MoneyView,
    pub free_above_reached: bool,
    pub discount: MoneyView,
    pub amount: MoneyView,
    pub tax_rate_basis_points: Option<u32>,
    pub tax: MoneyView,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TaxView {
    pub country: String,
    pub region: Option<String>,
    pub prices_include_tax: bool,
    pub total: MoneyView,
}

/// A cart priced at checkout (or quoted): every figure of its total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PricedCartView {
    pub lines: Vec<PricedLineView>,
    pub discounts: Vec<DiscountView>,
    pub not_applied: Vec<NotAppliedView>,
    pub subtotal: MoneyView,
    pub discount_total: MoneyView,
    pub subtotal_after_discounts: MoneyView,
    pub shipping: Option<ShippingChargeView>,
    pub tax: Option<TaxView>,
    pub total: MoneyView,
}

impl From<PricedCart> for PricedCartView {
    fn from(p: PricedCart) -> Self {
        PricedCartView {
            lines: p
                .lines
                .into_iter()
                .map(|l| PricedLineView {
                    sku: l.sku.as_str().to_owned(),
                    quantity: l.quantity,
                    unit_price: l.unit_price.into(),
                    gross: l.gross.into(),
                    discount: l.discount.into(),
                    net: l.net.into(),
                    tax_category: l.tax_category.into(),
                    tax_rate_basis_points: l.tax_rate_basis_points,
                    tax: l.tax.into(),
                })
                .collect(),
            discounts: p.discounts.into_iter().map(DiscountView::from).collect(),
            not_applied: p
                .not_applied
                .into_iter()
                .map(NotAppliedView::from)
                .collect(),
            subtotal: p.subtotal.into(),
            discount_total: p.discount_total.into(),
            subtotal_after_discounts: p.subtotal_after_discounts.into(),
            shipping: p.shipping.map(|s| ShippingChargeView {
                method_id: s.method_id.as_uuid(),
                name: s.name,
                price: s.price.into(),
                free_above_reached: s.free_above_reached,
                discount: s.discount.into(),
                amount: s.amount.into(),
                tax_rate_basis_points: s.tax_rate_basis_points,
                tax: s.tax.into(),
            }),
            tax: p.tax.map(|t| TaxView {
                country: t.country,
                region: t.region,
                prices_include_tax: t.prices_include_tax,
                total: t.total.into(),
            }),
            total: p.total.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn discount(parts: serde_json::Value) -> serde_json::Value {
        json!({"promotion_id": Uuid::nil(), "name": "Winter", "code": null,
            "action": "percent_off_order", "amount": {"amount": 63, "currency": "EUR"},
            "lines": parts, "shipping": {"amount": 0, "currency": "EUR"}})
    }

    #[test]
    fn a_discount_shows_its_parts_of_the_lines_as_minor_units_and_reads_older_documents() {
        let older: DiscountView = serde_json::from_value(discount(
            json!({"MUG-1": {"amount": 63, "currency": "EUR"}}),
        ))
        .unwrap();
        let newer: DiscountView = serde_json::from_value(discount(json!({"MUG-1": 63}))).unwrap();
        assert_eq!(older, newer);
        assert_eq!(older.lines["MUG-1"], 63);
        assert_eq!(
            serde_json::to_value(&older).unwrap(),
            discount(json!({"MUG-1": 63}))
        );
    }
}
