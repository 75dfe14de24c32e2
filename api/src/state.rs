//! What every handler can reach.

use projections::runtime::ProjectorStates;
use sqlx::PgPool;

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    /// `None` when no Redis is configured.
    pub redis: Option<redis::Client>,
    /// The projectors of this process (empty when they run elsewhere).
    pub projectors: ProjectorStates,
}
