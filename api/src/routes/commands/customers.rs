//! Customer accounts: registration (anyone) and erasure (the customer, or an
//! admin). Registration claims the e-mail address, by its keyed hash, in the
//! transaction of `CustomerRegistered`; erasure destroys the customer's data key
//! in the transaction of `CustomerErased`, so every personal field of theirs, in
//! every event, reads as erased from then on.

use axum::extract::State;
use axum::response::Response;
use chrono::Utc;
use commands::accounts::{self, passwords, ClaimEmail, Forget};
use domain::customer::{Customer, CustomerCommand, SignUp};
use domain::shared::{CustomerId, Email, PersonName};
use serde::Deserialize;
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
    Call::<Customer>::new(customer_id, "register-customer", command)
        .creating()
        .with_hook(&claim)
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
    let principal = caller.principal();
    if !principal.is_admin() && principal.subject != id.to_string() {
        // Another customer's account: as if it did not exist.
        return Err(ApiError::Missing(format!("no customer {id}")));
    }
    let customer_id = CustomerId::new(id);
    let forget = Forget { customer_id };
    let command = CustomerCommand::EraseCustomer {
        erased_at: Utc::now(),
    };
    let answer = Call::<Customer>::new(customer_id, "erase-customer", command)
        .with_hook(&forget)
        .send(&state, &context)
        .await;
    if answer.is_err() {
        // The key may be cached as erased by a transaction that did not commit.
        if let Some(keys) = eventlog::personal::installed() {
            keys.forget(id);
        }
    }
    answer
}
