//! What the payment may remember of a card: the brand and the last four digits,
//! as the gateway reports them after an authorization. Never a card number: the
//! brand may hold no digits at all and `last4` exactly four, so no part of a number
//! longer than the usual receipt excerpt can be stored through this type.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardSummaryError {
    #[error("a card brand must be a short word: 1 to 24 ASCII letters, spaces, '-' or '_', starting with a letter")]
    InvalidBrand,
    #[error("last4 must be exactly four ASCII digits")]
    InvalidLast4,
}

/// A card's brand (`visa`, `mastercard`, `American Express`) and last four digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "CardSummaryFields", into = "CardSummaryFields")]
pub struct CardSummary(CardSummaryFields);

/// The fields of a [`CardSummary`] as they are sent and stored.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardSummaryFields {
    pub brand: String,
    pub last4: String,
}

impl CardSummary {
    pub const MAX_BRAND_LEN: usize = 24;

    pub fn new(
        brand: impl Into<String>,
        last4: impl Into<String>,
    ) -> Result<Self, CardSummaryError> {
        let (brand, last4) = (brand.into(), last4.into());
        let brand_is_a_word = brand.len() <= Self::MAX_BRAND_LEN
            && brand.starts_with(|c: char| c.is_ascii_alphabetic())
            && brand
                .bytes()
                .all(|b| b.is_ascii_alphabetic() || matches!(b, b' ' | b'-' | b'_'));
        if !brand_is_a_word {
            return Err(CardSummaryError::InvalidBrand);
        }
        if last4.len() != 4 || !last4.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CardSummaryError::InvalidLast4);
        }
        Ok(CardSummary(CardSummaryFields { brand, last4 }))
    }

    pub fn brand(&self) -> &str {
        &self.0.brand
    }

    pub fn last4(&self) -> &str {
        &self.0.last4
    }
}

impl TryFrom<CardSummaryFields> for CardSummary {
    type Error = CardSummaryError;

    fn try_from(fields: CardSummaryFields) -> Result<Self, Self::Error> {
        CardSummary::new(fields.brand, fields.last4)
    }
}

impl From<CardSummary> for CardSummaryFields {
    fn from(card: CardSummary) -> Self {
        card.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_brands_and_last_four_digits_as_gateways_report_them() {
        for brand in ["visa", "mastercard", "American Express", "cartes_bancaires"] {
            let card = CardSummary::new(brand, "4242").unwrap();
            assert_eq!((card.brand(), card.last4()), (brand, "4242"));
        }
    }

    #[test]
    fn refuses_last4_that_is_not_exactly_four_digits() {
        for last4 in ["", "424", "42424", "424a", "４２４２", "4242424242424242"] {
            assert_eq!(
                CardSummary::new("visa", last4),
                Err(CardSummaryError::InvalidLast4),
                "{last4}"
            );
        }
    }

    #[test]
    fn refuses_brands_that_are_not_a_short_word() {
        for brand in [
            "",
            "4242424242424242",
            "visa 4242",
            "-visa",
            "a".repeat(25).as_str(),
            "vísa",
        ] {
            assert_eq!(
                CardSummary::new(brand, "4242"),
                Err(CardSummaryError::InvalidBrand),
                "{brand}"
            );
        }
    }

    #[test]
    fn validates_when_deserialized_and_serializes_as_brand_and_last4() {
        let card = CardSummary::new("visa", "4242").unwrap();
        let json = serde_json::to_value(&card).unwrap();
        assert_eq!(
            json,
            serde_json::json!({ "brand": "visa", "last4": "4242" })
        );
        assert_eq!(serde_json::from_value::<CardSummary>(json).unwrap(), card);
        for bad in [
            serde_json::json!({ "brand": "visa", "last4": "4242424242424242" }),
            serde_json::json!({ "brand": "visa", "last4": "4242", "number": "4242424242424242" }),
        ] {
            assert!(serde_json::from_value::<CardSummary>(bad).is_err());
        }
    }
}
