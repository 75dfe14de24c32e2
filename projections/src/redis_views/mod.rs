//! The hot views in Redis: each cart (with its lines and totals) and each SKU's
//! stock, for the storefront's most frequent reads, written by a side-effect sink
//! of the projector runtime and read by the API before PostgreSQL.
//!
//! The values are the PostgreSQL read models' own views ([`CartView`],
//! [`InventoryView`]), folded by the same functions, so either store answers the
//! same. Layout, under a configurable prefix `p`:
//!
//! | key | holds |
//! | --- | --- |
//! | `p:generation` | the generation readers use |
//! | `p:building` | the generation a rebuild is filling, while it runs |
//! | `p:generations` | the counter generations are numbered from |
//! | `p:g<n>:checkpoint` | the log checkpoint every event up to which generation `n` holds |
//! | `p:g<n>:cart:<cart id>` | a hash: `view` (JSON) and `position` (`transaction:position`) |
//! | `p:g<n>:inventory:<sku>` | the same for a SKU's stock |
//!
//! What must stay true:
//! - A value is replaced only by one of a later position (a Lua script compares
//!   the `(transaction_id, global_position)` pairs), so a redelivered or late batch
//!   never rolls a value back, whichever process sends it.
//! - A value in a generation is the whole fold of its stream up to its position:
//!   a stream whose earlier events the sink has not seen (Redis lost its data, a
//!   value was evicted) is folded from the log itself.
//! - Every event up to `p:g<n>:checkpoint` has been applied to generation `n`, so a
//!   reader whose consistency token is at or below it may trust what it finds there.
//! - A rebuild fills a new generation while readers keep the old one, and switches
//!   them over with one `SET` once the new one has caught up with the old.
//! - Scripts compute no key names except the reader's (which resolves the
//!   generation inside the script): the views need a single Redis, not a cluster.
//!
//! [`CartView`]: crate::read_models::carts::CartView
//! [`InventoryView`]: crate::read_models::inventory::InventoryView

mod keys;
mod reader;
mod scripts;
mod sink;

use crate::read_models::carts::CartView;
use crate::read_models::document::View;
use crate::read_models::inventory::InventoryView;

pub use keys::KeySpace;
pub use reader::{HotRead, HotViews};
pub use sink::{RedisViewsSink, PROJECTOR};

/// Where the hot views live: a Redis server, and the prefix of every key (several
/// deployments, or tests, can share one server).
#[derive(Debug, Clone)]
pub struct RedisTarget {
    pub client: redis::Client,
    pub keys: KeySpace,
}

/// A read model that also lives in Redis.
pub trait HotView: View {
    /// The key segment naming the kind of view (`cart`, `inventory`).
    const KIND: &'static str;
}

impl HotView for CartView {
    const KIND: &'static str = "cart";
}

impl HotView for InventoryView {
    const KIND: &'static str = "inventory";
}

/// Whether a Redis failure may pass when simply tried again (Redis restarting,
/// unreachable, slow); anything else is a fault of ours, such as a script error.
fn is_transient(error: &redis::RedisError) -> bool {
    use redis::{ErrorKind, ServerErrorKind};
    error.is_io_error()
        || error.is_timeout()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || matches!(
            error.kind(),
            ErrorKind::Server(
                ServerErrorKind::BusyLoading
                    | ServerErrorKind::TryAgain
                    | ServerErrorKind::MasterDown
                    | ServerErrorKind::ReadOnly
            )
        )
}

impl From<redis::RedisError> for crate::Error {
    fn from(error: redis::RedisError) -> Self {
        crate::Error::Redis {
            transient: is_transient(&error),
            source: error,
        }
    }
}
