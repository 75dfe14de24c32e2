//! What customer accounts need beside their events: the claim of an e-mail
//! address (by its keyed hash), the password hash, and the refresh tokens of
//! sign-ins. None of it is in the log, so all of it can be changed and erased.

pub mod passwords;
pub mod tokens;

use domain::shared::CustomerId;
use sqlx::PgConnection;

use crate::store::AppendHook;
use crate::Executed;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("no personal data key is installed: e-mail addresses cannot be indexed")]
    NoKeys,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

/// The keyed hash an address is claimed and found by.
pub fn email_index(email: &str) -> Result<[u8; 32], AccountError> {
    eventlog::personal::installed()
        .map(|keys| keys.email_index(email))
        .ok_or(AccountError::NoKeys)
}

/// Which customer holds the address `email`.
pub async fn customer_with_email(
    pool: &sqlx::PgPool,
    email: &str,
) -> Result<Option<CustomerId>, AccountError> {
    let index = email_index(email)?;
    let found: Option<uuid::Uuid> =
        sqlx::query_scalar("SELECT customer_id FROM customer_emails WHERE email_index = $1")
            .bind(&index[..])
            .fetch_optional(pool)
            .await?;
    Ok(found.map(CustomerId::new))
}

/// The customer whose address is `email` and password `password`, if any. An
/// unknown address costs the same one argon2 verification as a wrong password.
pub async fn authenticate(
    pool: &sqlx::PgPool,
    email: &str,
    password: String,
) -> Result<Option<CustomerId>, AccountError> {
    let customer = customer_with_email(pool, email).await?;
    let stored: Option<String> = match customer {
        Some(customer) => {
            sqlx::query_scalar(
                "SELECT password_hash FROM customer_credentials WHERE customer_id = $1",
            )
            .bind(customer.as_uuid())
            .fetch_optional(pool)
            .await?
        }
        None => None,
    };
    let matches = passwords::verify(password, stored).await?;
    Ok(customer.filter(|_| matches))
}

/// Registers a customer's claims inside the transaction of `CustomerRegistered`
/// (or of `CustomerEmailChanged`: `releasing` the old address): the address, and
/// the password hash when there is one. A claimed address fails the append on
/// `customer_emails_pkey`.
pub struct ClaimEmail {
    pub customer_id: CustomerId,
    pub email_index: [u8; 32],
    pub releasing: Option<[u8; 32]>,
    pub password_hash: Option<String>,
}

#[async_trait::async_trait]
impl AppendHook for ClaimEmail {
    async fn within(&self, tx: &mut PgConnection, _: &Executed) -> Result<(), sqlx::Error> {
        if self.releasing.is_some() {
            // Every other address of the customer, not only the one read before
            // the command: a change decided again after a lost race must not
            // leave an address claimed in between.
            sqlx::query("DELETE FROM customer_emails WHERE customer_id = $1 AND email_index <> $2")
                .bind(self.customer_id.as_uuid())
                .bind(&self.email_index[..])
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("INSERT INTO customer_emails (email_index, customer_id) VALUES ($1, $2)")
            .bind(&self.email_index[..])
            .bind(self.customer_id.as_uuid())
            .execute(&mut *tx)
            .await?;
        if let Some(hash) = &self.password_hash {
            sqlx::query(
                "INSERT INTO customer_credentials (customer_id, password_hash) VALUES ($1, $2)",
            )
            .bind(self.customer_id.as_uuid())
            .bind(hash)
            .execute(&mut *tx)
            .await?;
        }
        Ok(())
    }
}

/// Ends every sign-in of a customer inside the transaction of
/// `CustomerAccountClosed`: a closed account's refresh tokens refresh nothing.
pub struct EndSignIns {
    pub customer_id: CustomerId,
}

#[async_trait::async_trait]
impl AppendHook for EndSignIns {
    async fn within(&self, tx: &mut PgConnection, _: &Executed) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM refresh_tokens WHERE customer_id = $1")
            .bind(self.customer_id.as_uuid())
            .execute(tx)
            .await?;
        Ok(())
    }
}

/// Forgets a guest inside the transaction of `OrderGuestDataErased`: the data
/// key of the order, under which the guest's checkout and order are sealed.
pub struct ForgetGuest {
    pub order_id: domain::shared::OrderId,
}

#[async_trait::async_trait]
impl AppendHook for ForgetGuest {
    async fn within(&self, tx: &mut PgConnection, _: &Executed) -> Result<(), sqlx::Error> {
        erase_key(tx, self.order_id.as_uuid()).await
    }
}

async fn erase_key(tx: &mut PgConnection, subject: uuid::Uuid) -> Result<(), sqlx::Error> {
    match eventlog::personal::installed() {
        Some(keys) => keys.erase(&mut *tx, subject).await.map_err(|e| match e {
            eventlog::personal::PersonalDataError::Database(e) => e,
            other => sqlx::Error::Protocol(other.to_string()),
        }),
        None => Err(sqlx::Error::Protocol(
            "no personal data key is installed: nothing can be erased".into(),
        )),
    }
}

/// Forgets a customer inside the transaction of `CustomerErased`: the data key
/// (so every sealed field of theirs reads as erased), the claim of their address,
/// their password hash and their sign-ins.
pub struct Forget {
    pub customer_id: CustomerId,
}

#[async_trait::async_trait]
impl AppendHook for Forget {
    async fn within(&self, tx: &mut PgConnection, _: &Executed) -> Result<(), sqlx::Error> {
        let id = self.customer_id.as_uuid();
        for statement in [
            "DELETE FROM customer_emails WHERE customer_id = $1",
            "DELETE FROM customer_credentials WHERE customer_id = $1",
            "DELETE FROM refresh_tokens WHERE customer_id = $1",
        ] {
            sqlx::query(statement).bind(id).execute(&mut *tx).await?;
        }
        erase_key(tx, id).await
    }
}
