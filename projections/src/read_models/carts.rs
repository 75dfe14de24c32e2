//! The cart read model (`read_carts`): one row per cart with its lines and totals,
//! for the storefront's cart page and for finding a signed-in customer's open cart.
//! The checkout's e-mail, address and payment token stay out of it: the order
//! carries what a reader needs of them, and no reader needs the token.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use sqlx::PgExecutor;
use utoipa::ToSchema;
use uuid::Uuid;

use domain::cart::{CartDiscounts, CartEvent, CartLine};

use super::document::{
    self, created_twice, existing, DocumentProjection, EventContext, KeyKind, View,
};
use super::pricing_view::{DiscountView, NotAppliedView, PricedCartView};
use super::view_types::MoneyView;
use crate::Error;

pub const PROJECTOR: &str = "carts";

/// Builds `read_carts`.
pub type CartsProjection = DocumentProjection<CartView>;

/// Where a cart is in its life; every status but `open` is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CartStatus {
    Open,
    CheckedOut,
    Abandoned,
    Merged,
}

impl CartStatus {
    pub const fn as_str(&self) -> &'static str {
        match self {
            CartStatus::Open => "open",
            CartStatus::CheckedOut => "checked_out",
            CartStatus::Abandoned => "abandoned",
            CartStatus::Merged => "merged",
        }
    }
}

/// One SKU in a cart, at the price the customer saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CartLineView {
    pub sku: String,
    pub name: String,
    pub unit_price: MoneyView,
    pub quantity: u32,
    /// `unit_price × quantity`.
    pub line_total: MoneyView,
    /// A price refresh changed `unit_price` since the customer last acted on the line.
    pub price_changed: bool,
}

impl From<CartLine> for CartLineView {
    fn from(line: CartLine) -> Self {
        CartLineView {
            sku: line.sku.as_str().to_owned(),
            name: line.name,
            unit_price: line.unit_price.into(),
            quantity: line.quantity.get(),
            line_total: line.line_total.into(),
            price_changed: line.price_changed,
        }
    }
}

/// A shopping cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CartView {
    pub cart_id: Uuid,
    pub status: CartStatus,
    /// ISO 4217; every price in the cart is in it.
    pub currency: String,
    /// `None` while the cart is a guest's.
    pub customer_id: Option<Uuid>,
    /// In the order they were first added.
    pub lines: Vec<CartLineView>,
    pub subtotal: MoneyView,
    /// Units over all lines.
    pub item_count: u32,
    /// The order placed from this cart, once checked out.
    pub order_id: Option<Uuid>,
    /// The cart this one's lines went into, once merged.
    pub merged_into: Option<Uuid>,
    /// Coupon codes on the cart (upper-cased).
    #[serde(default)]
    pub coupons: Vec<String>,
    /// Every promotion that applies now, in stacking order.
    #[serde(default)]
    pub discounts: Vec<DiscountView>,
    /// Coupons on the cart whose promotion does not apply now, and why.
    #[serde(default)]
    pub not_applied: Vec<NotAppliedView>,
    /// All discounts; `None` before any pricing was recorded (no discount).
    #[serde(default)]
    pub discount_total: Option<MoneyView>,
    /// The subtotal after discounts (shipping and tax come at checkout, see
    /// `pricing`); `None`: the subtotal.
    #[serde(default)]
    pub total_after_discounts: Option<MoneyView>,
    /// The cart as priced at checkout, with shipping and tax.
    #[serde(default)]
    pub pricing: Option<PricedCartView>,
    /// The cart stream's sequence of the last event folded in.
    pub version: i64,
    /// When the cart was opened.
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl CartView {
    fn with_lines(mut self, lines: Vec<CartLine>, subtotal: MoneyView, item_count: u32) -> Self {
        self.lines = lines.into_iter().map(CartLineView::from).collect();
        self.subtotal = subtotal;
        self.item_count = item_count;
        self
    }

    /// The cart with `discounts` as its discounts, when there are any to record.
    fn with_discounts(mut self, discounts: Option<CartDiscounts>) -> Self {
        if let Some(discounts) = discounts {
            self.discounts = discounts
                .discounts
                .into_iter()
                .map(DiscountView::from)
                .collect();
            self.not_applied = discounts
                .not_applied
                .into_iter()
                .map(NotAppliedView::from)
                .collect();
            self.discount_total = Some(discounts.discount_total.into());
            self.total_after_discounts = Some(discounts.total.into());
        }
        self
    }

    fn with_line(mut self, line: CartLine, subtotal: MoneyView, item_count: u32) -> Self {
        let line = CartLineView::from(line);
        match self.lines.iter_mut().find(|l| l.sku == line.sku) {
            Some(existing) => *existing = line,
            None => self.lines.push(line),
        }
        self.subtotal = subtotal;
        self.item_count = item_count;
        self
    }
}

impl View for CartView {
    const PROJECTOR: &'static str = PROJECTOR;
    const AGGREGATE_TYPE: &'static str = domain::AggregateKind::Cart.type_name();
    const TABLE: &'static str = "read_carts";
    const KEY_COLUMN: &'static str = "cart_id";
    const KEY_KIND: KeyKind = KeyKind::Uuid;
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("customer_id", "(doc->>'customer_id')::uuid"),
        ("status", "doc->>'status'"),
        ("created_at", "(doc->>'created_at')::timestamptz"),
    ];

    type Event = CartEvent;

    fn fold(view: Option<Self>, event: CartEvent, at: &EventContext) -> Result<Self, String> {
        let mut view = match event {
            CartEvent::CartOpened {
                cart_id,
                currency,
                customer_id,
                opened_at,
            } => {
                created_twice(&view, "CartOpened")?;
                CartView {
                    cart_id: cart_id.as_uuid(),
                    status: CartStatus::Open,
                    currency: currency.code().to_owned(),
                    customer_id: customer_id.map(|id| id.as_uuid()),
                    lines: Vec::new(),
                    subtotal: MoneyView::zero(currency.code()),
                    item_count: 0,
                    order_id: None,
                    merged_into: None,
                    coupons: Vec::new(),
                    discounts: Vec::new(),
                    not_applied: Vec::new(),
                    discount_total: None,
                    total_after_discounts: None,
                    pricing: None,
                    version: 0,
                    created_at: opened_at,
                    updated_at: at.recorded_at,
                }
            }
            CartEvent::ItemAdded {
                line,
                subtotal,
                item_count,
                discounts,
                ..
            }
            | CartEvent::ItemQuantityChanged {
                line,
                subtotal,
                item_count,
                discounts,
                ..
            } => existing(view, "a line change")?
                .with_line(line, subtotal.into(), item_count)
                .with_discounts(discounts),
            CartEvent::ItemRemoved {
                line,
                subtotal,
                item_count,
                discounts,
            } => {
                let mut view = existing(view, "ItemRemoved")?;
                view.lines.retain(|l| l.sku != line.sku.as_str());
                view.subtotal = subtotal.into();
                view.item_count = item_count;
                view.with_discounts(discounts)
            }
            CartEvent::CartAttachedToCustomer { customer_id } => CartView {
                customer_id: Some(customer_id.as_uuid()),
                ..existing(view, "CartAttachedToCustomer")?
            },
            CartEvent::CartLinesMerged {
                lines,
                subtotal,
                item_count,
                ..
            }
            | CartEvent::PricesRefreshed {
                lines,
                subtotal,
                item_count,
                ..
            } => {
                existing(view, "a new set of lines")?.with_lines(lines, subtotal.into(), item_count)
            }
            CartEvent::CartMergedInto { target_cart_id } => CartView {
                status: CartStatus::Merged,
                merged_into: Some(target_cart_id.as_uuid()),
                ..existing(view, "CartMergedInto")?
            },
            CartEvent::CartCheckedOut {
                order_id,
                customer_id,
                subtotal,
                item_count,
                pricing,
                ..
            } => {
                let mut view = existing(view, "CartCheckedOut")?;
                view.pricing = pricing.map(PricedCartView::from);
                view.status = CartStatus::CheckedOut;
                view.order_id = Some(order_id.as_uuid());
                view.customer_id = customer_id.map(|id| id.as_uuid()).or(view.customer_id);
                view.subtotal = subtotal.into();
                view.item_count = item_count;
                // The customer checked out at these prices: nothing is pending.
                for line in &mut view.lines {
                    line.price_changed = false;
                }
                view
            }
            CartEvent::CartAbandoned { .. } => CartView {
                status: CartStatus::Abandoned,
                ..existing(view, "CartAbandoned")?
            },
            CartEvent::CouponApplied { code, .. } => {
                let mut view = existing(view, "CouponApplied")?;
                let code = String::from(code);
                if !view.coupons.contains(&code) {
                    view.coupons.push(code);
                }
                view
            }
            CartEvent::CouponRemoved { code } => {
                let mut view = existing(view, "CouponRemoved")?;
                view.coupons.retain(|c| c.as_str() != code.as_str());
                view
            }
            CartEvent::CartDiscountsChanged {
                discounts,
                not_applied,
                discount_total,
                total,
                ..
            } => existing(view, "CartDiscountsChanged")?.with_discounts(Some(CartDiscounts {
                discounts,
                not_applied,
                discount_total,
                total,
            })),
        };
        view.version = at.sequence;
        view.updated_at = at.recorded_at;
        Ok(view)
    }

    fn version(&self) -> i64 {
        self.version
    }
}

/// The cart `cart_id`, if it was opened.
pub async fn get<'e>(
    executor: impl PgExecutor<'e>,
    cart_id: Uuid,
) -> Result<Option<CartView>, Error> {
    document::get(executor, cart_id).await
}

/// The customer's open cart: the newest, should there be several.
pub async fn open_cart_of<'e>(
    executor: impl PgExecutor<'e>,
    customer_id: Uuid,
) -> Result<Option<CartView>, Error> {
    let cart: Option<Json<CartView>> = sqlx::query_scalar(
        "SELECT doc FROM read_carts
          WHERE customer_id = $1 AND status = 'open'
          ORDER BY created_at DESC, cart_id DESC
          LIMIT 1",
    )
    .bind(customer_id)
    .fetch_optional(executor)
    .await?;
    Ok(cart.map(|Json(cart)| cart))
}
