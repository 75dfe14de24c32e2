//! Personal data sealed with a key per data subject: crypto-shredding.
//!
//! Events are never rewritten, so personal data cannot be erased from the log by
//! deleting it. Instead every personal field ([`domain::personal`]) is written
//! sealed (XChaCha20-Poly1305) under a data key of its subject (a customer, or a
//! guest's order), and the data keys live outside the log, in
//! `personal_data_keys`, each wrapped by the master key from configuration.
//! Erasing a subject destroys its data key: what was sealed under it can no longer
//! be read anywhere (the log, exports, replays, rebuilt read models), and reads as
//! [`domain::personal::erased_value`]. The hash chain covers the sealed text, so it
//! still verifies.
//!
//! A sealed value is a string, `$sealed:1:<subject>:<base64url(nonce ‖ ciphertext)>`,
//! so the JSON keeps its shape. The associated data binds it to its subject and
//! its path: a sealed value copied to another field or another subject does not
//! open.
//!
//! The keys are installed once per process ([`install`]): the write path seals
//! and the log's readers unseal with them, so no reader has to know. Unwrapped
//! data keys are cached for [`CACHE_FRESH_FOR`]; an erasure in this process is
//! seen at once, one in another process within that time.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use domain::personal::{erased_value, personal_fields, PersonalFields};
use hmac::{Hmac, Mac};
use lru::LruCache;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use crate::RecordedEvent;

const PREFIX: &str = "$sealed:1:";
const NONCE: usize = 24;
/// How long an unwrapped key (or the knowledge that it was erased) is trusted.
pub const CACHE_FRESH_FOR: Duration = Duration::from_secs(30);
const CACHE_ENTRIES: usize = 100_000;

/// A subject's data key; `None`: erased (or it never had one).
type DataKey = Option<Arc<XChaCha20Poly1305>>;
/// The keys one reading needs, by subject.
type KeysOf = std::collections::HashMap<Uuid, DataKey>;

#[derive(Debug, thiserror::Error)]
pub enum PersonalDataError {
    #[error("PERSONAL_DATA_KEY must be 32 bytes in base64 (openssl rand -base64 32)")]
    BadMasterKey,
    #[error("personal data cannot be written: no personal data key is installed in this process")]
    NotInstalled,
    #[error("the personal data of {0} was erased: nothing more of it can be recorded")]
    Erased(Uuid),
    #[error(
        "the data key of {0} does not open with this PERSONAL_DATA_KEY (another key, or altered)"
    )]
    Unwrap(Uuid),
    #[error(
        "a sealed value of {subject} at {path} does not open: altered, or moved from elsewhere"
    )]
    Tampered { subject: Uuid, path: String },
    #[error("the personal data subject of {event_type} is not a UUID: {found:?}")]
    Subject { event_type: String, found: String },
    #[error("cannot read the payload of {event_type}: {source}")]
    Payload {
        event_type: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// The master key, and the data keys unwrapped so far.
pub struct DataKeys {
    master: XChaCha20Poly1305,
    /// Keys the e-mail index ([`Self::email_index`]); derived from the master key.
    index_key: [u8; 32],
    cache: Mutex<LruCache<Uuid, (DataKey, Instant)>>,
}

static INSTALLED: OnceLock<Arc<DataKeys>> = OnceLock::new();

/// Installs the keys of this process from `master_key_base64` (32 bytes). The
/// first installation stays: a process has one master key.
pub fn install(master_key_base64: &str) -> Result<Arc<DataKeys>, PersonalDataError> {
    let keys = DataKeys::new(master_key_base64)?;
    Ok(INSTALLED.get_or_init(|| Arc::new(keys)).clone())
}

/// The keys installed in this process, if any.
pub fn installed() -> Option<&'static Arc<DataKeys>> {
    INSTALLED.get()
}

impl DataKeys {
    pub fn new(master_key_base64: &str) -> Result<Self, PersonalDataError> {
        let bytes = STANDARD
            .decode(master_key_base64.trim())
            .map_err(|_| PersonalDataError::BadMasterKey)?;
        let master = XChaCha20Poly1305::new_from_slice(&bytes)
            .map_err(|_| PersonalDataError::BadMasterKey)?;
        let index_key = Sha256::new()
            .chain_update(b"commerce personal data: e-mail index\0")
            .chain_update(&bytes)
            .finalize()
            .into();
        Ok(DataKeys {
            master,
            index_key,
            cache: Mutex::new(LruCache::new(
                NonZeroUsize::new(CACHE_ENTRIES).unwrap_or(NonZeroUsize::MIN),
            )),
        })
    }

    /// `secret` sealed under the master key for `owner` (a webhook's signing
    /// secret, say): a secret the server must use again, kept unreadable in
    /// the database and its dumps.
    pub fn seal_secret(&self, owner: Uuid, secret: &[u8]) -> Result<Vec<u8>, PersonalDataError> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = self
            .master
            .encrypt(
                &nonce,
                Payload {
                    msg: secret,
                    aad: owner.as_bytes(),
                },
            )
            .map_err(|_| PersonalDataError::Unwrap(owner))?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(bytes)
    }

    /// A secret [`seal_secret`](Self::seal_secret) sealed for `owner`.
    pub fn open_secret(&self, owner: Uuid, sealed: &[u8]) -> Result<Vec<u8>, PersonalDataError> {
        let (nonce, sealed) = sealed
            .split_at_checked(NONCE)
            .ok_or(PersonalDataError::Unwrap(owner))?;
        self.master
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: owner.as_bytes(),
                },
            )
            .map_err(|_| PersonalDataError::Unwrap(owner))
    }

    /// The keyed hash an e-mail address is found by without being stored:
    /// HMAC-SHA256 of the address in lower case.
    pub fn email_index(&self, email: &str) -> [u8; 32] {
        self.keyed_digest(b"", &[email.to_lowercase().as_bytes()])
    }

    /// HMAC-SHA256 of `parts`, one after the other, for `purpose` under a key
    /// derived from the master key: a digest of something that may hold
    /// personal data (a request body) that, unlike a plain hash, nobody can test
    /// guesses against.
    pub fn keyed_digest(&self, purpose: &[u8], parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.index_key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(purpose);
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    fn cached(&self, subject: Uuid) -> Option<DataKey> {
        let mut cache = self.cache.lock().ok()?;
        match cache.get(&subject) {
            Some((key, at)) if at.elapsed() < CACHE_FRESH_FOR => Some(key.clone()),
            _ => None,
        }
    }

    fn remember(&self, subject: Uuid, key: DataKey) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.put(subject, (key, Instant::now()));
        }
    }

    fn unwrap_key(
        &self,
        subject: Uuid,
        wrapped: &[u8],
    ) -> Result<XChaCha20Poly1305, PersonalDataError> {
        let (nonce, sealed) = wrapped
            .split_at_checked(NONCE)
            .ok_or(PersonalDataError::Unwrap(subject))?;
        let key = self
            .master
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: subject.as_bytes(),
                },
            )
            .map_err(|_| PersonalDataError::Unwrap(subject))?;
        XChaCha20Poly1305::new_from_slice(&key).map_err(|_| PersonalDataError::Unwrap(subject))
    }

    /// The data key to seal `subject`'s data with, made on first use. Refused
    /// once the subject is erased.
    pub async fn for_sealing(
        &self,
        pool: &PgPool,
        subject: Uuid,
    ) -> Result<Arc<XChaCha20Poly1305>, PersonalDataError> {
        match self.cached(subject) {
            Some(Some(key)) => return Ok(key),
            Some(None) => return Err(PersonalDataError::Erased(subject)),
            None => {}
        }
        let fresh = XChaCha20Poly1305::generate_key(&mut OsRng);
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let wrapped = self
            .master
            .encrypt(
                &nonce,
                Payload {
                    msg: fresh.as_slice(),
                    aad: subject.as_bytes(),
                },
            )
            .map_err(|_| PersonalDataError::Unwrap(subject))?;
        let mut row = nonce.to_vec();
        row.extend_from_slice(&wrapped);
        // Two writers racing for a new subject keep the first key; both read it.
        let made: Option<Option<Vec<u8>>> = sqlx::query_scalar(
            "INSERT INTO personal_data_keys (subject, wrapped_key) VALUES ($1, $2)
             ON CONFLICT (subject) DO NOTHING
             RETURNING wrapped_key",
        )
        .bind(subject)
        .bind(&row)
        .fetch_optional(pool)
        .await?;
        // Another writer made it first (or it was erased): read theirs, in a
        // statement of its own, whose snapshot sees their commit.
        let stored: Option<Vec<u8>> = match made {
            Some(made) => made,
            None => {
                sqlx::query_scalar("SELECT wrapped_key FROM personal_data_keys WHERE subject = $1")
                    .bind(subject)
                    .fetch_optional(pool)
                    .await?
                    .flatten()
            }
        };
        let Some(stored) = stored else {
            self.remember(subject, None);
            return Err(PersonalDataError::Erased(subject));
        };
        let key = Arc::new(self.unwrap_key(subject, &stored)?);
        self.remember(subject, Some(key.clone()));
        Ok(key)
    }

    /// The keys of `subjects` (`None`: erased), those not cached fetched in one
    /// query.
    async fn load<'e>(
        &self,
        executor: impl PgExecutor<'e>,
        subjects: &[Uuid],
    ) -> Result<KeysOf, PersonalDataError> {
        let mut found = KeysOf::with_capacity(subjects.len());
        let mut missing = Vec::new();
        for subject in subjects {
            match self.cached(*subject) {
                Some(key) => {
                    found.insert(*subject, key);
                }
                None => missing.push(*subject),
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let rows: Vec<(Uuid, Option<Vec<u8>>)> = sqlx::query_as(
            "SELECT subject, wrapped_key FROM personal_data_keys WHERE subject = ANY($1)",
        )
        .bind(&missing)
        .fetch_all(executor)
        .await?;
        for subject in missing {
            let wrapped = rows
                .iter()
                .find(|(s, _)| *s == subject)
                .and_then(|(_, w)| w.as_deref());
            // No key row: nothing sealed under it can be opened; as erased.
            let key = match wrapped {
                Some(wrapped) => Some(Arc::new(self.unwrap_key(subject, wrapped)?)),
                None => None,
            };
            self.remember(subject, key.clone());
            found.insert(subject, key);
        }
        Ok(found)
    }

    /// Destroys `subject`'s data key: everything sealed under it is unreadable
    /// from now on. Runs in the caller's transaction, beside the event that
    /// records the erasure.
    pub async fn erase<'e>(
        &self,
        executor: impl PgExecutor<'e>,
        subject: Uuid,
    ) -> Result<(), PersonalDataError> {
        sqlx::query(
            "INSERT INTO personal_data_keys (subject, wrapped_key, erased_at)
             VALUES ($1, NULL, now())
             ON CONFLICT (subject) DO UPDATE SET wrapped_key = NULL,
                 erased_at = coalesce(personal_data_keys.erased_at, now())",
        )
        .bind(subject)
        .execute(executor)
        .await?;
        self.remember(subject, None);
        Ok(())
    }

    /// Forgets a cached key: after a transaction that erased it did not commit.
    pub fn forget(&self, subject: Uuid) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.pop(&subject);
        }
    }
}

fn aad(subject: Uuid, path: &[&str]) -> String {
    format!("{subject}/{}", path.join("/"))
}

/// The event's own fields: the object inside its tag (`{"OrderPlaced": {...}}`).
fn fields_of(payload: &mut Value) -> Option<&mut Map<String, Value>> {
    match payload {
        Value::Object(outer) if outer.len() == 1 => match outer.values_mut().next() {
            Some(Value::Object(fields)) => Some(fields),
            _ => None,
        },
        _ => None,
    }
}

fn at_path<'v>(fields: &'v mut Map<String, Value>, path: &[&str]) -> Option<&'v mut Value> {
    let (first, rest) = path.split_first()?;
    let mut value = fields.get_mut(*first)?;
    for key in rest {
        value = value.get_mut(*key)?;
    }
    Some(value)
}

fn subject_of(
    fields: &mut Map<String, Value>,
    personal: &PersonalFields,
    aggregate_id: &str,
) -> Result<Uuid, PersonalDataError> {
    let found = personal
        .subject
        .iter()
        .find_map(|key| fields.get(*key).and_then(Value::as_str))
        .unwrap_or(aggregate_id);
    Uuid::parse_str(found).map_err(|_| PersonalDataError::Subject {
        event_type: personal.event_type.to_owned(),
        found: found.to_owned(),
    })
}

/// `payload` (today's JSON of `event_type`) with its personal fields sealed, or
/// unchanged for an event type that has none.
pub async fn seal_payload(
    pool: &PgPool,
    event_type: &str,
    aggregate_id: &str,
    payload: String,
) -> Result<String, PersonalDataError> {
    let Some(personal) = personal_fields(event_type) else {
        return Ok(payload);
    };
    let keys = installed().ok_or(PersonalDataError::NotInstalled)?;
    let bad = |source| PersonalDataError::Payload {
        event_type: event_type.to_owned(),
        source,
    };
    let mut value: Value = serde_json::from_str(&payload).map_err(bad)?;
    let Some(fields) = fields_of(&mut value) else {
        return Ok(payload);
    };
    let subject = subject_of(fields, personal, aggregate_id)?;
    let key = match keys.for_sealing(pool, subject).await {
        Ok(key) => key,
        // Nothing more of an erased subject is recorded: their fields are
        // written as they would read now (an order placed from a checkout made
        // just before the erasure, say), and no command stalls on them.
        Err(PersonalDataError::Erased(_)) => {
            for path in personal.paths {
                if let Some(Value::String(plain)) = at_path(fields, path) {
                    *plain = erased_value(path).to_owned();
                }
            }
            return serde_json::to_string(&value).map_err(bad);
        }
        Err(other) => return Err(other),
    };
    for path in personal.paths {
        if let Some(Value::String(plain)) = at_path(fields, path) {
            let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
            let aad = aad(subject, path);
            let sealed = key
                .encrypt(
                    &nonce,
                    Payload {
                        msg: plain.as_bytes(),
                        aad: aad.as_bytes(),
                    },
                )
                .map_err(|_| PersonalDataError::Tampered {
                    subject,
                    path: path.join("/"),
                })?;
            let mut bytes = nonce.to_vec();
            bytes.extend_from_slice(&sealed);
            *plain = format!("{PREFIX}{subject}:{}", URL_SAFE_NO_PAD.encode(bytes));
        }
    }
    serde_json::to_string(&value).map_err(bad)
}

/// A sealed value's subject and sealed bytes.
fn parse_sealed(text: &str) -> Option<(Uuid, Vec<u8>)> {
    let rest = text.strip_prefix(PREFIX)?;
    let (subject, sealed) = rest.split_once(':')?;
    Some((
        Uuid::parse_str(subject).ok()?,
        URL_SAFE_NO_PAD.decode(sealed).ok()?,
    ))
}

/// Opens the sealed personal fields of `events` in place: with the subject's
/// key, or as erased values once it is gone. Without installed keys, or for
/// events with nothing sealed, nothing changes.
pub async fn unseal<'e>(
    executor: impl PgExecutor<'e>,
    events: &mut [RecordedEvent],
) -> Result<(), PersonalDataError> {
    unseal_payloads(
        executor,
        events
            .iter_mut()
            .map(|e| (e.event_type.as_str(), &mut e.payload)),
    )
    .await
}

/// [`unseal`] for events read with their hashes (the audit API, exports). The
/// hash beside an opened payload is the stored one: it covers the sealed text.
pub async fn unseal_hashed<'e>(
    executor: impl PgExecutor<'e>,
    events: &mut [crate::integrity::HashedEvent],
) -> Result<(), PersonalDataError> {
    unseal_payloads(
        executor,
        events
            .iter_mut()
            .map(|h| (h.event.event_type.as_str(), &mut h.event.payload)),
    )
    .await
}

/// [`unseal`] for payloads read without the rest of their event: `(event_type,
/// payload)` pairs.
pub async fn unseal_payloads<'a, 'e>(
    executor: impl PgExecutor<'e>,
    payloads: impl Iterator<Item = (&'a str, &'a mut String)>,
) -> Result<(), PersonalDataError> {
    let Some(keys) = installed() else {
        return Ok(());
    };
    let mut parsed = Vec::new();
    let mut subjects = Vec::new();
    for (event_type, payload) in payloads {
        let Some(personal) = personal_fields(event_type) else {
            continue;
        };
        if !payload.contains(PREFIX) {
            continue;
        }
        let value: Value =
            serde_json::from_str(payload).map_err(|source| PersonalDataError::Payload {
                event_type: event_type.to_owned(),
                source,
            })?;
        let mut value = value;
        if let Some(fields) = fields_of(&mut value) {
            for path in personal.paths {
                if let Some(Value::String(text)) = at_path(fields, path) {
                    subjects.extend(parse_sealed(text).map(|(subject, _)| subject));
                }
            }
        }
        parsed.push((personal, payload, value));
    }
    if parsed.is_empty() {
        return Ok(());
    }
    subjects.sort_unstable();
    subjects.dedup();
    let opened_with = keys.load(executor, &subjects).await?;
    for (personal, payload, mut value) in parsed {
        if let Some(fields) = fields_of(&mut value) {
            for path in personal.paths {
                if let Some(Value::String(text)) = at_path(fields, path) {
                    if let Some(opened) = open(&opened_with, text, path)? {
                        *text = opened;
                    }
                }
            }
        }
        *payload = value.to_string();
    }
    Ok(())
}

/// The plaintext of `text` if it is sealed (or the erased value); `None` for
/// plaintext written before sealing existed.
fn open(keys: &KeysOf, text: &str, path: &[&str]) -> Result<Option<String>, PersonalDataError> {
    let Some((subject, bytes)) = parse_sealed(text) else {
        return Ok(None);
    };
    let tampered = || PersonalDataError::Tampered {
        subject,
        path: path.join("/"),
    };
    let key = match keys.get(&subject) {
        Some(Some(key)) => key,
        Some(None) => return Ok(Some(erased_value(path).to_owned())),
        // Every subject of the reading was loaded; one missing was not sealed.
        None => return Err(tampered()),
    };
    let (nonce, sealed) = bytes.split_at_checked(NONCE).ok_or_else(tampered)?;
    let aad = aad(subject, path);
    let plain = key
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| tampered())?;
    String::from_utf8(plain).map(Some).map_err(|_| tampered())
}
