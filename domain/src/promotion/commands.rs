//! What may be asked of a promotion. Times and ids come from the command side.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{PromotionDefinition, PromotionId};
use crate::pricing::Window;
use crate::shared::{CustomerId, OrderId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum PromotionCommand {
    CreatePromotion {
        promotion_id: PromotionId,
        definition: PromotionDefinition,
        created_at: DateTime<Utc>,
    },
    /// A new definition; the coupon code stays the one it was created with.
    ChangePromotion {
        definition: PromotionDefinition,
    },
    SchedulePromotion {
        window: Window,
    },
    PausePromotion {},
    ResumePromotion {},
    EndPromotion {
        ended_at: DateTime<Utc>,
    },
    /// One use, for an order being placed.
    RedeemPromotion {
        order_id: OrderId,
        #[serde(default)]
        customer_id: Option<CustomerId>,
        redeemed_at: DateTime<Utc>,
    },
    /// Gives back the order's use (the order was cancelled, or never placed).
    ReleaseRedemption {
        order_id: OrderId,
    },
}
