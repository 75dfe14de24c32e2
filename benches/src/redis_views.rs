//! The Redis hot views rebuilt from zero: the projector runtime driving the sink
//! over a whole log, under a key prefix of the run's own, deleted afterwards.

use std::sync::Arc;

use projections::redis_views::{KeySpace, RedisTarget, RedisViewsSink};
use projections::runtime::Projector;
use sqlx::PgPool;

/// Rebuilds the hot views from the log of `pool` (`total` events); events/s.
pub async fn rebuild(pool: &PgPool, redis_url: &str, total: i64) -> anyhow::Result<f64> {
    let prefix = format!("commerce-bench:{}", uuid::Uuid::new_v4());
    let target = RedisTarget {
        client: redis::Client::open(redis_url)?,
        keys: KeySpace::new(prefix.clone()),
    };
    let sink = RedisViewsSink::new(&target, pool.clone())?;
    let rate = super::rebuild(pool, total, Projector::SideEffect(Arc::new(sink))).await;
    delete_keys(&target.client, &format!("{prefix}:*")).await?;
    rate
}

async fn delete_keys(client: &redis::Client, pattern: &str) -> anyhow::Result<()> {
    let mut redis = client.get_multiplexed_async_connection().await?;
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut redis)
            .await?;
        if !keys.is_empty() {
            redis::cmd("UNLINK")
                .arg(&keys)
                .query_async::<i64>(&mut redis)
                .await?;
        }
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}
