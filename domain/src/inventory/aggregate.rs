//! The stock of one SKU and its decisions: `decide` turns a command into events or
//! a refusal without touching the state; `apply` evolves the state from an event,
//! taking the resulting figures the event carries.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use super::reasons::Direction;
use super::{AdjustmentReason, InventoryCommand, InventoryError, InventoryEvent, ReleaseReason};
use crate::shared::{OrderId, Quantity, Sku};

/// The stock of one SKU; `Default` is the SKU before `RegisterSku`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    sku: Option<Sku>,
    on_hand: u64,
    reserved: u64,
    low_stock_threshold: u64,
    /// Held and settled reservations. Released ones that shipped nothing are
    /// dropped; settled ones stay, so a repeated commit or reserve is recognised.
    reservations: BTreeMap<OrderId, Reservation>,
}

/// What one order reserved of this SKU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    /// Units the order reserved: a repeated `ReserveStock` must ask for as many.
    pub quantity: u64,
    /// Units still held: neither shipped nor released. Zero once settled.
    pub outstanding: u64,
    pub expires_at: DateTime<Utc>,
}

impl Reservation {
    /// Nothing held any more: fully shipped, or shipped in part and the rest released.
    pub fn is_settled(&self) -> bool {
        self.outstanding == 0
    }

    /// Paid for: kept until shipped or released, whatever `expires_at` said.
    pub fn is_held(&self) -> bool {
        self.expires_at == DateTime::<Utc>::MAX_UTC
    }

    /// Due for expiry at `now`: still held in full (nothing shipped) and past due.
    fn is_due(&self, now: DateTime<Utc>) -> bool {
        self.outstanding > 0 && self.outstanding == self.quantity && self.expires_at <= now
    }
}

/// On-hand and reserved together, with available derived, as the events carry them.
#[derive(Debug, Clone, Copy)]
struct Levels {
    on_hand: u64,
    reserved: u64,
}

impl Levels {
    /// `reserved <= on_hand` always holds, so this never saturates in practice.
    fn available(self) -> u64 {
        self.on_hand.saturating_sub(self.reserved)
    }
}

impl Inventory {
    /// The largest low-stock threshold, as large as any one order may be.
    pub const MAX_LOW_STOCK_THRESHOLD: u64 = Quantity::MAX as u64;
    /// The largest adjustment either way, as large as any one receipt may be.
    pub const MAX_ADJUSTMENT: u64 = Quantity::MAX as u64;
    pub const MAX_REFERENCE: usize = 200;
    pub const MAX_NOTE: usize = 500;

    /// `None` before the SKU is registered.
    pub fn sku(&self) -> Option<&Sku> {
        self.sku.as_ref()
    }

    pub fn on_hand(&self) -> u64 {
        self.on_hand
    }

    pub fn reserved(&self) -> u64 {
        self.reserved
    }

    /// What can still be reserved: on hand and not held for an order.
    pub fn available(&self) -> u64 {
        self.levels().available()
    }

    pub fn low_stock_threshold(&self) -> u64 {
        self.low_stock_threshold
    }

    /// At or below the threshold: the low-stock alert is spent until stock rises
    /// above it again.
    pub fn is_low_on_stock(&self) -> bool {
        self.available() <= self.low_stock_threshold
    }

    pub fn reservation(&self, order_id: &OrderId) -> Option<&Reservation> {
        self.reservations.get(order_id)
    }

    pub fn reservations(&self) -> impl Iterator<Item = (&OrderId, &Reservation)> {
        self.reservations.iter()
    }

    fn levels(&self) -> Levels {
        Levels {
            on_hand: self.on_hand,
            reserved: self.reserved,
        }
    }

    /// The events `command` would record, or why it is refused. Pure: the state is
    /// not changed, so a caller can decide without a runtime.
    pub fn decide(&self, command: InventoryCommand) -> Result<Vec<InventoryEvent>, InventoryError> {
        match (&self.sku, command) {
            (
                None,
                InventoryCommand::RegisterSku {
                    sku,
                    low_stock_threshold,
                },
            ) => register(sku, low_stock_threshold),
            (None, _) => Err(InventoryError::NotFound),
            (Some(sku), command) => {
                let mut events = self.decide_registered(sku, command)?;
                self.alert_on_low_stock(sku, &mut events);
                Ok(events)
            }
        }
    }

    fn decide_registered(
        &self,
        sku: &Sku,
        command: InventoryCommand,
    ) -> Result<Vec<InventoryEvent>, InventoryError> {
        match command {
            InventoryCommand::RegisterSku { .. } => {
                Err(InventoryError::AlreadyExists { sku: sku.clone() })
            }
            InventoryCommand::ReceiveStock {
                quantity,
                reference,
            } => self.receive(sku, quantity, reference),
            InventoryCommand::AdjustStock {
                delta,
                reason,
                note,
            } => self.adjust(sku, delta, reason, note),
            InventoryCommand::ReserveStock {
                order_id,
                quantity,
                expires_at,
            } => self.reserve(sku, order_id, quantity, expires_at),
            InventoryCommand::ExtendReservation { order_id, quantity } => {
                self.extend(sku, order_id, quantity)
            }
            InventoryCommand::HoldUntilShipped { order_id } => self.hold(sku, order_id),
            InventoryCommand::ReleaseReservation {
                order_id,
                reason,
                quantity,
            } => self.release(sku, order_id, reason, quantity),
            InventoryCommand::CommitReservation { order_id, quantity } => {
                self.commit(sku, order_id, quantity)
            }
            InventoryCommand::ExpireReservations { now } => self.expire(sku, now),
        }
    }

    fn receive(
        &self,
        sku: &Sku,
        quantity: Quantity,
        reference: String,
    ) -> Result<Vec<InventoryEvent>, InventoryError> {
        if reference.trim().is_empty() || reference.chars().count() > Self::MAX_REFERENCE {
            return Err(InventoryError::InvalidReference);
        }
        let quantity = u64::from(quantity.get());
        let after = Levels {
            on_hand: self
                .on_hand
                .checked_add(quantity)
                .ok_or(InventoryError::StockOutOfRange)?,
            reserved: self.reserved,
        };
        Ok(vec![InventoryEvent::StockReceived {
            sku: sku.clone(),
            quantity,
            reference,
            on_hand_after: after.on_hand,
            reserved_after: after.reserved,
            available_after: after.available(),
        }])
    }

    fn adjust(
        &self,
        sku: &Sku,
        delta: i64,
        reason: AdjustmentReason,
        note: String,
    ) -> Result<Vec<InventoryEvent>, InventoryError> {
        let units = delta.unsigned_abs();
        if delta == 0 || units > Self::MAX_ADJUSTMENT {
            return Err(InventoryError::InvalidDelta { delta });
        }
        let note_length = note.chars().count();
        if note_length > Self::MAX_NOTE {
            return Err(InventoryError::NoteTooLong {
                length: note_length,
            });
        }
        let against = match reason.direction() {
            Direction::Decrease if delta > 0 => Some("up"),
            Direction::Increase if delta < 0 => Some("down"),
            _ => None,
        };
        if let Some(direction) = against {
            return Err(InventoryError::AdjustmentAgainstReason {
                reason,
                direction,
                delta,
            });
        }
        let on_hand = if delta > 0 {
            self.on_hand
                .checked_add(units)
                .ok_or(InventoryError::StockOutOfRange)?
        } else {
            self.on_hand
                .checked_sub(units)
                .ok_or(InventoryError::NegativeStock {
                    on_hand: self.on_hand,
                    delta,
                })?
        };
        if on_hand < self.reserved {
            return Err(InventoryError::BelowReserved {
                on_hand: self.on_hand,
                reserved: self.reserved,
                delta,
            });
        }
        let after = Levels {
            on_hand,
            reserved: self.reserved,
        };
        Ok(vec![InventoryEvent::StockAdjusted {
            sku: sku.clone(),
            delta,
            reason,
            note,
            on_hand_after: after.on_hand,
            reserved_after: after.reserved,
            available_after: after.available(),
        }])
    }

    fn reserve(
        &self,
        sku: &Sku,
        order_id: OrderId,
        quantity: Quantity,
        expires_at: DateTime<Utc>,
    ) -> Result<Vec<InventoryEvent>, InventoryError> {
        let quantity = u64::from(quantity.get());
        if let Some(existing) = self.reservations.get(&order_id) {
            // A retried reservation is already in place; a changed one is a bug
            // upstream that must not silently resize what the order holds.
            return if existing.quantity == quantity {
                Ok(vec![])
            } else {
                Err(InventoryError::ReservationConflict {
                    order_id,
                    reserved: existing.quantity,
                    requested: quantity,
                })
            };
        }
        self.reserved_for(sku, order_id, quantity, expires_at, quantity)
    }

    /// `quantity` more units held for `order_id`, which then holds `held_after`,
    /// if that many are available.
    fn reserved_for(
        &self,
        sku: &Sku,
        order_id: OrderId,
        quantity: u64,
        expires_at: DateTime<Utc>,
        held_after: u64,
    ) -> Result<Vec<InventoryEvent>, InventoryError> {
        let available = self.available();
        if available < quantity {
            return Err(InventoryError::InsufficientStock {
                sku: sku.clone(),
                available,
                requested: quantity,
            });
        }
        let after = Levels {
            on_hand: self.on_hand,
            reserved: self
                .reserved
                .checked_add(quantity)
                .ok_or(InventoryError::StockOutOfRange)?,
        };
        Ok(vec![InventoryEvent::StockReserved {
            sku: sku.clone(),
            order_id,
            quantity,
            expires_at,
            held_for_order_after: held_after,
            on_hand_after: after.on_hand,
            reserved_after: after.reserved,
            available_after: after.available(),
        }])
    }

    fn hold(&self, sku: &Sku, order_id: OrderId) -> Result<Vec<InventoryEvent>, InventoryError> {
        match self.reservations.get(&order_id) {
            Some(reservation) if !reservation.is_settled() && !reservation.is_held() => {
                let levels = self.levels();
                Ok(vec![InventoryEvent::ReservationHeld {
                    sku: sku.clone(),
                    order_id,
                    held_for_order: reservation.outstanding,
                    on_hand_after: levels.on_hand,
                    reserved_after: levels.reserved,
                    available_after: levels.available(),
                }])
            }
            // Held already, settled, or released (expired before the payment came):
            // nothing to keep.
            _ => Ok(vec![]),
        }
    }

    fn extend(
        &self,
        sku: &Sku,
        order_id: OrderId,
        quantity: Quantity,
    ) -> Result<Vec<InventoryEvent>, InventoryError> {
        let reservation = self
            .reservations
            .get(&order_id)
            .filter(|r| !r.is_settled())
            .ok_or(InventoryError::ReservationNotFound { order_id })?;
        let quantity = u64::from(quantity.get());
        self.reserved_for(
            sku,
            order_id,
            quantity,
            reservation.expires_at,
            reservation.outstanding.saturating_add(quantity),
        )
    }

    fn release(
        &self,
        sku: &Sku,
        order_id: OrderId,
        reason: ReleaseReason,
        quantity: Option<Quantity>,
    ) -> Result<Vec<InventoryEvent>, InventoryError> {
        match self.reservations.get(&order_id) {
            Some(reservation) if !reservation.is_settled() => {
                let outstanding = reservation.outstanding;
                let quantity = quantity.map_or(outstanding, |q| u64::from(q.get()));
                if quantity > outstanding {
                    return Err(InventoryError::ReleaseExceedsReservation {
                        order_id,
                        outstanding,
                        requested: quantity,
                    });
                }
                let released = released(
                    sku,
                    order_id,
                    (quantity, outstanding - quantity),
                    reason,
                    self.levels(),
                )?;
                Ok(vec![released])
            }
            // Unknown, released before or settled: nothing held, nothing to do.
            _ => Ok(vec![]),
        }
    }

    fn commit(
        &self,
        sku: &Sku,
        order_id: OrderId,
        quantity: Option<Quantity>,
    ) -> Result<Vec<InventoryEvent>, InventoryError> {
        let reservation = self
            .reservations
            .get(&order_id)
            .ok_or(InventoryError::ReservationNotFound { order_id })?;
        if reservation.is_settled() {
            return Ok(vec![]);
        }
        let outstanding = reservation.outstanding;
        let quantity = quantity.map_or(outstanding, |q| u64::from(q.get()));
        if quantity > outstanding {
            return Err(InventoryError::CommitExceedsReservation {
                order_id,
                outstanding,
                requested: quantity,
            });
        }
        let out_of_range = InventoryError::StockOutOfRange;
        let after = Levels {
            on_hand: self
                .on_hand
                .checked_sub(quantity)
                .ok_or(out_of_range.clone())?,
            reserved: self.reserved.checked_sub(quantity).ok_or(out_of_range)?,
        };
        Ok(vec![InventoryEvent::StockCommitted {
            sku: sku.clone(),
            order_id,
            quantity,
            remaining_reserved_for_order: outstanding - quantity,
            on_hand_after: after.on_hand,
            reserved_after: after.reserved,
            available_after: after.available(),
        }])
    }

    fn expire(&self, sku: &Sku, now: DateTime<Utc>) -> Result<Vec<InventoryEvent>, InventoryError> {
        let mut due: Vec<(DateTime<Utc>, OrderId, u64)> = self
            .reservations
            .iter()
            .filter(|(_, reservation)| reservation.is_due(now))
            .map(|(order_id, r)| (r.expires_at, *order_id, r.outstanding))
            .collect();
        // Oldest first, so the log reads in the order the reservations ran out.
        due.sort();
        let mut levels = self.levels();
        let mut events = Vec::with_capacity(due.len());
        for (_, order_id, outstanding) in due {
            let event = released(
                sku,
                order_id,
                (outstanding, 0),
                ReleaseReason::Expired,
                levels,
            )?;
            let (on_hand, reserved, _) = event.levels_after();
            levels = Levels { on_hand, reserved };
            events.push(event);
        }
        Ok(events)
    }

    /// Appends `LowStockReached` when `events` take available from above the
    /// threshold to at or below it. Within one command available moves one way
    /// only, so comparing before and after finds every crossing.
    fn alert_on_low_stock(&self, sku: &Sku, events: &mut Vec<InventoryEvent>) {
        let Some((on_hand, reserved, available)) = events.last().map(InventoryEvent::levels_after)
        else {
            return;
        };
        if self.available() > self.low_stock_threshold && available <= self.low_stock_threshold {
            events.push(InventoryEvent::LowStockReached {
                sku: sku.clone(),
                low_stock_threshold: self.low_stock_threshold,
                on_hand_after: on_hand,
                reserved_after: reserved,
                available_after: available,
            });
        }
    }
}

fn register(sku: Sku, low_stock_threshold: u64) -> Result<Vec<InventoryEvent>, InventoryError> {
    if low_stock_threshold > Inventory::MAX_LOW_STOCK_THRESHOLD {
        return Err(InventoryError::InvalidThreshold {
            threshold: low_stock_threshold,
        });
    }
    Ok(vec![InventoryEvent::InventoryRegistered {
        sku,
        low_stock_threshold,
        on_hand_after: 0,
        reserved_after: 0,
        available_after: 0,
    }])
}

/// `(released, held_after)`: units of `order_id` going back to available from
/// `levels`, and what the order still holds afterwards.
fn released(
    sku: &Sku,
    order_id: OrderId,
    (outstanding, held_after): (u64, u64),
    reason: ReleaseReason,
    levels: Levels,
) -> Result<InventoryEvent, InventoryError> {
    let after = Levels {
        on_hand: levels.on_hand,
        reserved: levels
            .reserved
            .checked_sub(outstanding)
            .ok_or(InventoryError::StockOutOfRange)?,
    };
    Ok(InventoryEvent::ReservationReleased {
        sku: sku.clone(),
        order_id,
        quantity: outstanding,
        reason,
        held_for_order_after: held_after,
        on_hand_after: after.on_hand,
        reserved_after: after.reserved,
        available_after: after.available(),
    })
}

impl Aggregate for Inventory {
    const TYPE: &'static str = "Inventory";
    type Command = InventoryCommand;
    type Event = InventoryEvent;
    type Error = InventoryError;
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
        let (on_hand, reserved, _) = event.levels_after();
        self.on_hand = on_hand;
        self.reserved = reserved;
        match event {
            InventoryEvent::InventoryRegistered {
                sku,
                low_stock_threshold,
                ..
            } => {
                self.sku = Some(sku);
                self.low_stock_threshold = low_stock_threshold;
            }
            InventoryEvent::StockReserved {
                order_id,
                quantity,
                expires_at,
                ..
            } => {
                // A second reservation for an order that still holds some extends it.
                self.reservations
                    .entry(order_id)
                    .and_modify(|held| {
                        if held.is_settled() {
                            *held = Reservation {
                                quantity,
                                outstanding: quantity,
                                expires_at,
                            };
                        } else {
                            held.quantity = held.quantity.saturating_add(quantity);
                            held.outstanding = held.outstanding.saturating_add(quantity);
                        }
                    })
                    .or_insert(Reservation {
                        quantity,
                        outstanding: quantity,
                        expires_at,
                    });
            }
            InventoryEvent::ReservationHeld { order_id, .. } => {
                if let Some(reservation) = self.reservations.get_mut(&order_id) {
                    reservation.expires_at = DateTime::<Utc>::MAX_UTC;
                }
            }
            InventoryEvent::ReservationReleased {
                order_id, quantity, ..
            } => {
                if let Some(reservation) = self.reservations.get_mut(&order_id) {
                    if quantity < reservation.outstanding {
                        // Part released; the rest stays held for the order.
                        reservation.outstanding -= quantity;
                    } else if reservation.outstanding == reservation.quantity {
                        // Nothing shipped: forget it, so the order may reserve anew.
                        self.reservations.remove(&order_id);
                    } else {
                        reservation.outstanding = 0;
                    }
                }
            }
            InventoryEvent::StockCommitted {
                order_id,
                remaining_reserved_for_order,
                ..
            } => {
                if let Some(reservation) = self.reservations.get_mut(&order_id) {
                    reservation.outstanding = remaining_reserved_for_order;
                }
            }
            InventoryEvent::StockReceived { .. }
            | InventoryEvent::StockAdjusted { .. }
            | InventoryEvent::LowStockReached { .. } => {}
        }
    }
}
