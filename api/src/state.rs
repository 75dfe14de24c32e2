//! What every handler can reach.

use std::sync::Arc;
use std::time::Duration;

use commands::catalog::Catalog;
use commands::payment_gateway::PaymentGateway;
use commands::Stores;
use domain::shared::Currency;
use eventlog::LogWakeups;
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
    pub promotions: Arc<commands::promotions::Promotions>,
    /// Shipping methods and tax rates, as a checkout reads them.
    pub deliveries: Arc<commands::delivery::Deliveries>,
    pub gateway: Arc<dyn PaymentGateway>,
    pub auth: Arc<Authenticator>,
    pub cart_tokens: CartTokens,
    pub rate_limiter: Option<Arc<RateLimiter>>,
    /// Failed sign-ins, per account and per client address: always on.
    pub sign_in_failures: Arc<RateLimiter>,
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

/// Behaviour the operator chooses.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long a query waits for its read model to reach a consistency token.
    pub consistency_wait: Duration,
    /// The currency of carts opened without one.
    pub default_currency: Currency,
    /// Signs the payment gateway's webhooks; `None` turns them off.
    pub webhook_secret: Option<crate::secret::Secret>,
    /// Days after delivery during which returns are accepted.
    pub return_window_days: u32,
    /// Webhook subscriptions may name loopback `http://` endpoints.
    pub webhooks_allow_loopback: bool,
}
