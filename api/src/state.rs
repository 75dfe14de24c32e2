//! What every handler can reach.

use std::sync::Arc;
use std::time::Duration;

use commands::catalog::Catalog;
use commands::payment_gateway::PaymentGateway;
use commands::store::GroupCommit;
use commands::{AggregateStore, StoreOptions};
use domain::cart::Cart;
use domain::inventory::Inventory;
use domain::order::Order;
use domain::payment::Payment;
use domain::product::Product;
use domain::shared::Currency;
use projections::log::LogWakeups;
use projections::redis_views::HotViews;
use projections::runtime::ProjectorStates;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::auth::{Authenticator, CartTokens};
use crate::rate_limit::RateLimiter;

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    /// `None` when no Redis is configured.
    pub redis: Option<redis::Client>,
    /// The hot views queries read before PostgreSQL; `None` without Redis.
    pub hot_views: Option<Arc<HotViews>>,
    /// The projectors of this process (empty when they run elsewhere).
    pub projectors: ProjectorStates,
    pub stores: Stores,
    pub catalog: Arc<Catalog>,
    pub gateway: Arc<dyn PaymentGateway>,
    pub auth: Arc<Authenticator>,
    pub cart_tokens: CartTokens,
    pub rate_limiter: Option<Arc<RateLimiter>>,
    /// The product search index (`None` where this process keeps none).
    pub search: Option<Arc<projections::search::SearchIndex>>,
    pub settings: Settings,
    /// Wakes the readers that follow the log live (the auditors' event stream) as
    /// soon as something is appended.
    pub wakeups: LogWakeups,
    /// Fires when the server shuts down: long-lived answers (event streams) end
    /// on it, or the graceful shutdown would wait for them forever.
    pub shutdown: CancellationToken,
}

impl AppState {
    /// The same state, with long-lived answers ending when `shutdown` fires.
    pub fn with_shutdown(self, shutdown: CancellationToken) -> Self {
        AppState { shutdown, ..self }
    }
}

/// The command side: one store per aggregate type.
#[derive(Clone)]
pub struct Stores {
    pub products: Arc<AggregateStore<Product>>,
    pub inventory: Arc<AggregateStore<Inventory>>,
    pub carts: Arc<AggregateStore<Cart>>,
    pub orders: Arc<AggregateStore<Order>>,
    pub payments: Arc<AggregateStore<Payment>>,
}

impl Stores {
    /// A store per aggregate type, all appending through one group commit, so
    /// concurrent commands of every type share commits.
    pub fn new(pool: &PgPool, wakeups: &LogWakeups, options: StoreOptions) -> Self {
        let group = GroupCommit::start(pool.clone());
        let (p, w) = (pool, wakeups);
        Stores {
            products: AggregateStore::sharing(p.clone(), w.clone(), options, group.clone()),
            // A SKU's stream grows with every order: snapshot it.
            inventory: AggregateStore::sharing(
                p.clone(),
                w.clone(),
                StoreOptions {
                    snapshot_every: Some(100),
                    ..options
                },
                group.clone(),
            ),
            carts: AggregateStore::sharing(p.clone(), w.clone(), options, group.clone()),
            orders: AggregateStore::sharing(p.clone(), w.clone(), options, group.clone()),
            payments: AggregateStore::sharing(p.clone(), w.clone(), options, group),
        }
    }
}

/// Behaviour the operator chooses.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long a query waits for its read model to reach a consistency token.
    pub consistency_wait: Duration,
    /// The currency of carts opened without one.
    pub default_currency: Currency,
    /// Signs the payment gateway's webhooks; `None` turns them off.
    pub webhook_secret: Option<crate::secret::Secret>,
}
