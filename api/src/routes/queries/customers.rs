//! A customer's own account: their address, name, address book and open cart,
//! for them (or an admin). Read from the customer's events as the command side holds them,
//! not from a read model: no table keeps a copy of this personal data to be
//! forgotten later.

use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use domain::customer::Customer;
use serde::Serialize;
use uuid::Uuid;

use super::{consistent, private_json};
use crate::auth::{AdminsAndCustomers, Allowed};
use crate::consistency::ConsistencyToken;
use crate::error::ApiError;
use crate::extract::Path;
use crate::state::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CustomerAddressView {
    pub address_id: Uuid,
    #[schema(value_type = crate::openapi::AddressSchema)]
    pub address: projections::read_models::view_types::AddressView,
    /// The default shipping address: a checkout without an address uses it.
    pub default: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CustomerView {
    pub customer_id: Uuid,
    /// `erased@erased.invalid` once the customer is erased.
    pub email: String,
    pub email_verified: bool,
    pub name: String,
    pub addresses: Vec<CustomerAddressView>,
    pub registered_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub erased_at: Option<DateTime<Utc>>,
    /// The version to send as `If-Match`.
    pub version: u64,
    /// Their open cart, if the carts read model has one (`GET /queries/carts/{id}`);
    /// their orders are at `GET /queries/orders`.
    pub open_cart_id: Option<Uuid>,
}

#[utoipa::path(get, path = "/queries/customers/{id}", tag = "queries",
    params(("id" = Uuid, Path), ("X-Consistency-Token" = Option<String>, Header)),
    responses((status = 200, body = CustomerView)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Allowed<AdminsAndCustomers>,
    token: ConsistencyToken,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let missing = || ApiError::Missing(format!("no customer {id}"));
    if !caller.principal().may_act_for(id) {
        return Err(missing());
    }
    // As stored, not as cached: another instance may have erased it.
    let loaded = state
        .stores
        .of::<Customer>()
        .load_stored(&id.to_string())
        .await?;
    let customer = loaded.aggregate.state().ok_or_else(missing)?;
    // The account is read from its events, always current; the open cart from
    // the carts read model, once it has passed the caller's token.
    consistent(&state, projections::read_models::carts::PROJECTOR, token).await?;
    let open_cart = projections::read_models::carts::open_cart_of(&state.pool, id).await?;
    Ok(private_json(&CustomerView {
        customer_id: id,
        email: customer.email.as_str().to_owned(),
        email_verified: customer.email_verified,
        name: customer.name.as_str().to_owned(),
        addresses: customer
            .addresses
            .iter()
            .map(|(address_id, address)| CustomerAddressView {
                address_id: address_id.as_uuid(),
                address: address.clone().into(),
                default: customer.default_shipping_address == Some(*address_id),
            })
            .collect(),
        registered_at: customer.registered_at,
        closed_at: customer.closed_at,
        erased_at: customer.erased_at,
        version: loaded.version,
        open_cart_id: open_cart.map(|cart| cart.cart_id),
    }))
}
