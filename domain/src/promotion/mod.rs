//! Promotions (aggregate type `Promotion`, id [`PromotionId`]): what a shop takes
//! off, for whom and when, and how often it may be used. The pricing engine
//! ([`crate::pricing`]) reads a promotion as a [`PromotionOffer`]; this aggregate
//! keeps its definition, its life and its uses.
//!
//! # Rules
//!
//! - A definition: a name (1 to 200 characters), an optional coupon code (unique
//!   across promotions without regard to case: the command side claims it in the
//!   transaction of `PromotionCreated`, and it never changes), conditions, one
//!   action, a stacking rule, a time window, and usage limits in total and per
//!   customer. Percentages are 1 to 10 000 basis points; amounts are positive and
//!   in one currency; buy-X-get-Y needs X and Y of at least 1; a window ends after
//!   it starts; a filter names at most 100 SKUs, categories or brands.
//! - Status: active until paused or ended; a paused one resumes; ending is final.
//! - **Uses**: a use is redeemed for an order when it is placed (the checkout),
//!   refused once the limits are reached, and given back when the order is
//!   cancelled. Redeeming for an order that holds a use already, or releasing one
//!   that holds none, records nothing: both are safe to retry. The limits are
//!   decided here, on one stream, so concurrent checkouts cannot exceed them.
//!
//! | from | command | to | event |
//! | --- | --- | --- | --- |
//! | (none) | `CreatePromotion` | active | `PromotionCreated` |
//! | active, paused | `ChangePromotion`, `SchedulePromotion` | (same) | `PromotionChanged`, `PromotionScheduled` |
//! | active | `PausePromotion` | paused | `PromotionPaused` |
//! | paused | `ResumePromotion` | active | `PromotionResumed` |
//! | active, paused | `EndPromotion` | ended | `PromotionEnded` |
//! | active | `RedeemPromotion` | active | `PromotionRedeemed` |
//! | any | `ReleaseRedemption` | (same) | `PromotionRedemptionReleased` |

mod aggregate;
mod commands;
mod definition;
mod errors;
mod events;

#[cfg(test)]
mod tests;

pub use crate::pricing::PromotionId;
pub use aggregate::{Promotion, PromotionState};
pub use commands::PromotionCommand;
pub use definition::{PromotionDefinition, MAX_FILTER_ENTRIES, MAX_PROMOTION_NAME_CHARS};
pub use errors::PromotionError;
pub use events::{PromotionEvent, EVENT_TYPES};

use crate::pricing::PromotionOffer;
