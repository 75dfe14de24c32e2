//! Why stock moved without a sale: closed lists, so reports can group by them.

use serde::{Deserialize, Serialize};

/// Why a clerk corrected on-hand stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentReason {
    /// Units found broken or unsellable: only decreases.
    Damaged,
    /// Units that cannot be found: only decreases.
    Lost,
    /// Units known to be stolen: only decreases.
    Stolen,
    /// Units found that were not counted: only increases.
    Found,
    /// Units a customer sent back, put back on the shelf: only increases.
    Returned,
    /// A physical count differed from the books: either way.
    Recount,
    /// An earlier booking was wrong: either way.
    Correction,
}

/// Which way an adjustment with a reason may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Decrease,
    Increase,
    Either,
}

impl AdjustmentReason {
    pub(crate) fn direction(self) -> Direction {
        match self {
            AdjustmentReason::Damaged | AdjustmentReason::Lost | AdjustmentReason::Stolen => {
                Direction::Decrease
            }
            AdjustmentReason::Found | AdjustmentReason::Returned => Direction::Increase,
            AdjustmentReason::Recount | AdjustmentReason::Correction => Direction::Either,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AdjustmentReason::Damaged => "damaged",
            AdjustmentReason::Lost => "lost",
            AdjustmentReason::Stolen => "stolen",
            AdjustmentReason::Found => "found",
            AdjustmentReason::Returned => "returned",
            AdjustmentReason::Recount => "recount",
            AdjustmentReason::Correction => "correction",
        }
    }
}

/// Why reserved units went back to available.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseReason {
    /// The reservation reached `expires_at` before the order was paid.
    Expired,
    OrderCancelled,
    /// Some units of an order that goes on were cancelled.
    LinesCancelled,
    PaymentFailed,
    Other,
}
