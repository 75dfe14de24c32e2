//! A position in the reader's order, and PostgreSQL's `xid8` for sqlx.

use std::fmt;

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueFormat, PgValueRef};
use sqlx::{Decode, Encode, Postgres, Type};

/// A full 64-bit transaction id (`xid8`): epoch and xid, never wrapping around.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct TransactionId(pub u64);

impl Type<Postgres> for TransactionId {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_name("xid8")
    }
}

impl Encode<'_, Postgres> for TransactionId {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        buf.extend(&self.0.to_be_bytes());
        Ok(IsNull::No)
    }
}

impl<'r> Decode<'r, Postgres> for TransactionId {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        match value.format() {
            PgValueFormat::Binary => {
                let bytes: [u8; 8] = value.as_bytes()?.try_into()?;
                Ok(TransactionId(u64::from_be_bytes(bytes)))
            }
            PgValueFormat::Text => Ok(TransactionId(value.as_str()?.parse()?)),
        }
    }
}

impl fmt::Display for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a reader stands: the last event it has taken, in reader order.
/// `Checkpoint::START` stands before the first event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Checkpoint {
    pub transaction_id: TransactionId,
    pub global_position: i64,
}

impl Checkpoint {
    pub const START: Checkpoint = Checkpoint {
        transaction_id: TransactionId(0),
        global_position: 0,
    };

    pub fn new(transaction_id: u64, global_position: i64) -> Self {
        Checkpoint {
            transaction_id: TransactionId(transaction_id),
            global_position,
        }
    }
}

/// Written as `<transaction_id>:<global_position>`, the consistency token clients see.
impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.transaction_id, self.global_position)
    }
}

impl std::str::FromStr for Checkpoint {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid =
            || format!("invalid checkpoint {s:?}: expected <transaction_id>:<global_position>");
        let (transaction_id, position) = s.split_once(':').ok_or_else(invalid)?;
        let transaction_id = transaction_id.parse().map_err(|_| invalid())?;
        let global_position: i64 = position.parse().map_err(|_| invalid())?;
        if global_position < 0 {
            return Err(invalid());
        }
        Ok(Checkpoint::new(transaction_id, global_position))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_transaction_before_position() {
        assert!(Checkpoint::new(5, 100) < Checkpoint::new(6, 1));
        assert!(Checkpoint::new(5, 1) < Checkpoint::new(5, 2));
    }

    #[test]
    fn round_trips_through_its_text_form() {
        let checkpoint = Checkpoint::new(78_153, 42);
        assert_eq!(checkpoint.to_string(), "78153:42");
        assert_eq!("78153:42".parse::<Checkpoint>(), Ok(checkpoint));
    }

    #[test]
    fn refuses_malformed_text() {
        for text in ["", "1", "a:1", "1:b", "1:-2", "1:2:3"] {
            assert!(text.parse::<Checkpoint>().is_err(), "{text} parsed");
        }
    }
}
