//! `POST /webhooks/payments`: the payment gateway's asynchronous results (a 3-D
//! Secure payment confirmed or refused). A delivery is taken only when its
//! signature holds (`Payment-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
//! "<t>.<raw body>">` under `PAYMENT_WEBHOOK_SECRET`), its timestamp is at most
//! five minutes old, and its event id was never taken before; otherwise nothing
//! changes.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use commands::{AppendHook, Executed};
use domain::payment::{CardSummary, GatewayReference, PaymentCommand};
use domain::shared::{Money, PaymentId};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use sqlx::PgConnection;
use uuid::Uuid;

use super::commands::{Call, CommandContext};
use crate::error::ApiError;
use crate::secret::Secret;
use crate::state::AppState;

/// How old a delivery may be.
pub const TOLERANCE_SECONDS: i64 = 300;

/// One gateway event.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type")]
pub enum WebhookEvent {
    #[serde(rename = "payment.authorized")]
    Authorized {
        id: String,
        payment_id: Uuid,
        #[schema(value_type = String)]
        gateway_reference: GatewayReference,
        #[schema(value_type = crate::openapi::MoneySchema)]
        amount: Money,
        #[serde(default)]
        #[schema(value_type = Option<Object>)]
        card: Option<CardSummary>,
    },
    #[serde(rename = "payment.declined")]
    Declined {
        id: String,
        payment_id: Uuid,
        reason_code: String,
        message: String,
    },
    #[serde(rename = "payment.failed")]
    Failed {
        id: String,
        payment_id: Uuid,
        reason: String,
    },
}

impl WebhookEvent {
    fn id(&self) -> &str {
        match self {
            WebhookEvent::Authorized { id, .. }
            | WebhookEvent::Declined { id, .. }
            | WebhookEvent::Failed { id, .. } => id,
        }
    }

    fn into_command(self) -> (PaymentId, PaymentCommand) {
        match self {
            WebhookEvent::Authorized {
                payment_id,
                gateway_reference,
                amount,
                card,
                ..
            } => (
                PaymentId::new(payment_id),
                PaymentCommand::RecordAuthorization {
                    gateway_reference,
                    amount,
                    card,
                },
            ),
            WebhookEvent::Declined {
                payment_id,
                reason_code,
                message,
                ..
            } => (
                PaymentId::new(payment_id),
                PaymentCommand::RecordDecline {
                    reason_code,
                    message,
                },
            ),
            WebhookEvent::Failed {
                payment_id, reason, ..
            } => (
                PaymentId::new(payment_id),
                PaymentCommand::RecordFailure { reason },
            ),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Received {
    pub received: bool,
    pub payment_id: Uuid,
    pub version: u64,
}

/// Checks `Payment-Signature` over `body` at time `now` (unix seconds).
pub fn verify(
    secret: &Secret,
    header: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), ApiError> {
    let bad = |detail: &str| ApiError::Unauthorized(format!("webhook refused: {detail}"));
    let header = header.ok_or_else(|| bad("no Payment-Signature header"))?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => signatures.push(v.to_owned()),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or_else(|| bad("the signature has no valid t="))?;
    if (now - timestamp).abs() > TOLERANCE_SECONDS {
        return Err(bad("the signature's timestamp is more than 5 minutes away"));
    }
    let valid = signatures.iter().any(|signature| {
        let Ok(expected) = hex::decode(signature) else {
            return false;
        };
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret.expose().as_bytes()) else {
            return false;
        };
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.verify_slice(&expected).is_ok()
    });
    if valid {
        Ok(())
    } else {
        Err(bad("the signature does not match"))
    }
}

/// Signs `body` as the gateway does: the header value for `Payment-Signature`.
pub fn sign(secret: &Secret, body: &[u8], timestamp: i64) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.expose().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// Records the event id with the events it caused.
struct TakeEvent<'a>(&'a str);

#[async_trait::async_trait]
impl AppendHook for TakeEvent<'_> {
    async fn within(&self, tx: &mut PgConnection, _: &Executed) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO webhook_events (event_id) VALUES ($1)")
            .bind(self.0)
            .execute(tx)
            .await?;
        Ok(())
    }
}

#[utoipa::path(post, path = "/webhooks/payments", tag = "webhooks",
    request_body = WebhookEvent,
    params(("Payment-Signature" = String, Header, description = "t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<raw body>\">")),
    responses((status = 200, body = Received)))]
pub async fn payments(
    State(state): State<AppState>,
    context: CommandContext,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let secret = state
        .settings
        .webhook_secret
        .as_ref()
        .ok_or_else(|| ApiError::Unavailable("payment webhooks are not configured".into()))?;
    let signature = headers
        .get("payment-signature")
        .and_then(|v| v.to_str().ok());
    verify(secret, signature, &body, chrono::Utc::now().timestamp())?;
    let event: WebhookEvent = crate::extract::parse(&body)?;
    let event_id = event.id().to_owned();
    if event_id.is_empty() || event_id.len() > 255 {
        return Err(ApiError::bad_request(
            "invalid_body",
            "id must be 1 to 255 characters",
        ));
    }
    let replayed = || ApiError::Conflict {
        code: "webhook_replayed",
        detail: format!("webhook event {event_id} was already taken"),
    };
    let taken: Option<i32> = sqlx::query_scalar("SELECT 1 FROM webhook_events WHERE event_id = $1")
        .bind(&event_id)
        .fetch_optional(&state.pool)
        .await?;
    if taken.is_some() {
        return Err(replayed());
    }
    let (payment_id, command) = event.into_command();
    let context = CommandContext {
        if_match: None,
        claim: None,
        ..context
    };
    let hook = TakeEvent(&event_id);
    let executed = Call::<domain::payment::Payment>::new(payment_id, "gateway-webhook", command)
        .with_hook(&hook)
        .run(&state, &context)
        .await?;
    if executed.appended == 0 {
        // A fact already recorded (the synchronous answer won the race): take the
        // id all the same, so a later replay is refused.
        let inserted =
            sqlx::query("INSERT INTO webhook_events (event_id) VALUES ($1) ON CONFLICT DO NOTHING")
                .bind(&event_id)
                .execute(&state.pool)
                .await?;
        if inserted.rows_affected() == 0 {
            return Err(replayed());
        }
    }
    Ok((
        StatusCode::OK,
        axum::Json(Received {
            received: true,
            payment_id: payment_id.as_uuid(),
            version: executed.version,
        }),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_holds_for_its_body_and_time_only() {
        let secret = Secret::new("whsec_test".into());
        let body = br#"{"type":"payment.failed"}"#;
        let header = sign(&secret, body, 1_000_000);
        assert!(verify(&secret, Some(&header), body, 1_000_100).is_ok());
        assert!(
            verify(&secret, Some(&header), b"{}", 1_000_100).is_err(),
            "other body"
        );
        assert!(
            verify(&secret, Some(&header), body, 1_000_301).is_err(),
            "stale"
        );
        let other = Secret::new("whsec_other".into());
        assert!(
            verify(&other, Some(&header), body, 1_000_100).is_err(),
            "other secret"
        );
        assert!(verify(&secret, None, body, 1_000_100).is_err());
        assert!(verify(&secret, Some("t=1000000,v1=zz"), body, 1_000_100).is_err());
    }
}
