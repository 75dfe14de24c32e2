//! The promotion's state, rebuilt from its events, and its decisions.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use super::{
    PromotionCommand, PromotionDefinition, PromotionError, PromotionEvent, PromotionId,
    PromotionOffer,
};
use crate::pricing::{PromotionStatus, Window};
use crate::shared::{CustomerId, OrderId};

/// A promotion; `Default` is the promotion before `CreatePromotion`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Promotion {
    state: Option<PromotionState>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromotionState {
    pub id: PromotionId,
    pub definition: PromotionDefinition,
    pub status: PromotionStatus,
    /// The order each use is held for, and its customer.
    pub redemptions: BTreeMap<OrderId, Option<CustomerId>>,
    pub uses_by_customer: BTreeMap<CustomerId, u32>,
    pub created_at: DateTime<Utc>,
}

type Decision = Result<Vec<PromotionEvent>, PromotionError>;

impl Promotion {
    pub fn state(&self) -> Option<&PromotionState> {
        self.state.as_ref()
    }

    pub fn decide(&self, command: PromotionCommand) -> Decision {
        match (&self.state, command) {
            (
                None,
                PromotionCommand::CreatePromotion {
                    promotion_id,
                    definition,
                    created_at,
                },
            ) => {
                definition.validate()?;
                Ok(vec![PromotionEvent::PromotionCreated {
                    promotion_id,
                    definition,
                    created_at,
                }])
            }
            (None, _) => Err(PromotionError::NotFound),
            (Some(_), PromotionCommand::CreatePromotion { .. }) => {
                Err(PromotionError::AlreadyExists)
            }
            (Some(state), command) => state.decide(command),
        }
    }
}

impl PromotionState {
    /// Uses held in all.
    pub fn uses(&self) -> u32 {
        u32::try_from(self.redemptions.len()).unwrap_or(u32::MAX)
    }

    fn uses_of(&self, customer: Option<CustomerId>) -> u32 {
        customer
            .and_then(|c| self.uses_by_customer.get(&c).copied())
            .unwrap_or(0)
    }

    /// The promotion as pricing reads it for `customer` (`None`: a guest).
    pub fn offer_for(&self, customer: Option<CustomerId>) -> PromotionOffer {
        let definition = &self.definition;
        let exhausted = definition
            .usage_limit
            .is_some_and(|limit| self.uses() >= limit)
            || definition
                .per_customer_limit
                .is_some_and(|limit| customer.is_some() && self.uses_of(customer) >= limit);
        PromotionOffer {
            promotion_id: self.id,
            name: definition.name.clone(),
            code: definition.code.clone(),
            conditions: definition.conditions.clone(),
            action: definition.action.clone(),
            stacking: definition.stacking,
            window: definition.window,
            status: self.status,
            exhausted,
        }
    }

    fn not_ended(&self) -> Result<(), PromotionError> {
        if self.status == PromotionStatus::Ended {
            Err(PromotionError::Ended)
        } else {
            Ok(())
        }
    }

    fn decide(&self, command: PromotionCommand) -> Decision {
        match command {
            PromotionCommand::CreatePromotion { .. } => Err(PromotionError::AlreadyExists),
            PromotionCommand::ChangePromotion { definition } => {
                self.not_ended()?;
                if definition.code != self.definition.code {
                    return Err(PromotionError::CodeIsFixed);
                }
                definition.validate()?;
                if definition == self.definition {
                    return Ok(Vec::new());
                }
                Ok(vec![PromotionEvent::PromotionChanged { definition }])
            }
            PromotionCommand::SchedulePromotion { window } => {
                self.not_ended()?;
                let definition = PromotionDefinition {
                    window,
                    ..self.definition.clone()
                };
                definition.validate()?;
                if window == self.definition.window {
                    return Ok(Vec::new());
                }
                Ok(vec![PromotionEvent::PromotionScheduled { window }])
            }
            PromotionCommand::PausePromotion {} => match self.status {
                PromotionStatus::Active => Ok(vec![PromotionEvent::PromotionPaused {}]),
                PromotionStatus::Paused => Ok(Vec::new()),
                PromotionStatus::Ended => Err(PromotionError::Ended),
            },
            PromotionCommand::ResumePromotion {} => match self.status {
                PromotionStatus::Paused => Ok(vec![PromotionEvent::PromotionResumed {}]),
                PromotionStatus::Active => Err(PromotionError::NotPaused),
                PromotionStatus::Ended => Err(PromotionError::Ended),
            },
            PromotionCommand::EndPromotion { ended_at } => {
                self.not_ended()?;
                Ok(vec![PromotionEvent::PromotionEnded { ended_at }])
            }
            PromotionCommand::RedeemPromotion {
                order_id,
                customer_id,
                redeemed_at,
            } => self.redeem(order_id, customer_id, redeemed_at),
            PromotionCommand::ReleaseRedemption { order_id } => {
                let Some(customer_id) = self.redemptions.get(&order_id) else {
                    return Ok(Vec::new());
                };
                Ok(vec![PromotionEvent::PromotionRedemptionReleased {
                    order_id,
                    customer_id: *customer_id,
                    uses: self.uses().saturating_sub(1),
                }])
            }
        }
    }

    fn redeem(
        &self,
        order_id: OrderId,
        customer_id: Option<CustomerId>,
        redeemed_at: DateTime<Utc>,
    ) -> Decision {
        if self.redemptions.contains_key(&order_id) {
            return Ok(Vec::new());
        }
        match self.status {
            PromotionStatus::Active => {}
            PromotionStatus::Paused => return Err(PromotionError::Paused),
            PromotionStatus::Ended => return Err(PromotionError::Ended),
        }
        if !within(&self.definition.window, redeemed_at) {
            return Err(PromotionError::OutsideWindow { at: redeemed_at });
        }
        if let Some(limit) = self.definition.usage_limit {
            if self.uses() >= limit {
                return Err(PromotionError::UsageLimitReached { limit });
            }
        }
        if let (Some(limit), Some(_)) = (self.definition.per_customer_limit, customer_id) {
            if self.uses_of(customer_id) >= limit {
                return Err(PromotionError::CustomerLimitReached { limit });
            }
        }
        Ok(vec![PromotionEvent::PromotionRedeemed {
            order_id,
            customer_id,
            redeemed_at,
            uses: self.uses().saturating_add(1),
        }])
    }

    fn apply(&mut self, event: PromotionEvent) {
        match event {
            PromotionEvent::PromotionCreated { .. } => {}
            PromotionEvent::PromotionChanged { definition } => self.definition = definition,
            PromotionEvent::PromotionScheduled { window } => self.definition.window = window,
            PromotionEvent::PromotionPaused {} => self.status = PromotionStatus::Paused,
            PromotionEvent::PromotionResumed {} => self.status = PromotionStatus::Active,
            PromotionEvent::PromotionEnded { .. } => self.status = PromotionStatus::Ended,
            PromotionEvent::PromotionRedeemed {
                order_id,
                customer_id,
                ..
            } => {
                self.redemptions.insert(order_id, customer_id);
                if let Some(customer) = customer_id {
                    *self.uses_by_customer.entry(customer).or_default() += 1;
                }
            }
            PromotionEvent::PromotionRedemptionReleased {
                order_id,
                customer_id,
                ..
            } => {
                self.redemptions.remove(&order_id);
                if let Some(customer) = customer_id {
                    if let Some(uses) = self.uses_by_customer.get_mut(&customer) {
                        *uses = uses.saturating_sub(1);
                        if *uses == 0 {
                            self.uses_by_customer.remove(&customer);
                        }
                    }
                }
            }
        }
    }
}

/// Whether `at` falls in the window (its end excluded).
fn within(window: &Window, at: DateTime<Utc>) -> bool {
    window.starts_at.is_none_or(|starts| at >= starts)
        && window.ends_at.is_none_or(|ends| at < ends)
}

impl Aggregate for Promotion {
    const TYPE: &'static str = "Promotion";
    type Command = PromotionCommand;
    type Event = PromotionEvent;
    type Error = PromotionError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match (&mut self.state, event) {
            (
                None,
                PromotionEvent::PromotionCreated {
                    promotion_id,
                    definition,
                    created_at,
                },
            ) => {
                self.state = Some(PromotionState {
                    id: promotion_id,
                    definition,
                    status: PromotionStatus::Active,
                    redemptions: BTreeMap::new(),
                    uses_by_customer: BTreeMap::new(),
                    created_at,
                });
            }
            (Some(state), event) => state.apply(event),
            (None, _) => {}
        }
    }
}
