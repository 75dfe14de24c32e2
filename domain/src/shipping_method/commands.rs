//! What may be asked of a shipping method. Times and ids come from the command side.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ShippingMethodDefinition, ShippingMethodId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum ShippingMethodCommand {
    DefineShippingMethod {
        method_id: ShippingMethodId,
        definition: ShippingMethodDefinition,
        defined_at: DateTime<Utc>,
    },
    /// A new definition in place of the old: orders placed before keep theirs.
    ChangeShippingMethod {
        definition: ShippingMethodDefinition,
    },
    RetireShippingMethod {
        retired_at: DateTime<Utc>,
    },
}
