//! Why a shipping method command is refused; each `code` is stable (HTTP 422).

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShippingMethodError {
    #[error("this shipping method does not exist; define it first")]
    NotFound,
    #[error("this shipping method exists already")]
    AlreadyExists,
    #[error("invalid shipping method: {reason}")]
    Invalid { reason: String },
    #[error("the shipping method is retired, which is final; define another")]
    Retired,
}

impl ShippingMethodError {
    pub fn code(&self) -> &'static str {
        match self {
            ShippingMethodError::NotFound => "not_found",
            ShippingMethodError::AlreadyExists => "already_exists",
            ShippingMethodError::Invalid { .. } => "invalid_shipping_method",
            ShippingMethodError::Retired => "shipping_method_retired",
        }
    }
}
