//! Bearer JWTs of two kinds. The service's own (HS256 with `JWT_SECRET`), minted
//! by sign-in and `commerce token`, carry the issuer [`OWN_ISSUER`] and the
//! audience [`OWN_AUDIENCE`]. An outside OpenID Connect issuer's (RS256, with its
//! public key or its JWKS) are accepted only when `iss` and `aud` are the
//! configured ones: a key alone would let in every token that issuer signs, for
//! any application.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{
    decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Principal, Role};
use crate::secret::Secret;

/// The `iss` of the tokens this service mints.
pub const OWN_ISSUER: &str = "commerce";
/// The `aud` of the tokens this service mints.
pub const OWN_AUDIENCE: &str = "commerce-api";

/// What a token carries. `exp` is required: a token that never expires is refused.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    /// Required in the service's own tokens; ignored in an outside issuer's,
    /// whose tokens are customers'.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// One audience or several (OpenID Connect allows both).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<serde_json::Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the bearer token has expired")]
    Expired,
    #[error("the bearer token is not valid: {0}")]
    Invalid(String),
    #[error("tokens can only be minted with an HS256 secret (JWT_SECRET)")]
    CannotMint,
    #[error("the JWT key is not usable: {0}")]
    BadKey(String),
}

/// An outside issuer: its keys, and the `iss` and `aud` its tokens must carry.
pub struct ExternalIssuer {
    /// With the `kid` each was published under (`None` for a lone PEM key).
    keys: Vec<(Option<String>, DecodingKey)>,
    validation: Validation,
    issuer: String,
}

impl ExternalIssuer {
    /// The issuer's RSA public key in PEM.
    pub fn from_pem(pem: &str, issuer: &str, audience: &str) -> Result<Self, TokenError> {
        let key = DecodingKey::from_rsa_pem(pem.as_bytes())
            .map_err(|e| TokenError::BadKey(format!("not an RSA public key in PEM: {e}")))?;
        Ok(Self::with_keys(vec![(None, key)], issuer, audience))
    }

    /// The issuer's JSON Web Key Set (its `jwks_uri` document, saved to a file).
    pub fn from_jwks(jwks: &str, issuer: &str, audience: &str) -> Result<Self, TokenError> {
        let set: JwkSet = serde_json::from_str(jwks)
            .map_err(|e| TokenError::BadKey(format!("not a JWK set: {e}")))?;
        let mut keys = Vec::with_capacity(set.keys.len());
        for jwk in &set.keys {
            let key = DecodingKey::from_jwk(jwk)
                .map_err(|e| TokenError::BadKey(format!("a key of the JWK set: {e}")))?;
            keys.push((jwk.common.key_id.clone(), key));
        }
        if keys.is_empty() {
            return Err(TokenError::BadKey("the JWK set holds no key".into()));
        }
        Ok(Self::with_keys(keys, issuer, audience))
    }

    fn with_keys(keys: Vec<(Option<String>, DecodingKey)>, issuer: &str, audience: &str) -> Self {
        ExternalIssuer {
            keys,
            validation: validation(Algorithm::RS256, issuer, audience),
            issuer: issuer.to_owned(),
        }
    }

    fn key(&self, kid: Option<&str>) -> Result<&DecodingKey, TokenError> {
        let found = match kid {
            Some(kid) => self
                .keys
                .iter()
                .find(|(id, _)| id.as_deref() == Some(kid))
                .or_else(|| self.keys.iter().find(|(id, _)| id.is_none())),
            None if self.keys.len() == 1 => self.keys.first(),
            None => None,
        };
        found.map(|(_, key)| key).ok_or_else(|| {
            TokenError::Invalid("signed with a key the issuer does not publish".into())
        })
    }
}

pub struct Authenticator {
    /// The service's own tokens: verified and minted with `JWT_SECRET`.
    own: Option<(DecodingKey, EncodingKey)>,
    own_validation: Validation,
    external: Option<ExternalIssuer>,
}

impl Authenticator {
    /// The service's own tokens (HS256 with a shared secret): verifies, and mints
    /// for sign-in and `commerce token`.
    pub fn hs256(secret: &Secret) -> Self {
        let bytes = secret.expose().as_bytes();
        Authenticator {
            own: Some((
                DecodingKey::from_secret(bytes),
                EncodingKey::from_secret(bytes),
            )),
            own_validation: validation(Algorithm::HS256, OWN_ISSUER, OWN_AUDIENCE),
            external: None,
        }
    }

    /// Only an outside issuer's tokens: nothing is minted here.
    pub fn external(issuer: ExternalIssuer) -> Self {
        Authenticator {
            own: None,
            own_validation: validation(Algorithm::HS256, OWN_ISSUER, OWN_AUDIENCE),
            external: Some(issuer),
        }
    }

    /// Also accepts `issuer`'s tokens.
    pub fn and_external(mut self, issuer: ExternalIssuer) -> Self {
        self.external = Some(issuer);
        self
    }

    pub fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        let header = decode_header(token).map_err(|e| TokenError::Invalid(e.to_string()))?;
        let (claims, external) = match (header.alg, &self.own, &self.external) {
            (Algorithm::HS256, Some((key, _)), _) => {
                (claims_of(token, key, &self.own_validation)?, None)
            }
            (Algorithm::RS256, _, Some(issuer)) => {
                let key = issuer.key(header.kid.as_deref())?;
                (claims_of(token, key, &issuer.validation)?, Some(issuer))
            }
            (alg, _, _) => {
                return Err(TokenError::Invalid(format!(
                    "tokens signed with {alg:?} are not accepted here"
                )))
            }
        };
        let subject = claims.sub;
        if subject.is_empty() || subject.len() > 200 || subject.chars().any(char::is_control) {
            return Err(TokenError::Invalid(
                "the subject must be 1 to 200 printable characters".into(),
            ));
        }
        match (claims.role, external) {
            (Some(role), None) => Ok(Principal { subject, role }),
            (None, None) => Err(TokenError::Invalid("the token names no role".into())),
            // An outside issuer vouches for customers only: its `role` claim, if
            // any, may come from metadata its users edit, so it grants nothing.
            // Its subjects are its own (`auth0|…`); a customer is known here by
            // a UUID, the same for that issuer and subject every time.
            (_, Some(issuer)) => Ok(Principal {
                subject: external_customer_id(&issuer.issuer, &subject).to_string(),
                role: Role::Customer,
            }),
        }
    }

    /// Who an outside issuer's token says its customer is: the customer id here,
    /// the issuer, and the `email` and `name` claims (OpenID Connect's standard
    /// claims), for a first sign-in that opens their account.
    pub fn external_profile(&self, token: &str) -> Result<ExternalProfile, TokenError> {
        let issuer = self
            .external
            .as_ref()
            .ok_or_else(|| TokenError::Invalid("no outside issuer is configured".into()))?;
        let header = decode_header(token).map_err(|e| TokenError::Invalid(e.to_string()))?;
        if header.alg != Algorithm::RS256 {
            return Err(TokenError::Invalid("not an outside issuer's token".into()));
        }
        let key = issuer.key(header.kid.as_deref())?;
        let data = decode::<ProfileClaims>(token, key, &issuer.validation).map_err(|e| match e
            .kind()
        {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
            _ => TokenError::Invalid(e.to_string()),
        })?;
        let claims = data.claims;
        Ok(ExternalProfile {
            customer_id: external_customer_id(&issuer.issuer, &claims.sub),
            issuer: issuer.issuer.clone(),
            email: claims.email,
            email_verified: claims.email_verified.unwrap_or(false),
            name: claims.name,
        })
    }

    /// A signed token for `subject` in `role`, valid for `ttl_seconds`.
    pub fn mint(&self, subject: &str, role: Role, ttl_seconds: i64) -> Result<String, TokenError> {
        let (_, key) = self.own.as_ref().ok_or(TokenError::CannotMint)?;
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: subject.to_owned(),
            role: Some(role),
            exp: now.saturating_add(ttl_seconds),
            iat: Some(now),
            iss: Some(OWN_ISSUER.to_owned()),
            aud: Some(OWN_AUDIENCE.into()),
        };
        encode(&Header::new(Algorithm::HS256), &claims, key)
            .map_err(|e| TokenError::Invalid(e.to_string()))
    }
}

/// The standard claims of an OpenID Connect ID token that open an account.
#[derive(Debug, Deserialize)]
struct ProfileClaims {
    sub: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<bool>,
    #[serde(default)]
    name: Option<String>,
}

/// What an outside issuer says of its customer.
#[derive(Debug, Clone)]
pub struct ExternalProfile {
    pub customer_id: Uuid,
    pub issuer: String,
    pub email: Option<String>,
    /// The issuer checked the address (`email_verified`).
    pub email_verified: bool,
    pub name: Option<String>,
}

/// The customer id of `subject` at `issuer`: a name-based UUID (v5), so it needs
/// no table to stay the same across sign-ins and instances.
pub fn external_customer_id(issuer: &str, subject: &str) -> Uuid {
    /// Chosen once for this service; never change it, or every external
    /// customer gets a new id.
    const NAMESPACE: Uuid = Uuid::from_u128(0x6f1c_2a54_93d8_4b0e_a6f7_5c1d_2e3f_4a5b);
    Uuid::new_v5(&NAMESPACE, format!("{issuer}\n{subject}").as_bytes())
}

fn claims_of(
    token: &str,
    key: &DecodingKey,
    validation: &Validation,
) -> Result<Claims, TokenError> {
    decode::<Claims>(token, key, validation)
        .map(|data| data.claims)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
            jsonwebtoken::errors::ErrorKind::InvalidAudience => {
                TokenError::Invalid("the token is for another audience".into())
            }
            jsonwebtoken::errors::ErrorKind::InvalidIssuer => {
                TokenError::Invalid("the token is from another issuer".into())
            }
            _ => TokenError::Invalid(e.to_string()),
        })
}

fn validation(algorithm: Algorithm, issuer: &str, audience: &str) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.leeway = 30;
    validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
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
        let claims = serde_json::json!({"sub": "u", "role": "root", "iss": OWN_ISSUER,
            "aud": OWN_AUDIENCE, "exp": chrono::Utc::now().timestamp() + 60});
        let key = EncodingKey::from_secret(b"test-secret-of-enough-length-000");
        let token = encode(&Header::new(Algorithm::HS256), &claims, &key).unwrap();
        assert!(matches!(auth.verify(&token), Err(TokenError::Invalid(_))));
    }

    const PRIVATE_PEM: &str = include_str!("../../tests/fixtures/oidc-test-private.pem");
    const PUBLIC_PEM: &str = include_str!("../../tests/fixtures/oidc-test-public.pem");
    const JWKS: &str = include_str!("../../tests/fixtures/oidc-test-jwks.json");
    const ISSUER: &str = "https://id.example.com/";
    const AUDIENCE: &str = "commerce-storefront";

    /// A token as the outside issuer signs it.
    fn signed_by_issuer(claims: serde_json::Value, kid: Option<&str>) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = kid.map(str::to_owned);
        let key = EncodingKey::from_rsa_pem(PRIVATE_PEM.as_bytes()).unwrap();
        encode(&header, &claims, &key).unwrap()
    }

    fn outside_claims(iss: &str, aud: serde_json::Value) -> serde_json::Value {
        serde_json::json!({"sub": "auth0|42", "iss": iss, "aud": aud,
            "exp": chrono::Utc::now().timestamp() + 60})
    }

    fn with_issuer() -> Authenticator {
        authenticator()
            .and_external(ExternalIssuer::from_pem(PUBLIC_PEM, ISSUER, AUDIENCE).unwrap())
    }

    #[test]
    fn an_outside_issuer_s_token_for_this_audience_is_a_customer_with_a_stable_uuid() {
        let auth = with_issuer();
        let token = signed_by_issuer(outside_claims(ISSUER, AUDIENCE.into()), None);
        let principal = auth.verify(&token).unwrap();
        assert_eq!(principal.role, Role::Customer);
        assert_eq!(
            principal.subject,
            external_customer_id(ISSUER, "auth0|42").to_string()
        );
        let several = signed_by_issuer(
            outside_claims(ISSUER, serde_json::json!(["other-app", AUDIENCE])),
            None,
        );
        assert_eq!(auth.verify(&several).unwrap(), principal);
    }

    #[test]
    fn an_outside_token_claiming_a_role_is_still_only_a_customer() {
        let mut claims = outside_claims(ISSUER, AUDIENCE.into());
        claims["role"] = "admin".into();
        let principal = with_issuer()
            .verify(&signed_by_issuer(claims, None))
            .unwrap();
        assert_eq!(principal.role, Role::Customer);
    }

    #[test]
    fn refuses_an_outside_token_for_another_audience_or_from_another_issuer() {
        let auth = with_issuer();
        for claims in [
            outside_claims(ISSUER, "another-app".into()),
            outside_claims("https://evil.example.com/", AUDIENCE.into()),
            serde_json::json!({"sub": "auth0|42", "iss": ISSUER,
                "exp": chrono::Utc::now().timestamp() + 60}),
            serde_json::json!({"sub": "auth0|42", "aud": AUDIENCE,
                "exp": chrono::Utc::now().timestamp() + 60}),
        ] {
            let token = signed_by_issuer(claims.clone(), None);
            assert!(
                matches!(auth.verify(&token), Err(TokenError::Invalid(_))),
                "accepted {claims}"
            );
        }
    }

    #[test]
    fn refuses_rs256_tokens_when_no_outside_issuer_is_configured_and_own_tokens_without_audience() {
        let token = signed_by_issuer(outside_claims(ISSUER, AUDIENCE.into()), None);
        assert!(authenticator().verify(&token).is_err());
        let claims = serde_json::json!({"sub": "u", "role": "admin", "iss": OWN_ISSUER,
            "exp": chrono::Utc::now().timestamp() + 60});
        let key = EncodingKey::from_secret(b"test-secret-of-enough-length-000");
        let unaddressed = encode(&Header::new(Algorithm::HS256), &claims, &key).unwrap();
        assert!(authenticator().verify(&unaddressed).is_err());
    }

    #[test]
    fn a_jwk_set_picks_the_key_a_token_names() {
        let auth =
            Authenticator::external(ExternalIssuer::from_jwks(JWKS, ISSUER, AUDIENCE).unwrap());
        let named = signed_by_issuer(outside_claims(ISSUER, AUDIENCE.into()), Some("test-key-1"));
        assert_eq!(auth.verify(&named).unwrap().role, Role::Customer);
        let unknown = signed_by_issuer(
            outside_claims(ISSUER, AUDIENCE.into()),
            Some("rotated-away"),
        );
        assert!(auth.verify(&unknown).is_err());
        assert!(matches!(
            auth.mint("u", Role::Admin, 60),
            Err(TokenError::CannotMint)
        ));
    }
}
