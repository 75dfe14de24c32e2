//! What happened to promotions. Redemption events carry the count of uses after
//! them, so readers need not count.

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use super::{PromotionDefinition, PromotionId};
use crate::pricing::Window;
use crate::shared::{CustomerId, OrderId};

/// Every event type name, as stored in the event store's `event_type` column.
pub const EVENT_TYPES: &[&str] = &[
    "PromotionCreated",
    "PromotionChanged",
    "PromotionScheduled",
    "PromotionPaused",
    "PromotionResumed",
    "PromotionEnded",
    "PromotionRedeemed",
    "PromotionRedemptionReleased",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PromotionEvent {
    PromotionCreated {
        promotion_id: PromotionId,
        definition: PromotionDefinition,
        created_at: DateTime<Utc>,
    },
    PromotionChanged {
        definition: PromotionDefinition,
    },
    PromotionScheduled {
        window: Window,
    },
    PromotionPaused {},
    PromotionResumed {},
    PromotionEnded {
        ended_at: DateTime<Utc>,
    },
    PromotionRedeemed {
        order_id: OrderId,
        customer_id: Option<CustomerId>,
        redeemed_at: DateTime<Utc>,
        /// Uses in all after this one.
        uses: u32,
    },
    PromotionRedemptionReleased {
        order_id: OrderId,
        customer_id: Option<CustomerId>,
        uses: u32,
    },
}

impl DomainEvent for PromotionEvent {
    fn event_type(&self) -> String {
        let name = match self {
            PromotionEvent::PromotionCreated { .. } => "PromotionCreated",
            PromotionEvent::PromotionChanged { .. } => "PromotionChanged",
            PromotionEvent::PromotionScheduled { .. } => "PromotionScheduled",
            PromotionEvent::PromotionPaused {} => "PromotionPaused",
            PromotionEvent::PromotionResumed {} => "PromotionResumed",
            PromotionEvent::PromotionEnded { .. } => "PromotionEnded",
            PromotionEvent::PromotionRedeemed { .. } => "PromotionRedeemed",
            PromotionEvent::PromotionRedemptionReleased { .. } => "PromotionRedemptionReleased",
        };
        name.to_owned()
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}
