//! `Idempotency-Key` on commands: the same key with the same request (method,
//! path, body) answers the first answer again, marked `Idempotent-Replayed: true`,
//! and appends nothing; the same key with another request is refused (422); a key
//! whose first request is still running answers 409; 5xx answers are forgotten so
//! the client can retry. Records live in PostgreSQL for 24 hours.
//!
//! What makes it exact: a command's answer is written into its record inside the
//! transaction that appends the command's events ([`Completion`], an append hook),
//! so there is no moment where the events exist and the record does not know it.
//! A claim whose request died before appending stays "running" for [`LEASE`], then
//! may be taken over by a retry: nothing was appended under it.

use std::sync::Arc;

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use commands::{AppendHook, Executed};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};

use crate::auth::subject_of;
use crate::error::ApiError;
use crate::extract::BODY_LIMIT;

pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
pub const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");
/// A running claim older than this is taken to have died with its request.
pub const LEASE_SECONDS: i32 = 60;
/// Answers larger than this are not kept (command answers are a few hundred bytes).
const ANSWER_LIMIT: usize = 256 * 1024;

/// The record a request holds while it runs.
#[derive(Debug, Clone)]
pub struct Claim {
    pub scope: String,
    pub key: String,
}

impl Claim {
    /// A UUID that stands for this key and scope: the idempotency key of calls the
    /// request makes elsewhere (a payment gateway).
    pub fn uuid(&self) -> uuid::Uuid {
        let digest = Sha256::new()
            .chain_update(self.scope.as_bytes())
            .chain_update([0])
            .chain_update(self.key.as_bytes())
            .finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        uuid::Builder::from_custom_bytes(bytes).into_uuid()
    }
}

/// The middleware, on every command route.
pub async fn idempotency(State(pool): State<PgPool>, request: Request, next: Next) -> Response {
    match run(pool, request, next).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn run(pool: PgPool, request: Request, next: Next) -> Result<Response, ApiError> {
    let Some(key) = request.headers().get(&IDEMPOTENCY_KEY) else {
        return Ok(next.run(request).await);
    };
    let key = valid_key(key)?;
    // A caller with no identity (no token, no cart token: opening a guest cart) has
    // nothing to tie a key to; answering it a replay could hand one guest another's
    // cart and cart token. Such a request runs as if it had no key.
    let Some(scope) = scope_of(&request) else {
        return Ok(next.run(request).await);
    };
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, BODY_LIMIT)
        .await
        .map_err(|_| ApiError::PayloadTooLarge { limit: BODY_LIMIT })?;
    let fingerprint = fingerprint(&parts.method, &parts.uri, &body);
    let claim = Claim { scope, key };

    match claim_or_find(&pool, &claim, &fingerprint)
        .await
        .map_err(ApiError::internal)?
    {
        Found::Claimed => {}
        Found::Other => return Err(ApiError::Refused {
            code: "idempotency_key_reused",
            detail:
                "this Idempotency-Key was used for another request; use a new key for a new request"
                    .into(),
        }),
        Found::Running => {
            return Err(ApiError::Conflict {
                code: "idempotency_key_in_use",
                detail:
                    "the first request with this Idempotency-Key is still running; retry shortly"
                        .into(),
            })
        }
        Found::Answered(answer) => return Ok(answer.replay()),
    }

    let mut request = Request::from_parts(parts, Body::from(body));
    request.extensions_mut().insert(claim.clone());
    let response = next.run(request).await;

    let (response, outcome) = if response.status().is_server_error() {
        let outcome = forget(&pool, &claim).await;
        (response, outcome)
    } else {
        let (parts, body) = response.into_parts();
        let body = to_bytes(body, ANSWER_LIMIT).await.unwrap_or_default();
        let answer = Answer::of(parts.status, &parts.headers, body.clone());
        let outcome = match pool.acquire().await {
            Ok(mut conn) => remember(&mut conn, &claim, &answer).await,
            Err(error) => Err(error),
        };
        (Response::from_parts(parts, Body::from(body)), outcome)
    };
    if let Err(error) = outcome {
        // The answer stands: a command's answer was already recorded with its
        // events; anything else is retried once the claim's lease runs out.
        tracing::warn!(%error, "failed to record an idempotent answer");
    }
    Ok(response)
}

fn valid_key(value: &HeaderValue) -> Result<String, ApiError> {
    let key = value.to_str().unwrap_or_default();
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::bad_request(
            "invalid_idempotency_key",
            "Idempotency-Key must be 1 to 255 printable ASCII characters",
        ));
    }
    Ok(key.to_owned())
}

/// Whose key it is: two callers choosing the same key never meet. `None` for a
/// caller with no identity.
fn scope_of(request: &Request) -> Option<String> {
    if let Some(subject) = subject_of(request) {
        return Some(format!("sub:{subject}"));
    }
    request
        .headers()
        .get("x-cart-token")
        .map(|token| format!("cart:{}", hex::encode(Sha256::digest(token.as_bytes()))))
}

/// The request as the record remembers it. Keyed with the personal data key
/// where one is installed: a body may hold an address or an e-mail address, and a
/// plain hash of it could be matched against guesses.
fn fingerprint(method: &axum::http::Method, uri: &axum::http::Uri, body: &[u8]) -> Vec<u8> {
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let parts: [&[u8]; 5] = [
        method.as_str().as_bytes(),
        &[0],
        path.as_bytes(),
        &[0],
        body,
    ];
    match eventlog::personal::installed() {
        Some(keys) => keys
            .keyed_digest(b"idempotency fingerprint\0", &parts)
            .to_vec(),
        None => parts
            .iter()
            .fold(Sha256::new(), |hash, part| hash.chain_update(part))
            .finalize()
            .to_vec(),
    }
}

/// fingerprint, response status, headers and body.
type StoredRecord = (
    Vec<u8>,
    Option<i16>,
    Option<serde_json::Value>,
    Option<Vec<u8>>,
);

enum Found {
    Claimed,
    Other,
    Running,
    Answered(Answer),
}

/// Claims the key, or finds what holds it. An expired record, or a running one
/// past its lease for the same request, is taken over.
async fn claim_or_find(
    pool: &PgPool,
    claim: &Claim,
    fingerprint: &[u8],
) -> Result<Found, sqlx::Error> {
    for _ in 0..3 {
        let claimed: Option<i32> = sqlx::query_scalar(
            "INSERT INTO idempotency_records (scope, idempotency_key, fingerprint)
             VALUES ($1, $2, $3)
             ON CONFLICT (scope, idempotency_key) DO UPDATE
                SET fingerprint = EXCLUDED.fingerprint, created_at = now(),
                    expires_at = now() + interval '24 hours', completed_at = NULL,
                    response_status = NULL, response_headers = NULL, response_body = NULL
              WHERE idempotency_records.expires_at < now()
                 OR (idempotency_records.response_status IS NULL
                     AND idempotency_records.fingerprint = EXCLUDED.fingerprint
                     AND idempotency_records.created_at < now() - make_interval(secs => $4))
             RETURNING 1",
        )
        .bind(&claim.scope)
        .bind(&claim.key)
        .bind(fingerprint)
        .bind(f64::from(LEASE_SECONDS))
        .fetch_optional(pool)
        .await?;
        if claimed.is_some() {
            return Ok(Found::Claimed);
        }
        let existing: Option<StoredRecord> = sqlx::query_as(
            "SELECT fingerprint, response_status, response_headers, response_body
                   FROM idempotency_records WHERE scope = $1 AND idempotency_key = $2",
        )
        .bind(&claim.scope)
        .bind(&claim.key)
        .fetch_optional(pool)
        .await?;
        // Gone in between (a 5xx forgotten): claim again.
        let Some((stored, status, headers, body)) = existing else {
            continue;
        };
        if stored != fingerprint {
            return Ok(Found::Other);
        }
        return Ok(match status {
            None => Found::Running,
            Some(status) => Found::Answered(Answer {
                status: StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK),
                headers: headers.unwrap_or_default(),
                body: Bytes::from(body.unwrap_or_default()),
            }),
        });
    }
    Ok(Found::Running)
}

/// A remembered answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    /// The headers worth replaying, as a JSON object.
    pub headers: serde_json::Value,
    pub body: Bytes,
}

impl Answer {
    const KEPT_HEADERS: [HeaderName; 2] = [header::CONTENT_TYPE, header::LOCATION];

    pub fn of(status: StatusCode, headers: &HeaderMap, body: Bytes) -> Self {
        let mut kept = serde_json::Map::new();
        for name in Self::KEPT_HEADERS {
            if let Some(value) = headers.get(&name).and_then(|v| v.to_str().ok()) {
                kept.insert(name.as_str().to_owned(), value.into());
            }
        }
        Answer {
            status,
            headers: serde_json::Value::Object(kept),
            body,
        }
    }

    fn replay(self) -> Response {
        let mut response = (self.status, self.body).into_response();
        if let serde_json::Value::Object(headers) = self.headers {
            for (name, value) in headers {
                let name = HeaderName::from_bytes(name.as_bytes());
                let value = value.as_str().map(HeaderValue::from_str);
                if let (Ok(name), Some(Ok(value))) = (name, value) {
                    response.headers_mut().insert(name, value);
                }
            }
        }
        response
            .headers_mut()
            .insert(REPLAYED, HeaderValue::from_static("true"));
        response
    }
}

async fn remember(
    conn: &mut PgConnection,
    claim: &Claim,
    answer: &Answer,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE idempotency_records
            SET response_status = $3, response_headers = $4, response_body = $5, completed_at = now()
          WHERE scope = $1 AND idempotency_key = $2 AND response_status IS NULL",
    )
    .bind(&claim.scope)
    .bind(&claim.key)
    .bind(answer.status.as_u16() as i16)
    .bind(&answer.headers)
    .bind(answer.body.as_ref())
    .execute(conn)
    .await?;
    Ok(())
}

async fn forget(pool: &PgPool, claim: &Claim) -> Result<(), sqlx::Error> {
    sqlx::query(
        "DELETE FROM idempotency_records
          WHERE scope = $1 AND idempotency_key = $2 AND response_status IS NULL",
    )
    .bind(&claim.scope)
    .bind(&claim.key)
    .execute(pool)
    .await?;
    Ok(())
}

/// Writes a command's answer into its claim inside the append's transaction.
pub struct Completion {
    pub claim: Claim,
    pub answer: Arc<dyn Fn(&Executed) -> Answer + Send + Sync>,
}

#[async_trait::async_trait]
impl AppendHook for Completion {
    async fn within(&self, tx: &mut PgConnection, executed: &Executed) -> Result<(), sqlx::Error> {
        remember(tx, &self.claim, &(self.answer)(executed)).await
    }
}

/// Drops expired records now and then.
pub async fn sweep_expired(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let result = sqlx::query("DELETE FROM idempotency_records WHERE expires_at < now()")
        .execute(pool)
        .await?;
    Ok(result.rows_affected())
}
