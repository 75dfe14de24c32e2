//! What the command side may ask of a cart. Outside facts arrive here, already
//! looked up: catalog snapshots and current prices, the source cart's lines for a
//! merge, new order ids and the time.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{MergePolicy, PricingContext};
use crate::pricing::{CouponCode, PromotionOffer};
use crate::shared::{
    CartId, Currency, CustomerId, Email, LineItem, Money, OrderId, PaymentMethodToken,
    PostalAddress, Quantity, Sku,
};

/// Struct variants refuse unknown fields (serde's container attribute applies to
/// each of them), so a misspelt field is an error rather than a silent default.
///
/// A command is built, decided once and dropped: the size of the pricing
/// variants (a context inline) costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum CartCommand {
    /// Creates the cart. `cart_id` must be the id the command is sent to: the
    /// aggregate keeps it so its events can name the cart.
    OpenCart {
        cart_id: CartId,
        currency: Currency,
        /// `None` for a guest.
        #[serde(default)]
        customer_id: Option<CustomerId>,
        opened_at: DateTime<Utc>,
    },
    /// `name` and `unit_price` are the catalog's at the moment of adding: the cart
    /// keeps that snapshot, and a SKU already in the cart takes the new snapshot.
    AddItem {
        sku: Sku,
        name: String,
        unit_price: Money,
        quantity: Quantity,
    },
    /// Sets the quantity of a line (to take a line out, `RemoveItem`).
    ChangeItemQuantity {
        sku: Sku,
        quantity: Quantity,
    },
    RemoveItem {
        sku: Sku,
    },
    /// A guest signed in or registered: the cart becomes theirs.
    AttachCartToCustomer {
        customer_id: CustomerId,
    },
    /// Sent to the target cart when a guest with a cart signs in and already has
    /// one. The command side loaded the source cart's lines and chose the policy;
    /// it then sends `MarkCartMergedInto` to the source.
    MergeCartLines {
        source_cart_id: CartId,
        lines: Vec<LineItem>,
        policy: MergePolicy,
    },
    /// Sent to the source cart once its lines went into `target_cart_id`.
    MarkCartMergedInto {
        target_cart_id: CartId,
    },
    /// The current catalog prices (at least of the cart's SKUs); lines whose price
    /// differs take the new price and are flagged.
    RefreshPrices {
        current_prices: BTreeMap<Sku, Money>,
    },
    /// Turns the cart into an order: refused while any current price differs from
    /// the cart's, so the customer confirms new prices first.
    CheckOutCart {
        order_id: OrderId,
        current_prices: BTreeMap<Sku, Money>,
        email: Email,
        shipping_address: PostalAddress,
        payment_token: PaymentMethodToken,
        checked_out_at: DateTime<Utc>,
    },
    AbandonCart {
        abandoned_at: DateTime<Utc>,
    },
    /// `command`, with what pricing the cart needs: after it, the cart's
    /// discounts are recomputed (and recorded when they moved); a checkout also
    /// checks them and freezes the priced cart, shipping and tax included.
    WithPricing {
        command: Box<CartCommand>,
        pricing: PricingContext,
    },
    /// `promotion` is the one the code names (`None`: no promotion has it).
    ApplyCoupon {
        code: CouponCode,
        promotion: Option<PromotionOffer>,
        pricing: PricingContext,
    },
    RemoveCoupon {
        code: CouponCode,
        pricing: PricingContext,
    },
}
