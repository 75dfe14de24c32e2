//! The gateway's token for a payment method. The system stores no card numbers:
//! a client sends the token its payment gateway gave it, and this type refuses
//! anything that looks like a card number, so one cannot reach an event by mistake.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentTokenError {
    #[error("a payment method token must be 1 to 200 printable ASCII characters")]
    Malformed,
    #[error("this looks like a card number; send the payment gateway's token instead")]
    LooksLikeCardNumber,
}

#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PaymentMethodToken(String);

impl PaymentMethodToken {
    pub const MAX_LEN: usize = 200;

    pub fn new(value: impl Into<String>) -> Result<Self, PaymentTokenError> {
        let value = value.into();
        // 12 to 19 digits, possibly split by spaces or dashes, is a PAN's shape.
        let digits = value.bytes().filter(u8::is_ascii_digit).count();
        let only_digits_and_separators = value
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'-' || b == b' ');
        if only_digits_and_separators && (12..=19).contains(&digits) {
            return Err(PaymentTokenError::LooksLikeCardNumber);
        }
        if value.is_empty()
            || value.len() > Self::MAX_LEN
            || !value.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(PaymentTokenError::Malformed);
        }
        Ok(PaymentMethodToken(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Tokens are not secret like card numbers, but they do not belong in logs either.
impl fmt::Debug for PaymentMethodToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PaymentMethodToken(..)")
    }
}

impl TryFrom<String> for PaymentMethodToken {
    type Error = PaymentTokenError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        PaymentMethodToken::new(value)
    }
}

impl From<PaymentMethodToken> for String {
    fn from(token: PaymentMethodToken) -> Self {
        token.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_gateway_tokens() {
        for ok in ["tok_visa", "pm_1NvX2x", "tok_insufficient_funds"] {
            assert!(PaymentMethodToken::new(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_card_numbers_in_any_usual_spelling() {
        for pan in [
            "4242424242424242",
            "4242 4242 4242 4242",
            "4242-4242-4242-4242",
        ] {
            assert_eq!(
                PaymentMethodToken::new(pan),
                Err(PaymentTokenError::LooksLikeCardNumber)
            );
        }
    }

    #[test]
    fn refuses_empty_long_or_unprintable_tokens() {
        for bad in [
            String::new(),
            "x".repeat(201),
            "tok visa".into(),
            "tok_\u{e9}".into(),
        ] {
            assert_eq!(
                PaymentMethodToken::new(bad),
                Err(PaymentTokenError::Malformed)
            );
        }
    }

    #[test]
    fn never_prints_the_token_in_debug_output() {
        let token = PaymentMethodToken::new("tok_visa").unwrap();
        assert!(!format!("{token:?}").contains("visa"));
    }
}
