//! Money: integer minor units and an ISO 4217 currency. No floats anywhere, and no
//! arithmetic or comparison across currencies: those are errors, never a silent mix.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

/// An ISO 4217 alphabetic code: three upper-case ASCII letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    pub fn new(code: &str) -> Result<Self, MoneyError> {
        match code.as_bytes() {
            [a, b, c] if [a, b, c].iter().all(|x| x.is_ascii_uppercase()) => {
                Ok(Currency([*a, *b, *c]))
            }
            _ => Err(MoneyError::InvalidCurrency(code.to_owned())),
        }
    }

    pub fn code(&self) -> &str {
        // Only ASCII upper-case letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl TryFrom<String> for Currency {
    type Error = MoneyError;

    fn try_from(code: String) -> Result<Self, Self::Error> {
        Currency::new(&code)
    }
}

impl From<Currency> for String {
    fn from(currency: Currency) -> Self {
        currency.code().to_owned()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An amount in minor units (cents for EUR) of one currency. May be negative
/// (a difference); aggregates decide where only non-negative amounts make sense.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Money {
    amount: i64,
    currency: Currency,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("cannot combine {left} with {right}: different currencies")]
    CurrencyMismatch { left: Currency, right: Currency },
    #[error("amount out of range")]
    Overflow,
    #[error("{0:?} is not an ISO 4217 currency code (three upper-case letters)")]
    InvalidCurrency(String),
}

impl Money {
    pub const fn new(amount: i64, currency: Currency) -> Self {
        Money { amount, currency }
    }

    pub const fn zero(currency: Currency) -> Self {
        Money {
            amount: 0,
            currency,
        }
    }

    /// Minor units.
    pub const fn amount(&self) -> i64 {
        self.amount
    }

    pub const fn currency(&self) -> Currency {
        self.currency
    }

    pub const fn is_negative(&self) -> bool {
        self.amount < 0
    }

    pub const fn is_zero(&self) -> bool {
        self.amount == 0
    }

    fn same_currency(&self, other: &Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            })
        }
    }

    pub fn checked_add(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount = self
            .amount
            .checked_add(other.amount)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    pub fn checked_sub(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount = self
            .amount
            .checked_sub(other.amount)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    /// The amount times a count (a unit price times a quantity).
    pub fn checked_mul(&self, times: u32) -> Result<Money, MoneyError> {
        let amount = self
            .amount
            .checked_mul(i64::from(times))
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    /// Compares amounts of one currency; refuses to compare across currencies.
    pub fn try_cmp(&self, other: &Money) -> Result<Ordering, MoneyError> {
        self.same_currency(other)?;
        Ok(self.amount.cmp(&other.amount))
    }

    /// The sum of `amounts`, all in `currency`.
    pub fn sum<'a>(
        currency: Currency,
        amounts: impl IntoIterator<Item = &'a Money>,
    ) -> Result<Money, MoneyError> {
        amounts
            .into_iter()
            .try_fold(Money::zero(currency), |total, m| total.checked_add(m))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn eur() -> Currency {
        Currency::new("EUR").unwrap()
    }

    #[test]
    fn serializes_as_amount_and_currency() {
        let money = Money::new(1999, eur());
        let json = serde_json::to_value(money).unwrap();
        assert_eq!(
            json,
            serde_json::json!({ "amount": 1999, "currency": "EUR" })
        );
        assert_eq!(serde_json::from_value::<Money>(json).unwrap(), money);
    }

    #[test]
    fn refuses_invalid_currency_codes_even_when_deserializing() {
        for code in ["", "EU", "EURO", "eur", "E1R", "ÉUR"] {
            assert!(Currency::new(code).is_err(), "{code}");
        }
        let bad = serde_json::json!({ "amount": 1, "currency": "eur" });
        assert!(serde_json::from_value::<Money>(bad).is_err());
    }

    #[test]
    fn refuses_to_add_or_compare_different_currencies() {
        let usd = Currency::new("USD").unwrap();
        let (a, b) = (Money::new(1, eur()), Money::new(1, usd));
        assert_eq!(
            a.checked_add(&b),
            Err(MoneyError::CurrencyMismatch {
                left: eur(),
                right: usd
            })
        );
        assert!(a.try_cmp(&b).is_err());
        assert!(a.checked_sub(&b).is_err());
    }

    #[test]
    fn refuses_unknown_fields() {
        let extra = serde_json::json!({ "amount": 1, "currency": "EUR", "cents": 5 });
        assert!(serde_json::from_value::<Money>(extra).is_err());
    }

    #[test]
    fn reports_overflow_instead_of_wrapping() {
        let max = Money::new(i64::MAX, eur());
        assert_eq!(
            max.checked_add(&Money::new(1, eur())),
            Err(MoneyError::Overflow)
        );
        assert_eq!(max.checked_mul(2), Err(MoneyError::Overflow));
    }

    fn currency() -> impl Strategy<Value = Currency> {
        "[A-Z]{3}".prop_map(|code| Currency::new(&code).unwrap())
    }

    proptest! {
        #[test]
        fn money_never_mixes_currencies(a in any::<i32>(), b in any::<i32>(), x in currency(), y in currency()) {
            let (left, right) = (Money::new(a.into(), x), Money::new(b.into(), y));
            let sum = left.checked_add(&right);
            if x == y {
                prop_assert_eq!(sum, Ok(Money::new(i64::from(a) + i64::from(b), x)));
            } else {
                let mismatched = matches!(sum, Err(MoneyError::CurrencyMismatch { .. }));
                prop_assert!(mismatched);
                prop_assert!(left.try_cmp(&right).is_err());
            }
        }

        #[test]
        fn sum_equals_the_sum_of_amounts(amounts in proptest::collection::vec(-1_000_000i64..1_000_000, 0..50)) {
            let moneys: Vec<Money> = amounts.iter().map(|a| Money::new(*a, eur())).collect();
            prop_assert_eq!(Money::sum(eur(), &moneys).unwrap().amount(), amounts.iter().sum::<i64>());
        }
    }
}
