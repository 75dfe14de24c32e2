//! Cart commands. A customer reaches their own carts; a guest reaches a cart with
//! the `cart_token` it got when opening it (header `X-Cart-Token`); an admin
//! reaches any. Anyone else is told the cart does not exist (404), so cart ids
//! cannot be probed. Names and prices of lines come from the catalog.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderName};
use axum::response::Response;
use chrono::Utc;
use commands::cart_workflows::{self, Attach};
use commands::Loaded;
use domain::cart::{Cart, CartCommand, CartError, MergePolicy};
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
    #[schema(value_type = String, example = "ada@example.com")]
    pub email: Email,
    #[schema(value_type = AddressSchema)]
    pub shipping_address: PostalAddress,
    /// The payment gateway's token for the customer's payment method (never a
    /// card number: those are refused).
    #[schema(value_type = String, example = "tok_visa")]
    pub payment_token: PaymentMethodToken,
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

/// The cart, if the caller may act on it; 404 otherwise.
async fn reachable_cart(
    state: &AppState,
    context: &CommandContext,
    headers: &HeaderMap,
    cart_id: CartId,
) -> Result<Loaded<Cart>, ApiError> {
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
    reachable_cart(state, context, headers, cart_id).await?;
    Call::<Cart>::new(cart_id, name, command)
        .send(state, context)
        .await
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
    reachable_cart(&state, &context, &headers, cart_id).await?;
    let offer = state
        .catalog
        .offer(&body.sku)
        .await?
        .ok_or_else(|| ApiError::Refused {
            code: "product_unavailable",
            detail: format!("{} is not for sale", body.sku),
        })?;
    let command = CartCommand::AddItem {
        sku: body.sku,
        name: offer.name,
        unit_price: offer.unit_price,
        quantity: body.quantity,
    };
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
    cart_command(
        &state,
        &context,
        &headers,
        CartId::new(id),
        "abandon",
        command,
    )
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

/// Checks out at today's catalog prices. When a price changed since a line was
/// added, the cart is re-priced and the checkout refused with `prices_changed`,
/// so the client shows the new total and checks out again.
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
    let loaded = reachable_cart(&state, &context, &headers, cart_id).await?;
    let prices = cart_workflows::current_prices(&state.catalog, &loaded.aggregate).await?;
    let order_id = OrderId::new(Uuid::new_v4());
    let command = CartCommand::CheckOutCart {
        order_id,
        current_prices: prices.clone(),
        email: body.email,
        shipping_address: body.shipping_address,
        payment_token: body.payment_token,
        checked_out_at: Utc::now(),
    };
    let call = Call::<Cart>::new(cart_id, "checkout", command).answering(CartAnswer {
        cart_token: None,
        order_id: Some(order_id.as_uuid()),
    });
    let fields = call.answer_fields.clone();
    match call.try_run(&state, &context).await {
        Ok(executed) => Ok(respond(answer(&executed, &fields))),
        Err(commands::CommandError::Refused(refusal @ CartError::PricesChanged { .. })) => {
            let refresh = cart_workflows::reprice(prices);
            let plain = CommandContext {
                claim: None,
                if_match: None,
                ..context.clone()
            };
            Call::<Cart>::new(cart_id, "refresh-prices", refresh)
                .run(&state, &plain)
                .await?;
            Err(commands::CommandError::Refused(refusal).into())
        }
        Err(other) => Err(other.into()),
    }
}
