//! Bearer JWTs: verified with HS256 and a shared secret, or RS256 and a public key;
//! minted (HS256 only) by `commerce token` for local use.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::{Principal, Role};
use crate::secret::Secret;

/// What a token carries. `exp` is required: a token that never expires is refused.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the bearer token has expired")]
    Expired,
    #[error("the bearer token is not valid: {0}")]
    Invalid(String),
    #[error("tokens can only be minted with an HS256 secret (JWT_SECRET)")]
    CannotMint,
    #[error("the JWT public key is not an RSA public key in PEM: {0}")]
    BadKey(String),
}

pub struct Authenticator {
    decoding: DecodingKey,
    validation: Validation,
    encoding: Option<EncodingKey>,
}

impl Authenticator {
    /// HS256 with a shared secret: verifies, and mints for `commerce token`.
    pub fn hs256(secret: &Secret) -> Self {
        let bytes = secret.expose().as_bytes();
        Authenticator {
            decoding: DecodingKey::from_secret(bytes),
            validation: validation(Algorithm::HS256),
            encoding: Some(EncodingKey::from_secret(bytes)),
        }
    }

    /// RS256 with an issuer's public key: verifies only.
    pub fn rs256(public_key_pem: &str) -> Result<Self, TokenError> {
        let decoding = DecodingKey::from_rsa_pem(public_key_pem.as_bytes())
            .map_err(|e| TokenError::BadKey(e.to_string()))?;
        Ok(Authenticator {
            decoding,
            validation: validation(Algorithm::RS256),
            encoding: None,
        })
    }

    pub fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        let data =
            decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| {
                match e.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                    _ => TokenError::Invalid(e.to_string()),
                }
            })?;
        let subject = data.claims.sub;
        if subject.is_empty() || subject.len() > 200 || subject.chars().any(char::is_control) {
            return Err(TokenError::Invalid(
                "the subject must be 1 to 200 printable characters".into(),
            ));
        }
        Ok(Principal {
            subject,
            role: data.claims.role,
        })
    }

    /// A signed token for `subject` in `role`, valid for `ttl_seconds`.
    pub fn mint(&self, subject: &str, role: Role, ttl_seconds: i64) -> Result<String, TokenError> {
        let key = self.encoding.as_ref().ok_or(TokenError::CannotMint)?;
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: subject.to_owned(),
            role,
            exp: now.saturating_add(ttl_seconds),
            iat: Some(now),
        };
        encode(&Header::new(Algorithm::HS256), &claims, key)
            .map_err(|e| TokenError::Invalid(e.to_string()))
    }
}

fn validation(algorithm: Algorithm) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.leeway = 30;
    validation.set_required_spec_claims(&["exp", "sub"]);
    validation
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authenticator() -> Authenticator {
        Authenticator::hs256(&Secret::new("test-secret-of-enough-length-000".into()))
    }

    #[test]
    fn verifies_what_it_minted() {
        let auth = authenticator();
        let token = auth.mint("user-1", Role::Customer, 60).unwrap();
        assert_eq!(
            auth.verify(&token).unwrap(),
            Principal {
                subject: "user-1".into(),
                role: Role::Customer
            }
        );
    }

    #[test]
    fn refuses_expired_tampered_and_foreign_tokens() {
        let auth = authenticator();
        let expired = auth.mint("user-1", Role::Admin, -3600).unwrap();
        assert!(matches!(auth.verify(&expired), Err(TokenError::Expired)));
        let other = Authenticator::hs256(&Secret::new("another-secret-of-enough-length".into()));
        let foreign = other.mint("user-1", Role::Admin, 60).unwrap();
        assert!(matches!(auth.verify(&foreign), Err(TokenError::Invalid(_))));
        let token = auth.mint("user-1", Role::Customer, 60).unwrap();
        let mut tampered = token.clone();
        tampered.insert(token.find('.').unwrap() + 2, 'x');
        assert!(auth.verify(&tampered).is_err());
        assert!(auth.verify("not-a-jwt").is_err());
    }

    #[test]
    fn refuses_unknown_roles() {
        let auth = authenticator();
        let claims = serde_json::json!({"sub": "u", "role": "root", "exp": chrono::Utc::now().timestamp() + 60});
        let key = EncodingKey::from_secret(b"test-secret-of-enough-length-000");
        let token = encode(&Header::new(Algorithm::HS256), &claims, &key).unwrap();
        assert!(matches!(auth.verify(&token), Err(TokenError::Invalid(_))));
    }
}
