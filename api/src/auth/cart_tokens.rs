//! Guest cart tokens: HMAC-SHA256 of the cart id under a server secret. Nothing is
//! stored, any API process can check one, and a token opens exactly one cart.
//! Rotating the secret closes every guest cart to its holder (sign-in still works).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use domain::shared::CartId;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::secret::Secret;

#[derive(Clone)]
pub struct CartTokens {
    key: Vec<u8>,
}

impl CartTokens {
    pub fn new(secret: &Secret) -> Self {
        CartTokens {
            key: secret.expose().as_bytes().to_vec(),
        }
    }

    fn mac(&self, cart_id: CartId) -> Hmac<Sha256> {
        // Any key length is accepted by HMAC.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(b"commerce cart token v1:");
        mac.update(cart_id.as_uuid().as_bytes());
        mac
    }

    pub fn issue(&self, cart_id: CartId) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(cart_id).finalize().into_bytes())
    }

    /// Constant-time check of `token` for `cart_id`.
    pub fn opens(&self, cart_id: CartId, token: &str) -> bool {
        match URL_SAFE_NO_PAD.decode(token.trim()) {
            Ok(bytes) => self.mac(cart_id).verify_slice(&bytes).is_ok(),
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    #[test]
    fn a_token_opens_its_own_cart_only() {
        let tokens = CartTokens::new(&Secret::new("s3cret".into()));
        let (a, b) = (
            CartId::new(Uuid::from_u128(1)),
            CartId::new(Uuid::from_u128(2)),
        );
        let token = tokens.issue(a);
        assert!(tokens.opens(a, &token));
        assert!(!tokens.opens(b, &token));
        assert!(!tokens.opens(a, "garbage"));
        assert!(!CartTokens::new(&Secret::new("other".into())).opens(a, &token));
    }
}
