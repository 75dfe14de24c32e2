//! Why a customer command is refused; each `code` is stable (HTTP 422).

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CustomerError {
    #[error("there is no such customer")]
    NotFound,
    #[error("this customer is registered already")]
    AlreadyRegistered,
    #[error("the account is closed; only erasure is possible")]
    Closed,
    #[error("the customer was erased")]
    Erased,
    #[error("this verification is for an address the account no longer has")]
    EmailMismatch,
    #[error("the address book holds {max} addresses at most")]
    TooManyAddresses { max: usize },
    #[error("the address book has an address with this id already")]
    AddressExists,
    #[error("the address book has no such address")]
    UnknownAddress,
}

impl CustomerError {
    pub fn code(&self) -> &'static str {
        match self {
            CustomerError::NotFound => "not_found",
            CustomerError::AlreadyRegistered => "customer_registered",
            CustomerError::Closed => "account_closed",
            CustomerError::Erased => "customer_erased",
            CustomerError::EmailMismatch => "email_mismatch",
            CustomerError::TooManyAddresses { .. } => "too_many_addresses",
            CustomerError::AddressExists => "address_exists",
            CustomerError::UnknownAddress => "unknown_address",
        }
    }
}
