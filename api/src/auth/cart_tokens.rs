//! Guest cart tokens: HMAC-SHA256 of the cart id under a server secret. Nothing is
//! stored, any API process can check one, and a token opens exactly one cart.
//! E-mail verification tokens are signed the same way, for their own purpose.
//! Rotating the secret closes every guest cart to its holder (sign-in still works).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use domain::shared::{CartId, CustomerId};
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

    /// The MAC of `parts` for `purpose`: each kind of token its own, so that no
    /// token of one kind passes for another.
    fn mac_of(&self, purpose: &[u8], parts: &[&[u8]]) -> Hmac<Sha256> {
        // Any key length is accepted by HMAC.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(purpose);
        for part in parts {
            mac.update(part);
        }
        mac
    }

    fn mac(&self, cart_id: CartId) -> Hmac<Sha256> {
        self.mac_of(b"commerce cart token v1:", &[cart_id.as_uuid().as_bytes()])
    }

    /// A token that verifies the customer's address (`email_index`, its keyed
    /// hash) until `expires_at` (Unix seconds): sent to the address, shown by
    /// whoever received it.
    pub fn email_verification(
        &self,
        customer: CustomerId,
        email_index: &[u8; 32],
        expires_at: i64,
    ) -> String {
        let expiry = expires_at.to_be_bytes();
        let mac = self.mac_of(
            b"commerce e-mail verification v1:",
            &[customer.as_uuid().as_bytes(), email_index, &expiry],
        );
        let mut token = expiry.to_vec();
        token.extend_from_slice(&mac.finalize().into_bytes());
        URL_SAFE_NO_PAD.encode(token)
    }

    /// Whether `token` verifies `email_index` for `customer` at `now` (Unix
    /// seconds); constant-time in the MAC.
    pub fn verifies_email(
        &self,
        token: &str,
        customer: CustomerId,
        email_index: &[u8; 32],
        now: i64,
    ) -> bool {
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(token.trim()) else {
            return false;
        };
        let Some((expiry, mac)) = bytes.split_at_checked(8) else {
            return false;
        };
        let Ok(expiry_bytes) = <[u8; 8]>::try_from(expiry) else {
            return false;
        };
        i64::from_be_bytes(expiry_bytes) > now
            && self
                .mac_of(
                    b"commerce e-mail verification v1:",
                    &[customer.as_uuid().as_bytes(), email_index, expiry],
                )
                .verify_slice(mac)
                .is_ok()
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

    #[test]
    fn a_verification_token_verifies_its_customer_s_address_until_it_expires() {
        let tokens = CartTokens::new(&Secret::new("s3cret".into()));
        let customer = CustomerId::new(Uuid::from_u128(7));
        let (address, other) = ([1u8; 32], [2u8; 32]);
        let token = tokens.email_verification(customer, &address, 1_000);
        assert!(tokens.verifies_email(&token, customer, &address, 999));
        assert!(
            !tokens.verifies_email(&token, customer, &address, 1_000),
            "expired"
        );
        assert!(
            !tokens.verifies_email(&token, customer, &other, 999),
            "another address"
        );
        let someone = CustomerId::new(Uuid::from_u128(8));
        assert!(!tokens.verifies_email(&token, someone, &address, 999));
        assert!(!tokens.opens(CartId::new(Uuid::from_u128(7)), &token));
    }
}
