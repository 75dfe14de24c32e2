//! Customer accounts: registration (anyone) and erasure (the customer, or an
//! admin). Registration claims the e-mail address, by its keyed hash, in the
//! transaction of `CustomerRegistered`; erasure destroys the customer's data key
//! in the transaction of `CustomerErased`, so every personal field of theirs, in
//! every event, reads as erased from then on.

use axum::extract::State;
use axum::response::Response;
use chrono::Utc;
use commands::accounts::{self, passwords, ClaimEmail, EndSignIns, Forget};
use domain::customer::{AddressId, Customer, CustomerCommand, SignUp};
use domain::shared::{CustomerId, Email, PersonName, PostalAddress};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Call, CommandContext};
use crate::auth::{AdminsAndCustomers, Allowed};
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Register {
    /// Unique among accounts, whatever its case.
    #[schema(max_length = 254, example = "ada@example.com")]
    pub email: String,
    #[schema(min_length = 1, max_length = 200, example = "Ada Lovelace")]
    pub name: String,
    /// Kept only as an argon2id hash.
    #[schema(min_length = 12, max_length = 128, format = Password)]
    pub password: String,
}

// Not derived: the password must never reach a log line.
impl std::fmt::Debug for Register {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Register").finish_non_exhaustive()
    }
}

fn invalid(code: &'static str, detail: impl Into<String>) -> ApiError {
    ApiError::BadRequest {
        code,
        detail: detail.into(),
    }
}

#[utoipa::path(post, path = "/commands/customers", tag = "commands",
    request_body = Register,
    responses((status = 201, body = super::CommandAccepted),
        (status = 409, description = "`email_taken`: another account has this address")))]
pub async fn register(
    State(state): State<AppState>,
    context: CommandContext,
    Json(body): Json<Register>,
) -> Result<Response, ApiError> {
    let email = Email::new(body.email).map_err(|e| invalid("invalid_email", e.to_string()))?;
    let name = PersonName::new(body.name).map_err(|e| invalid("invalid_name", e.to_string()))?;
    passwords::check(&body.password).map_err(|reason| invalid("invalid_password", reason))?;
    let customer_id = CustomerId::new(Uuid::new_v4());
    let claim = ClaimEmail {
        customer_id,
        email_index: accounts::email_index(email.as_str()).map_err(internal)?,
        releasing: None,
        password_hash: Some(passwords::hash(body.password).await.map_err(internal)?),
    };
    let command = CustomerCommand::RegisterCustomer {
        customer_id,
        email,
        name,
        sign_up: SignUp::Password,
        registered_at: Utc::now(),
    };
    let answer = Call::<Customer>::new(customer_id, "register-customer", command)
        .creating()
        .with_hook(&claim)
        .send(&state, &context)
        .await?;
    send_verification(&state, customer_id, &claim.email_index);
    Ok(answer)
}

/// How long an e-mail verification token is good for.
const VERIFICATION_TTL_SECONDS: i64 = 48 * 3600;

/// Sends the customer a token that verifies their address. Until notifications
/// exist it is logged (with the customer's id, never the address).
fn send_verification(state: &AppState, customer_id: CustomerId, email_index: &[u8; 32]) {
    let token = state.cart_tokens.email_verification(
        customer_id,
        email_index,
        Utc::now().timestamp() + VERIFICATION_TTL_SECONDS,
    );
    tracing::info!(
        customer_id = %customer_id.as_uuid(),
        verification_token = %token,
        "e-mail verification token (no notifications are configured: POST it to /commands/customers/{{id}}/verify-email)"
    );
}

/// The caller's own account (or any, for an admin); 404 for another's.
fn own_account(caller: &Allowed<AdminsAndCustomers>, id: Uuid) -> Result<CustomerId, ApiError> {
    if caller.principal().may_act_for(id) {
        Ok(CustomerId::new(id))
    } else {
        // Another customer's account: as if it did not exist.
        Err(ApiError::Missing(format!("no customer {id}")))
    }
}

/// The customer's current state; 404 before registration.
async fn current(
    state: &AppState,
    customer_id: CustomerId,
) -> Result<domain::customer::CustomerState, ApiError> {
    // As stored: another instance may have changed or erased it a moment ago.
    let loaded = state
        .stores
        .of::<Customer>()
        .load_stored(&customer_id.to_string())
        .await?;
    loaded
        .aggregate
        .state()
        .cloned()
        .ok_or_else(|| ApiError::Missing(format!("no customer {customer_id}")))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyEmail {
    /// The token sent to the address.
    #[schema(min_length = 1, max_length = 100)]
    pub token: String,
}

#[utoipa::path(post, path = "/commands/customers/{id}/verify-email", tag = "commands",
    params(("id" = Uuid, Path)), request_body = VerifyEmail,
    responses((status = 200, body = super::CommandAccepted),
        (status = 422, description = "`verification_invalid`: not a token for this account's current address, or expired")))]
pub async fn verify_email(
    State(state): State<AppState>,
    context: CommandContext,
    Path(id): Path<Uuid>,
    Json(body): Json<VerifyEmail>,
) -> Result<Response, ApiError> {
    // The token is the proof: whoever holds it received the mail.
    let customer_id = CustomerId::new(id);
    let customer = current(&state, customer_id).await?;
    let index = accounts::email_index(customer.email.as_str()).map_err(internal)?;
    if !state
        .cart_tokens
        .verifies_email(&body.token, customer_id, &index, Utc::now().timestamp())
    {
        return Err(ApiError::Refused {
            code: "verification_invalid",
            detail: "this token does not verify the account's current address, or it expired"
                .into(),
        });
    }
    let command = CustomerCommand::VerifyEmail {
        email: customer.email,
        verified_at: Utc::now(),
    };
    Call::<Customer>::new(customer_id, "verify-email", command)
        .send(&state, &context)
        .await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeEmail {
    #[schema(max_length = 254, example = "ada@example.org")]
    pub email: String,
}

impl std::fmt::Debug for ChangeEmail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeEmail").finish_non_exhaustive()
    }
}

#[utoipa::path(post, path = "/commands/customers/{id}/change-email", tag = "commands",
    params(("id" = Uuid, Path)), request_body = ChangeEmail,
    responses((status = 200, body = super::CommandAccepted),
        (status = 409, description = "`email_taken`")),
    security(("bearer" = [])))]
pub async fn change_email(
    State(state): State<AppState>,
    caller: Allowed<AdminsAndCustomers>,
    context: CommandContext,
    Path(id): Path<Uuid>,
    Json(body): Json<ChangeEmail>,
) -> Result<Response, ApiError> {
    let customer_id = own_account(&caller, id)?;
    let email = Email::new(body.email).map_err(|e| invalid("invalid_email", e.to_string()))?;
    let before = current(&state, customer_id).await?;
    let claim = ClaimEmail {
        customer_id,
        email_index: accounts::email_index(email.as_str()).map_err(internal)?,
        releasing: Some(accounts::email_index(before.email.as_str()).map_err(internal)?),
        password_hash: None,
    };
    if before.email == email {
        // Nothing to claim: the command records nothing.
        return Call::<Customer>::new(
            customer_id,
            "change-email",
            CustomerCommand::ChangeEmail { email },
        )
        .send(&state, &context)
        .await;
    }
    let answer = Call::<Customer>::new(
        customer_id,
        "change-email",
        CustomerCommand::ChangeEmail { email },
    )
    .with_hook(&claim)
    .send(&state, &context)
    .await?;
    send_verification(&state, customer_id, &claim.email_index);
    Ok(answer)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeName {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
}

#[utoipa::path(post, path = "/commands/customers/{id}/change-name", tag = "commands",
    params(("id" = Uuid, Path)), request_body = ChangeName,
    responses((status = 200, body = super::CommandAccepted)),
    security(("bearer" = [])))]
pub async fn change_name(
    State(state): State<AppState>,
    caller: Allowed<AdminsAndCustomers>,
    context: CommandContext,
    Path(id): Path<Uuid>,
    Json(body): Json<ChangeName>,
) -> Result<Response, ApiError> {
    let customer_id = own_account(&caller, id)?;
    let name = PersonName::new(body.name).map_err(|e| invalid("invalid_name", e.to_string()))?;
    Call::<Customer>::new(
        customer_id,
        "change-name",
        CustomerCommand::ChangeName { name },
    )
    .send(&state, &context)
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressBody {
    #[schema(value_type = crate::openapi::AddressSchema)]
    pub address: PostalAddress,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AddressAdded {
    pub address_id: Uuid,
}

#[utoipa::path(post, path = "/commands/customers/{id}/addresses", tag = "commands",
    params(("id" = Uuid, Path)), request_body = AddressBody,
    responses((status = 200, body = super::CommandAccepted,
        description = "also `address_id`, the new address's id in the book")),
    security(("bearer" = [])))]
pub async fn add_address(
    State(state): State<AppState>,
    caller: Allowed<AdminsAndCustomers>,
    context: CommandContext,
    Path(id): Path<Uuid>,
    Json(body): Json<AddressBody>,
) -> Result<Response, ApiError> {
    let customer_id = own_account(&caller, id)?;
    let address_id = AddressId::new(Uuid::new_v4());
    let command = CustomerCommand::AddAddress {
        address_id,
        address: body.address,
    };
    Call::<Customer>::new(customer_id, "add-address", command)
        .answering(AddressAdded {
            address_id: address_id.as_uuid(),
        })
        .send(&state, &context)
        .await
}

#[utoipa::path(post, path = "/commands/customers/{id}/addresses/{address_id}/change", tag = "commands",
    params(("id" = Uuid, Path), ("address_id" = Uuid, Path)), request_body = AddressBody,
    responses((status = 200, body = super::CommandAccepted)),
    security(("bearer" = [])))]
pub async fn change_address(
    State(state): State<AppState>,
    caller: Allowed<AdminsAndCustomers>,
    context: CommandContext,
    Path((id, address_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<AddressBody>,
) -> Result<Response, ApiError> {
    let customer_id = own_account(&caller, id)?;
    let command = CustomerCommand::ChangeAddress {
        address_id: AddressId::new(address_id),
        address: body.address,
    };
    Call::<Customer>::new(customer_id, "change-address", command)
        .send(&state, &context)
        .await
}

#[utoipa::path(post, path = "/commands/customers/{id}/addresses/{address_id}/remove", tag = "commands",
    params(("id" = Uuid, Path), ("address_id" = Uuid, Path)),
    responses((status = 200, body = super::CommandAccepted)),
    security(("bearer" = [])))]
pub async fn remove_address(
    State(state): State<AppState>,
    caller: Allowed<AdminsAndCustomers>,
    context: CommandContext,
    Path((id, address_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, ApiError> {
    let customer_id = own_account(&caller, id)?;
    let command = CustomerCommand::RemoveAddress {
        address_id: AddressId::new(address_id),
    };
    Call::<Customer>::new(customer_id, "remove-address", command)
        .send(&state, &context)
        .await
}

#[utoipa::path(post, path = "/commands/customers/{id}/addresses/{address_id}/make-default", tag = "commands",
    params(("id" = Uuid, Path), ("address_id" = Uuid, Path)),
    responses((status = 200, body = super::CommandAccepted)),
    security(("bearer" = [])))]
pub async fn make_default_address(
    State(state): State<AppState>,
    caller: Allowed<AdminsAndCustomers>,
    context: CommandContext,
    Path((id, address_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, ApiError> {
    let customer_id = own_account(&caller, id)?;
    let command = CustomerCommand::SetDefaultShippingAddress {
        address_id: AddressId::new(address_id),
    };
    Call::<Customer>::new(customer_id, "set-default-shipping-address", command)
        .send(&state, &context)
        .await
}

#[utoipa::path(post, path = "/commands/customers/{id}/close", tag = "commands",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = super::CommandAccepted)),
    security(("bearer" = [])))]
pub async fn close(
    State(state): State<AppState>,
    caller: Allowed<AdminsAndCustomers>,
    context: CommandContext,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let customer_id = own_account(&caller, id)?;
    let command = CustomerCommand::CloseAccount {
        closed_at: Utc::now(),
    };
    let end = EndSignIns { customer_id };
    Call::<Customer>::new(customer_id, "close-account", command)
        .with_hook(&end)
        .send(&state, &context)
        .await
}

fn internal(error: accounts::AccountError) -> ApiError {
    ApiError::Internal(Box::new(error))
}

#[utoipa::path(post, path = "/commands/customers/{id}/erase", tag = "commands",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = super::CommandAccepted)),
    security(("bearer" = [])))]
pub async fn erase(
    State(state): State<AppState>,
    caller: Allowed<AdminsAndCustomers>,
    context: CommandContext,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let customer_id = own_account(&caller, id)?;
    let forget = Forget { customer_id };
    let command = CustomerCommand::EraseCustomer {
        erased_at: Utc::now(),
    };
    let call = Call::<Customer>::new(customer_id, "erase-customer", command).with_hook(&forget);
    send_erasure(call, id, &state, &context).await
}

/// Sends a call whose hook destroys `subject`'s data key.
pub(super) async fn send_erasure<A: domain::RegisteredAggregate>(
    call: Call<'_, A>,
    subject: Uuid,
    state: &AppState,
    context: &CommandContext,
) -> Result<Response, ApiError> {
    let answer = call.send(state, context).await;
    if answer.is_err() {
        // The key may be cached as erased by a transaction that did not commit.
        if let Some(keys) = eventlog::personal::installed() {
            keys.forget(subject);
        }
    }
    answer
}
