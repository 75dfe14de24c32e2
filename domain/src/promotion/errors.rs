//! Why a promotion command is refused; each `code` is stable (HTTP 422).

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PromotionError {
    #[error("this promotion does not exist; create it first")]
    NotFound,
    #[error("this promotion exists already")]
    AlreadyExists,
    #[error("invalid promotion: {reason}")]
    Invalid { reason: String },
    #[error("a promotion's coupon code is fixed when it is created; create another promotion for another code")]
    CodeIsFixed,
    #[error("the promotion has ended, which is final")]
    Ended,
    #[error("the promotion is not paused")]
    NotPaused,
    #[error("the promotion is paused")]
    Paused,
    #[error("the promotion is not valid at {at}")]
    OutsideWindow { at: DateTime<Utc> },
    #[error("the promotion has been used {limit} times, its limit")]
    UsageLimitReached { limit: u32 },
    #[error("this customer has used the promotion {limit} times, the limit per customer")]
    CustomerLimitReached { limit: u32 },
}

impl PromotionError {
    pub fn code(&self) -> &'static str {
        match self {
            PromotionError::NotFound => "not_found",
            PromotionError::AlreadyExists => "already_exists",
            PromotionError::Invalid { .. } => "invalid_promotion",
            PromotionError::CodeIsFixed => "coupon_code_is_fixed",
            PromotionError::Ended => "promotion_ended",
            PromotionError::NotPaused => "promotion_not_paused",
            PromotionError::Paused => "promotion_paused",
            PromotionError::OutsideWindow { .. } => "promotion_not_valid_now",
            PromotionError::UsageLimitReached { .. } => "usage_limit_reached",
            PromotionError::CustomerLimitReached { .. } => "customer_limit_reached",
        }
    }

    /// Whether the refusal means the promotion has no use left (for a coupon:
    /// `coupon_exhausted`).
    pub fn is_exhausted(&self) -> bool {
        matches!(
            self,
            PromotionError::UsageLimitReached { .. } | PromotionError::CustomerLimitReached { .. }
        )
    }
}
