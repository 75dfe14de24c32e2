//! Merging another cart's lines into this one, when a guest signs in and already
//! has a cart. The command side chooses the policy and loads the source cart's
//! lines; this module decides what the target's lines become.

use serde::{Deserialize, Serialize};

use super::lines::{
    check_product_name, check_unit_price, line_quantity, CartLine, MAX_LINES, MAX_LINE_QUANTITY,
};
use super::CartError;
use crate::shared::{Currency, LineItem, Quantity, Sku};

/// What to do with the two carts' lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MergePolicy {
    /// Both carts' lines: quantities of a SKU in both add up (capped at 999 per
    /// line), SKUs only in the source are appended while there is room (100 lines).
    Merge,
    /// The source (guest) cart's lines replace the target's.
    KeepGuest,
    /// The target keeps its lines; the source's are dropped.
    KeepExisting,
}

/// A line whose merged quantity went above the per-line limit and was capped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuantityCap {
    pub sku: Sku,
    /// The units the two carts held together.
    pub requested: u32,
    /// The units the line holds now.
    pub kept: Quantity,
}

/// The lines a merge leaves, and what did not fit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MergeOutcome {
    pub lines: Vec<CartLine>,
    pub capped_quantities: Vec<QuantityCap>,
    /// Source SKUs left out because the cart already had 100 lines.
    pub dropped_skus: Vec<Sku>,
}

/// Applies `policy` to the target's `existing` lines and the source's `incoming`.
///
/// A source line is taken like an added item: its snapshot (name, price) wins and
/// its quantity adds to a line of the same SKU. A combined line whose price differs
/// from the target's snapshot is flagged `price_changed`, since the customer last
/// saw that cart at the old price. Duplicate SKUs among the source lines add up.
/// Merging never refuses over the limits: it caps and drops, and reports both.
pub(crate) fn merge_lines(
    existing: &[CartLine],
    incoming: &[LineItem],
    policy: MergePolicy,
    currency: Currency,
) -> Result<MergeOutcome, CartError> {
    let mut outcome = MergeOutcome {
        lines: match policy {
            MergePolicy::Merge => existing.to_vec(),
            MergePolicy::KeepGuest => Vec::new(),
            MergePolicy::KeepExisting => {
                // The source's lines are not used, so they are not checked either: a
                // guest cart in another currency must not block keeping this one.
                return Ok(MergeOutcome {
                    lines: existing.to_vec(),
                    capped_quantities: Vec::new(),
                    dropped_skus: Vec::new(),
                });
            }
        },
        capped_quantities: Vec::new(),
        dropped_skus: Vec::new(),
    };
    for item in incoming {
        check_product_name(&item.name)?;
        check_unit_price(&item.sku, &item.unit_price, currency)?;
    }
    for item in incoming {
        outcome.take(item)?;
    }
    Ok(outcome)
}

impl MergeOutcome {
    fn take(&mut self, item: &LineItem) -> Result<(), CartError> {
        match self.lines.iter().position(|line| line.sku == item.sku) {
            Some(index) => {
                let previous = &self.lines[index];
                let already = self
                    .capped_quantities
                    .iter()
                    .find(|cap| cap.sku == item.sku)
                    .map_or(previous.quantity.get(), |cap| cap.requested);
                let requested = already.saturating_add(item.quantity.get());
                let price_changed =
                    previous.price_changed || previous.unit_price != item.unit_price;
                let kept = self.capped(&item.sku, requested)?;
                self.lines[index] = CartLine::new(
                    item.sku.clone(),
                    item.name.clone(),
                    item.unit_price,
                    kept,
                    price_changed,
                )?;
            }
            None if self.lines.len() >= MAX_LINES => {
                if !self.dropped_skus.contains(&item.sku) {
                    self.dropped_skus.push(item.sku.clone());
                }
            }
            None => {
                let kept = self.capped(&item.sku, item.quantity.get())?;
                self.lines.push(CartLine::new(
                    item.sku.clone(),
                    item.name.clone(),
                    item.unit_price,
                    kept,
                    false,
                )?);
            }
        }
        Ok(())
    }

    /// `requested` within the per-line limit; a cap is recorded when it bites.
    fn capped(&mut self, sku: &Sku, requested: u32) -> Result<Quantity, CartError> {
        // `requested` is a sum of quantities, so at least 1: `line_quantity` accepts it.
        let kept = line_quantity(sku, requested.min(MAX_LINE_QUANTITY))?;
        if requested > MAX_LINE_QUANTITY {
            match self
                .capped_quantities
                .iter_mut()
                .find(|cap| &cap.sku == sku)
            {
                Some(cap) => cap.requested = requested,
                None => self.capped_quantities.push(QuantityCap {
                    sku: sku.clone(),
                    requested,
                    kept,
                }),
            }
        }
        Ok(kept)
    }
}
