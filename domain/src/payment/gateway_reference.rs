//! The payment gateway's name for one of its transactions (an authorization, a
//! capture, a void, a refund). It is how a report delivered twice is recognised, so
//! it is validated once here and compared exactly everywhere else.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayReferenceError {
    #[error("a gateway reference must be 1 to 200 printable ASCII characters without spaces")]
    Malformed,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GatewayReference(String);

impl GatewayReference {
    pub const MAX_LEN: usize = 200;

    pub fn new(value: impl Into<String>) -> Result<Self, GatewayReferenceError> {
        let value = value.into();
        if value.is_empty()
            || value.len() > Self::MAX_LEN
            || !value.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(GatewayReferenceError::Malformed);
        }
        Ok(GatewayReference(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for GatewayReference {
    type Error = GatewayReferenceError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        GatewayReference::new(value)
    }
}

impl From<GatewayReference> for String {
    fn from(reference: GatewayReference) -> Self {
        reference.0
    }
}

impl fmt::Display for GatewayReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_gateway_transaction_ids() {
        for ok in ["pi_3NvX2x", "ch_1", "8835511234567890", "re_1-2_3.4:5"] {
            assert!(GatewayReference::new(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_empty_long_spaced_or_unprintable_references_even_when_deserializing() {
        for bad in [
            String::new(),
            "x".repeat(201),
            "pi 1".into(),
            "pi_\u{e9}".into(),
        ] {
            assert_eq!(
                GatewayReference::new(bad.clone()),
                Err(GatewayReferenceError::Malformed)
            );
            assert!(serde_json::from_value::<GatewayReference>(bad.into()).is_err());
        }
    }
}
