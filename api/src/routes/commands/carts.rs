//! Cart commands. A customer reaches their own carts; a guest reaches a cart with
//! the `cart_token` it got when opening it (header `X-Cart-Token`); an admin
//! reaches any. Anyone else is told the cart does not exist (404), so cart ids
//! cannot be probed. Names and prices of lines come from the catalog.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderName};
use axum::response::Response;
use chrono::Utc;
use commands::cart_workflows::{self, Attach};
use commands::promotions::Freshness;
use commands::Loaded;
use domain::cart::{Cart, CartCommand, CartError, MergePolicy};
use domain::pricing::{CouponCode, ProductFacts, PromotionId, ShippingMethodId};
use domain::promotion::{Promotion, PromotionCommand};
use domain::shared::{
    CartId, Currency, CustomerId, Email, OrderId, PaymentMethodToken, PostalAddress, Quantity, Sku,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{answer, respond, AnswerFields, Call, CommandContext, Empty};
use crate::auth::{Allowed, Customers, Principal, Role};
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::openapi::AddressSchema;
use crate::state::AppState;

pub const CART_TOKEN: HeaderName = HeaderName::from_static("x-cart-token");

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenCart {
    /// ISO 4217; the server's default currency when absent.
    #[schema(value_type = Option<String>, example = "EUR")]
    pub currency: Option<Currency>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddItem {
    #[schema(value_type = String)]
    pub sku: Sku,
    /// 1 to 999 per line in all.
    #[schema(value_type = u32, minimum = 1, maximum = 999)]
    pub quantity: Quantity,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeQuantity {
    #[schema(value_type = String)]
    pub sku: Sku,
    #[schema(value_type = u32, minimum = 1, maximum = 999)]
    pub quantity: Quantity,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Coupon {
    /// 3 to 32 ASCII letters, digits, `-` or `_`, in any case.
    #[schema(value_type = String, min_length = 3, max_length = 32, pattern = "^[A-Za-z0-9_-]{3,32}$", example = "WINTER10")]
    pub code: CouponCode,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveItem {
    #[schema(value_type = String)]
    pub sku: Sku,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachCustomer {
    /// When the customer already has an open cart: `merge` both, `keep_guest`
    /// (this cart's lines replace theirs) or `keep_existing`. Required then.
    #[schema(value_type = Option<String>, example = "merge")]
    pub policy: Option<MergePolicy>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Checkout {
    /// Required for a guest; a signed-in customer's account address otherwise.
    #[schema(value_type = Option<String>, example = "ada@example.com")]
    #[serde(default)]
    pub email: Option<Email>,
    /// Required for a guest; a signed-in customer's default shipping address
    /// otherwise (`shipping_address_required` when their book has none).
    #[schema(value_type = Option<AddressSchema>)]
    #[serde(default)]
    pub shipping_address: Option<PostalAddress>,
    /// The payment gateway's token for the customer's payment method (never a
    /// card number: those are refused).
    #[schema(value_type = String, example = "tok_visa")]
    pub payment_token: PaymentMethodToken,
    /// The shipping method (`GET /queries/shipping-methods?country=&currency=`
    /// lists those that ship to the address). Required where any ships there;
    /// leave it out where none does (nothing is charged for shipping).
    #[serde(default)]
    pub shipping_method: Option<Uuid>,
}

/// What cart answers carry besides the id and version.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CartAnswer {
    /// Returned once, when a guest cart is opened: keep it, it opens the cart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cart_token: Option<String>,
    /// The order a checkout placed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<Uuid>,
}

/// The answer of the cart routes that say more than [`super::CommandAccepted`].
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CartCommandAccepted {
    #[serde(flatten)]
    pub accepted: super::CommandAccepted,
    #[serde(flatten)]
    pub cart: CartAnswer,
}

/// The customer id of a customer's token: customers' subjects are UUIDs.
pub fn customer_id(principal: &Principal) -> Result<CustomerId, ApiError> {
    Uuid::parse_str(&principal.subject)
        .map(CustomerId::new)
        .map_err(|_| ApiError::Forbidden("a customer token's subject must be a UUID".into()))
}

/// Where a checkout's order goes and whom it tells: as given, else from the
/// signed-in customer's account (their address, their default shipping address).
async fn contact_for_checkout(
    state: &AppState,
    context: &CommandContext,
    email: Option<Email>,
    address: Option<PostalAddress>,
) -> Result<(Email, PostalAddress), ApiError> {
    let account = match (&email, &address, &context.principal) {
        (Some(_), Some(_), _) => None,
        (_, _, Some(principal)) if principal.role == crate::auth::Role::Customer => {
            let id = customer_id(principal)?;
            // As stored: the account may have been closed or erased elsewhere.
            let loaded = state
                .stores
                .of::<domain::customer::Customer>()
                .load_stored(&id.as_uuid().to_string())
                .await?;
            loaded
                .aggregate
                .state()
                .filter(|c| c.erased_at.is_none() && c.closed_at.is_none())
                .cloned()
        }
        _ => None,
    };
    let email = email
        .or_else(|| account.as_ref().map(|c| c.email.clone()))
        .ok_or_else(|| {
            ApiError::bad_request(
                "email_required",
                "a checkout names an e-mail address (or is sent by a signed-in customer)",
            )
        })?;
    let address = address
        .or_else(|| account.as_ref().and_then(|c| c.shipping_address().cloned()))
        .ok_or_else(|| ApiError::bad_request("shipping_address_required", "a checkout names a shipping address (or its customer has a default shipping address)"))?;
    Ok((email, address))
}

/// The opened cart's state; 404 before it was opened.
fn opened(loaded: &Loaded<Cart>, cart_id: CartId) -> Result<&domain::cart::CartState, ApiError> {
    loaded
        .aggregate
        .state()
        .ok_or_else(|| ApiError::Missing(format!("no cart {cart_id}")))
}

/// The cart, if the caller may act on it; 404 otherwise.
async fn reachable_cart(
    state: &AppState,
    context: &CommandContext,
    headers: &HeaderMap,
    cart_id: CartId,
) -> Result<Arc<Loaded<Cart>>, ApiError> {
    let id = cart_id.to_string();
    let (loaded, _) = state.stores.of::<domain::cart::Cart>().load(&id).await?;
    let missing = || ApiError::Missing(format!("no cart {cart_id}"));
    let Some(cart) = loaded.aggregate.state() else {
        return Err(missing());
    };
    let allowed = match (&context.principal, cart.customer_id) {
        (Some(p), _) if p.role == Role::Admin => true,
        (Some(p), Some(owner)) if p.role == Role::Customer => {
            customer_id(p).is_ok_and(|c| c == owner)
        }
        (_, None) => headers
            .get(&CART_TOKEN)
            .and_then(|t| t.to_str().ok())
            .is_some_and(|t| state.cart_tokens.opens(cart_id, t)),
        _ => false,
    };
    if allowed {
        Ok(loaded)
    } else {
        Err(missing())
    }
}

async fn cart_command(
    state: &AppState,
    context: &CommandContext,
    headers: &HeaderMap,
    cart_id: CartId,
    name: &'static str,
    command: CartCommand,
) -> Result<Response, ApiError> {
    let loaded = reachable_cart(state, context, headers, cart_id).await?;
    let command = with_pricing(state, &loaded, None, command).await?;
    Call::<Cart>::new(cart_id, name, command)
        .send(state, context)
        .await
}

/// `command` with what pricing the cart needs, so its discounts follow the
/// change (`added`: a SKU being added and its facts). Promotions as cached:
/// the checkout re-reads them as stored.
async fn with_pricing(
    state: &AppState,
    loaded: &Loaded<Cart>,
    added: Option<(&Sku, &ProductFacts)>,
    command: CartCommand,
) -> Result<CartCommand, ApiError> {
    let Some(cart) = loaded.aggregate.state() else {
        return Ok(command);
    };
    let pricing = state
        .promotions
        .context(&state.catalog, cart, added, Freshness::Cached, None)
        .await?;
    Ok(CartCommand::WithPricing {
        command: Box::new(command),
        pricing,
    })
}

#[utoipa::path(post, path = "/commands/carts", tag = "commands", request_body = OpenCart,
    responses((status = 201, body = CartCommandAccepted, description = "`cart_token` for a guest cart")))]
pub async fn open(
    State(state): State<AppState>,
    context: CommandContext,
    body: Option<Json<OpenCart>>,
) -> Result<Response, ApiError> {
    let body = body.map(|Json(b)| b).unwrap_or_default();
    let customer_id = match &context.principal {
        None => None,
        Some(p) if p.role == Role::Customer => Some(customer_id(p)?),
        Some(p) => {
            return Err(ApiError::Forbidden(format!(
                "carts are opened by customers and guests, not by the {} role",
                p.role
            )))
        }
    };
    let cart_id = CartId::new(Uuid::new_v4());
    let command = CartCommand::OpenCart {
        cart_id,
        currency: body.currency.unwrap_or(state.settings.default_currency),
        customer_id,
        opened_at: Utc::now(),
    };
    let answer = CartAnswer {
        cart_token: customer_id
            .is_none()
            .then(|| state.cart_tokens.issue(cart_id)),
        order_id: None,
    };
    Call::<Cart>::new(cart_id, "open-cart", command)
        .creating()
        .answering(answer)
        .send(&state, &context)
        .await
}

#[utoipa::path(post, path = "/commands/carts/{id}/add-item", tag = "commands",
    params(("id" = Uuid, Path)), request_body = AddItem,
    responses((status = 200, body = super::CommandAccepted)))]
pub async fn add_item(
    State(state): State<AppState>,
    context: CommandContext,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Json(body): Json<AddItem>,
) -> Result<Response, ApiError> {
    let cart_id = CartId::new(id);
    let loaded = reachable_cart(&state, &context, &headers, cart_id).await?;
    let offer = state
        .catalog
        .offer(&body.sku)
        .await?
        .ok_or_else(|| ApiError::Refused {
            code: "product_unavailable",
            detail: format!("{} is not for sale", body.sku),
        })?;
    let command = CartCommand::AddItem {
        sku: body.sku.clone(),
        name: offer.name,
        unit_price: offer.unit_price,
        quantity: body.quantity,
    };
    let command = with_pricing(&state, &loaded, Some((&body.sku, &offer.facts)), command).await?;
    Call::<Cart>::new(cart_id, "add-item", command)
        .send(&state, &context)
        .await
}

#[utoipa::path(post, path = "/commands/carts/{id}/change-quantity", tag = "commands",
    params(("id" = Uuid, Path)), request_body = ChangeQuantity,
    responses((status = 200, body = super::CommandAccepted)))]
pub async fn change_quantity(
    State(state): State<AppState>,
    context: CommandContext,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Json(body): Json<ChangeQuantity>,
) -> Result<Response, ApiError> {
    let command = CartCommand::ChangeItemQuantity {
        sku: body.sku,
        quantity: body.quantity,
    };
    cart_command(
        &state,
        &context,
        &headers,
        CartId::new(id),
        "change-quantity",
        command,
    )
    .await
}

#[utoipa::path(post, path = "/commands/carts/{id}/remove-item", tag = "commands",
    params(("id" = Uuid, Path)), request_body = RemoveItem,
    responses((status = 200, body = super::CommandAccepted)))]
pub async fn remove_item(
    State(state): State<AppState>,
    context: CommandContext,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Json(body): Json<RemoveItem>,
) -> Result<Response, ApiError> {
    let command = CartCommand::RemoveItem { sku: body.sku };
    cart_command(
        &state,
        &context,
        &headers,
        CartId::new(id),
        "remove-item",
        command,
    )
    .await
}

#[utoipa::path(post, path = "/commands/carts/{id}/abandon", tag = "commands",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = super::CommandAccepted)))]
pub async fn abandon(
    State(state): State<AppState>,
    context: CommandContext,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    _: Option<Json<Empty>>,
) -> Result<Response, ApiError> {
    let command = CartCommand::AbandonCart {
        abandoned_at: Utc::now(),
    };
    let cart_id = CartId::new(id);
    reachable_cart(&state, &context, &headers, cart_id).await?;
    Call::<Cart>::new(cart_id, "abandon", command)
        .send(&state, &context)
        .await
}

/// A guest signs in: the guest cart (opened by its token) becomes the customer's,
/// or, when the customer already has an open cart, the two are merged into theirs
/// by `policy` and the guest cart ends as merged. Answers for the cart the
/// customer keeps.
#[utoipa::path(post, path = "/commands/carts/{id}/attach-customer", tag = "commands",
    params(("id" = Uuid, Path)), request_body = AttachCustomer,
    responses((status = 200, body = super::CommandAccepted)),
    security(("bearer" = [])))]
pub async fn attach_customer(
    State(state): State<AppState>,
    caller: Allowed<Customers>,
    context: CommandContext,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    body: Option<Json<AttachCustomer>>,
) -> Result<Response, ApiError> {
    let customer = customer_id(caller.principal())?;
    let guest_id = CartId::new(id);
    // The guest proves the cart is theirs with its token, even when signed in.
    let guest_context = CommandContext {
        principal: None,
        ..context.clone()
    };
    let guest = match reachable_cart(&state, &guest_context, &headers, guest_id).await {
        Ok(loaded) => loaded,
        // Already attached to this very customer: a retry.
        Err(_) => reachable_cart(&state, &context, &headers, guest_id).await?,
    };
    // If-Match names the version of the cart in the path, the guest's; checked
    // before anything changes, and not applied to the customer's cart.
    if let Some(expected) = context.if_match {
        if expected != guest.version {
            return Err(ApiError::from(
                commands::CommandError::<CartError>::VersionMismatch {
                    expected,
                    actual: guest.version,
                },
            ));
        }
    }
    let context = CommandContext {
        if_match: None,
        ..context
    };
    let open_cart =
        cart_workflows::open_cart_of(&state.pool, customer, state.settings.consistency_wait)
            .await?;
    let policy = body.and_then(|Json(b)| b.policy);
    match cart_workflows::attach(guest_id, &guest.aggregate, customer, open_cart, policy)? {
        Attach::Attach { cart, command } => {
            Call::<Cart>::new(cart, "attach-customer", command)
                .send(&state, &context)
                .await
        }
        Attach::Merge {
            target,
            merge,
            guest,
            close,
        } => {
            let merged = Call::<Cart>::new(target, "merge-cart-lines", merge)
                .run(&state, &context)
                .await?;
            // The answer recorded for an Idempotency-Key is the merge's.
            let plain = CommandContext {
                claim: None,
                ..context.clone()
            };
            Call::<Cart>::new(guest, "mark-cart-merged", close)
                .run(&state, &plain)
                .await?;
            Ok(respond(answer(&merged, &AnswerFields::new())))
        }
    }
}

/// Applies a coupon: refused with `coupon_unknown`, `coupon_expired`,
/// `coupon_exhausted` or `coupon_not_applicable` (naming the condition that
/// failed); a coupon already on the cart changes nothing.
#[utoipa::path(post, path = "/commands/carts/{id}/apply-coupon", tag = "commands",
    params(("id" = Uuid, Path)), request_body = Coupon,
    responses((status = 200, body = super::CommandAccepted)))]
pub async fn apply_coupon(
    State(state): State<AppState>,
    context: CommandContext,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Json(body): Json<Coupon>,
) -> Result<Response, ApiError> {
    let cart_id = CartId::new(id);
    let loaded = reachable_cart(&state, &context, &headers, cart_id).await?;
    let cart = opened(&loaded, cart_id)?;
    // As stored: its uses change with every checkout, from any instance (and
    // from the checkout process, which gives uses back).
    let promotion = state
        .promotions
        .by_code(&body.code, Freshness::Stored)
        .await?
        .map(|promotion| promotion.offer_for(cart.customer_id));
    let pricing = state
        .promotions
        .context(&state.catalog, cart, None, Freshness::Cached, None)
        .await?;
    let command = CartCommand::ApplyCoupon {
        code: body.code,
        promotion,
        pricing,
    };
    Call::<Cart>::new(cart_id, "apply-coupon", command)
        .send(&state, &context)
        .await
}

/// Takes a coupon off the cart (`coupon_not_on_cart` when it is not on it).
#[utoipa::path(post, path = "/commands/carts/{id}/remove-coupon", tag = "commands",
    params(("id" = Uuid, Path)), request_body = Coupon,
    responses((status = 200, body = super::CommandAccepted)))]
pub async fn remove_coupon(
    State(state): State<AppState>,
    context: CommandContext,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Json(body): Json<Coupon>,
) -> Result<Response, ApiError> {
    let cart_id = CartId::new(id);
    let loaded = reachable_cart(&state, &context, &headers, cart_id).await?;
    let cart = opened(&loaded, cart_id)?;
    let mut cart = cart.clone();
    cart.coupons.remove(&body.code);
    let pricing = state
        .promotions
        .context(&state.catalog, &cart, None, Freshness::Cached, None)
        .await?;
    let command = CartCommand::RemoveCoupon {
        code: body.code,
        pricing,
    };
    Call::<Cart>::new(cart_id, "remove-coupon", command)
        .send(&state, &context)
        .await
}

/// Checks out at today's catalog prices and promotions, frozen into the order.
/// When a price or a discount changed since the cart showed it, the cart is
/// re-priced and the checkout refused with `prices_changed`, so the client
/// shows the new total and checks out again. A promotion with a usage limit
/// has one use redeemed for the order first; none left: `coupon_exhausted` for
/// a coupon (`prices_changed` for an automatic promotion), and nothing changes.
#[utoipa::path(post, path = "/commands/carts/{id}/checkout", tag = "commands",
    params(("id" = Uuid, Path)), request_body = Checkout,
    responses((status = 200, body = CartCommandAccepted, description = "with the new `order_id`")))]
pub async fn checkout(
    State(state): State<AppState>,
    context: CommandContext,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Json(body): Json<Checkout>,
) -> Result<Response, ApiError> {
    let cart_id = CartId::new(id);
    reachable_cart(&state, &context, &headers, cart_id).await?;
    // As stored, not as cached: the uses to redeem are decided from it, and
    // another instance may have changed its coupons a moment ago.
    let loaded = state
        .stores
        .of::<Cart>()
        .load_stored(&cart_id.to_string())
        .await?;
    let cart = opened(&loaded, cart_id)?;
    let (email, shipping_address) =
        contact_for_checkout(&state, &context, body.email, body.shipping_address).await?;
    let prices = cart_workflows::current_prices(&state.catalog, &loaded.aggregate).await?;
    // From the Idempotency-Key when there is one: a retry redeems for the same order.
    let order_id = OrderId::new(super::orders::new_id(&context, b"checkout"));
    let delivery = state
        .deliveries
        .for_checkout(
            cart.currency,
            shipping_address.fields(),
            body.shipping_method.map(ShippingMethodId::new),
        )
        .await?;
    let pricing = state
        .promotions
        .context(
            &state.catalog,
            cart,
            None,
            Freshness::Stored,
            Some(delivery),
        )
        .await?;
    let command = CartCommand::WithPricing {
        command: Box::new(CartCommand::CheckOutCart {
            order_id,
            current_prices: prices.clone(),
            email,
            shipping_address,
            payment_token: body.payment_token,
            checked_out_at: Utc::now(),
        }),
        pricing: pricing.clone(),
    };
    let plain = CommandContext {
        claim: None,
        if_match: None,
        ..context.clone()
    };
    // Decided once here, on the cart as loaded, to learn which uses to redeem;
    // the append decides again on the cart as stored.
    let applied: Vec<(PromotionId, Option<CouponCode>)> =
        match loaded.aggregate.decide(command.clone()) {
            Ok(events) => events
                .iter()
                .filter_map(|event| match event {
                    domain::cart::CartEvent::CartCheckedOut {
                        pricing: Some(priced),
                        ..
                    } => Some(
                        priced
                            .discounts
                            .iter()
                            .map(|d| (d.promotion_id, d.code.clone())),
                    ),
                    _ => None,
                })
                .flatten()
                .collect(),
            Err(_) => Vec::new(),
        };
    let ids: Vec<PromotionId> = applied.iter().map(|(id, _)| *id).collect();
    let mut redeemed = Vec::new();
    for promotion_id in state.promotions.limited(&ids).await? {
        let mut call = Call::<Promotion>::new(
            promotion_id,
            "redeem-promotion",
            PromotionCommand::RedeemPromotion {
                order_id,
                customer_id: cart.customer_id,
                redeemed_at: Utc::now(),
            },
        );
        // Checkouts race on a popular promotion's one stream: each loser decides
        // again on the fresh count, so the limit holds and nobody waits long.
        call.options.retries = 1_000;
        match call.try_run(&state, &plain).await {
            Ok(_) => redeemed.push(promotion_id),
            Err(error) => {
                release(&state, &plain, &redeemed, order_id).await;
                let code = applied
                    .iter()
                    .find(|(id, _)| *id == promotion_id)
                    .and_then(|(_, code)| code.clone());
                return Err(match (error, code) {
                    (commands::CommandError::Refused(refusal), Some(code)) => ApiError::Refused {
                        code: "coupon_exhausted",
                        detail: format!("the coupon {code} cannot be used: {refusal}"),
                    },
                    (commands::CommandError::Refused(refusal), None) => {
                        refresh(&state, &plain, cart_id, prices, pricing).await?;
                        ApiError::Refused {
                            code: "prices_changed",
                            detail: format!(
                                "a promotion of the cart no longer applies ({refusal}); confirm the new total and check out again"
                            ),
                        }
                    }
                    (other, _) => other.into(),
                });
            }
        }
    }
    let call = Call::<Cart>::new(cart_id, "checkout", command).answering(CartAnswer {
        cart_token: None,
        order_id: Some(order_id.as_uuid()),
    });
    let fields = call.answer_fields.clone();
    match call.try_run(&state, &context).await {
        Ok(executed) => Ok(respond(answer(&executed, &fields))),
        Err(error) => {
            release(&state, &plain, &redeemed, order_id).await;
            match error {
                commands::CommandError::Refused(
                    refusal
                    @ (CartError::PricesChanged { .. } | CartError::DiscountsChanged { .. }),
                ) => {
                    refresh(&state, &plain, cart_id, prices, pricing).await?;
                    Err(commands::CommandError::Refused(refusal).into())
                }
                other => Err(other.into()),
            }
        }
    }
}

/// Re-prices the cart after a refused checkout: its lines take today's prices
/// and its discounts today's promotions, so the client shows the new total.
async fn refresh(
    state: &AppState,
    context: &CommandContext,
    cart_id: CartId,
    prices: std::collections::BTreeMap<Sku, domain::shared::Money>,
    pricing: domain::cart::PricingContext,
) -> Result<(), ApiError> {
    let refresh = CartCommand::WithPricing {
        command: Box::new(cart_workflows::reprice(prices)),
        pricing,
    };
    Call::<Cart>::new(cart_id, "refresh-prices", refresh)
        .run(state, context)
        .await?;
    Ok(())
}

/// Gives back the uses redeemed for an order whose checkout did not go through.
/// A failure leaves a use held for an order that does not exist: logged, for an
/// operator to release.
async fn release(
    state: &AppState,
    context: &CommandContext,
    redeemed: &[PromotionId],
    order_id: OrderId,
) {
    for promotion_id in redeemed {
        let mut call = Call::<Promotion>::new(
            *promotion_id,
            "release-redemption",
            PromotionCommand::ReleaseRedemption { order_id },
        );
        call.options.retries = 1_000;
        if let Err(error) = call.try_run(state, context).await {
            tracing::warn!(%promotion_id, %order_id, %error, "a promotion use could not be given back");
        }
    }
}
