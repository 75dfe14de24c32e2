//! The Inventory aggregate: the stock of one SKU (the aggregate id is the SKU
//! string). It counts the units `on_hand` in the warehouse, the units `reserved`
//! for orders not yet shipped, and what is left to sell:
//! `available = on_hand - reserved`.
//!
//! Invariant after every event: `0 <= reserved <= on_hand`, and `reserved` is the
//! sum of what every reservation still holds. Counts are `u64`, changes use checked
//! arithmetic, and a change that would leave the range is refused.
//!
//! Rules:
//! - `RegisterSku` starts a SKU at zero stock; every other command before it is
//!   refused with `not_found`, and a second registration with `already_exists`.
//! - `ReceiveStock` adds a positive quantity with a reference (delivery note,
//!   purchase order).
//! - `AdjustStock` corrects on-hand by a non-zero delta of at most ±1 000 000 with a
//!   reason. Reasons that only go one way are checked: damaged, lost and stolen
//!   decrease; found and returned increase; recount and correction go either way.
//!   On-hand never goes below zero nor below what is reserved.
//! - `ReserveStock` holds units for an order until `expires_at`, refused with
//!   `insufficient_stock` when fewer are available. Reserving again for the same
//!   order with the same quantity records nothing (a retried checkout); with a
//!   different quantity it is refused (`reservation_conflict`).
//! - `ReleaseReservation` gives the units an order still holds back to available.
//!   An order with nothing reserved (unknown, released before, fully shipped)
//!   records nothing: the process manager may release twice after a crash.
//! - `CommitReservation` takes reserved units out of on-hand when they ship: all of
//!   what the order still holds, or a part of it (the rest stays reserved). An order
//!   whose reservation is fully committed records nothing; one that never reserved,
//!   or whose reservation was released, is refused (`reservation_not_found`), since
//!   shipping unreserved units would break the count.
//! - `ExpireReservations { now }` releases every reservation with
//!   `expires_at <= now`, one `ReservationReleased` (reason `expired`) each, oldest
//!   first. A reservation of which some units have shipped no longer expires: the
//!   order was evidently paid; its rest is released explicitly.
//! - `LowStockReached` follows the event that takes `available` from above the
//!   threshold to at or below it: once per crossing. It is armed again only when
//!   available rises above the threshold. A new SKU starts at zero, already low,
//!   so its first alert comes after stock has been received and sold down again.
//!
//! A reservation's life (per order):
//!
//! | from \ command | ReserveStock | ReleaseReservation | CommitReservation | ExpireReservations (due) |
//! | --- | --- | --- | --- | --- |
//! | none | → held | no-op | `reservation_not_found` | — |
//! | held | same qty: no-op; other: `reservation_conflict` | → none | part: → held (partly shipped); all: → settled | → none |
//! | held, partly shipped | as above | → settled (rest released) | part: stays; rest: → settled | — (no longer expires) |
//! | settled | as above | no-op | no-op | — |

mod aggregate;
mod commands;
mod errors;
mod events;
#[cfg(test)]
mod properties;
mod reasons;
#[cfg(test)]
mod tests;

pub use aggregate::{Inventory, Reservation};
pub use commands::InventoryCommand;
pub use errors::InventoryError;
pub use events::{InventoryEvent, EVENT_TYPES};
pub use reasons::{AdjustmentReason, ReleaseReason};
