//! Passwords, hashed with argon2id at OWASP's parameters (19 MiB, 2 passes, 1
//! lane), each with its own salt. Hashing runs on the blocking pool: it takes tens
//! of milliseconds of CPU on purpose.
//!
//! A sign-in for an address nobody has is checked against a fixed hash of the
//! same cost, so an unknown address and a wrong password take the same work and
//! get the same answer: nobody learns which addresses have accounts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand_core::OsRng;

use super::AccountError;

/// Passwords are 12 to 128 characters (NIST SP 800-63B: length, not rules).
pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Every argon2 computation of this process, hashing or verifying: the tests
/// compare the work of two sign-ins by it, not by the clock.
static COMPUTED: AtomicU64 = AtomicU64::new(0);

pub fn hashes_computed() -> u64 {
    COMPUTED.load(Ordering::Relaxed)
}

/// Argon2 computations at once: each takes 19 MiB and a core, so a flood of
/// sign-ins queues here instead of taking the memory and every core.
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

fn argon2() -> Argon2<'static> {
    // argon2's defaults are OWASP's recommendation: argon2id, m = 19456 KiB,
    // t = 2, p = 1.
    Argon2::default()
}

/// Whether `password` is acceptable; the reason when not.
pub fn check(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        return Err(format!(
            "a password has {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"
        ));
    }
    if password.chars().any(char::is_control) {
        return Err("a password has no control characters".into());
    }
    Ok(())
}

/// The PHC string of `password` under a fresh salt.
pub async fn hash(password: String) -> Result<String, AccountError> {
    let _turn = HASHING
        .acquire()
        .await
        .map_err(|e| AccountError::Hashing(e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        COMPUTED.fetch_add(1, Ordering::Relaxed);
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AccountError::Hashing(e.to_string()))
    })
    .await
    .map_err(|e| AccountError::Hashing(e.to_string()))?
}

/// A hash of nothing anyone knows, at the same cost, for sign-ins of unknown
/// addresses.
fn decoy() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        let mut secret = [0u8; 32];
        rand_core::RngCore::fill_bytes(&mut OsRng, &mut secret);
        argon2()
            .hash_password(&secret, &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// Whether `password` matches `stored` (a PHC string); with `None`, the work of
/// a check against the decoy, and `false`.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, AccountError> {
    let _turn = HASHING
        .acquire()
        .await
        .map_err(|e| AccountError::Hashing(e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| decoy().to_owned());
        COMPUTED.fetch_add(1, Ordering::Relaxed);
        let Ok(parsed) = PasswordHash::new(&stored) else {
            return Ok(false);
        };
        let matches = argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(known && matches)
    })
    .await
    .map_err(|e| AccountError::Hashing(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_password_verifies_against_its_own_hash_only_and_the_hash_is_argon2id() {
        let stored = hash("correct horse battery".into()).await.unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(verify("correct horse battery".into(), Some(stored.clone()))
            .await
            .unwrap());
        assert!(!verify("wrong horse battery".into(), Some(stored))
            .await
            .unwrap());
        assert!(!verify("correct horse battery".into(), None).await.unwrap());
    }

    #[test]
    fn passwords_are_twelve_to_128_characters_without_control_characters() {
        assert!(check("short").is_err());
        assert!(check(&"x".repeat(129)).is_err());
        assert!(check("twelve chars").is_ok());
        assert!(check("with a\nnewline!").is_err());
    }
}
