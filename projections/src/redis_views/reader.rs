//! Reading a hot view: one script call, bounded by a short timeout, and skipped
//! for a while after Redis failed, so that a Redis that is down costs a query
//! almost nothing before it asks PostgreSQL.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::keys::KeySpace;
use super::scripts;
use super::{HotView, RedisTarget};
use crate::Error;
use eventlog::Checkpoint;

/// A view found in Redis.
#[derive(Debug, Clone, PartialEq)]
pub struct HotRead<V> {
    pub view: V,
    /// The log position the view reflects.
    pub position: Checkpoint,
    /// Every event up to this one is in the generation the view was read from
    /// (`None` if it has not recorded one yet).
    pub checkpoint: Option<Checkpoint>,
}

impl<V> HotRead<V> {
    /// Whether the view includes every event up to `token`: its own position or
    /// its generation's checkpoint has reached it.
    pub fn covers(&self, token: Checkpoint) -> bool {
        self.position >= token || self.checkpoint.is_some_and(|c| c >= token)
    }
}

/// Reads the hot views for the API.
pub struct HotViews {
    redis: ConnectionManager,
    keys: KeySpace,
    timeout: Duration,
    /// Until when Redis is not asked, after it failed or was slow.
    resting_until: Mutex<Option<Instant>>,
}

/// How long Redis is left alone after it failed a read.
const REST_AFTER_FAILURE: Duration = Duration::from_secs(1);

impl HotViews {
    /// A reader of `target`; a read that takes longer than `timeout` counts as a
    /// failure. Connects on first use.
    pub fn new(target: &RedisTarget, timeout: Duration) -> Result<Self, Error> {
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(timeout))
            .set_connection_timeout(Some(timeout))
            // A failed read is answered from PostgreSQL, not retried.
            .set_number_of_retries(0);
        Ok(HotViews {
            redis: ConnectionManager::new_lazy_with_config(target.client.clone(), config)?,
            keys: target.keys.clone(),
            timeout,
            resting_until: Mutex::new(None),
        })
    }

    fn resting(&self) -> bool {
        self.resting_until
            .lock()
            .map(|until| until.is_some_and(|until| Instant::now() < until))
            .unwrap_or(false)
    }

    fn rest(&self) {
        if let Ok(mut until) = self.resting_until.lock() {
            *until = Some(Instant::now() + REST_AFTER_FAILURE);
        }
    }

    /// The view of kind `V` under `key` (a cart id, a SKU), if Redis has it.
    /// `Ok(None)`: Redis answered without it. `Err`: Redis failed, timed out, or
    /// failed recently and was not asked (`SinkUnavailable`).
    pub async fn get<V: HotView>(&self, key: &str) -> Result<Option<HotRead<V>>, Error> {
        if self.resting() {
            return Err(Error::SinkUnavailable(
                "redis views: Redis failed moments ago".into(),
            ));
        }
        let mut call = scripts::READ.prepare_invoke();
        call.key(self.keys.generation())
            .arg(self.keys.generation_base())
            .arg(KeySpace::view_suffix::<V>(key));
        let mut redis = self.redis.clone();
        let read = call.invoke_async::<Vec<String>>(&mut redis);
        let answer = match tokio::time::timeout(self.timeout, read).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(error)) => {
                self.rest();
                return Err(error.into());
            }
            Err(_) => {
                self.rest();
                return Err(Error::SinkUnavailable(format!(
                    "redis views: no answer within {} ms",
                    self.timeout.as_millis()
                )));
            }
        };
        let [position, view, checkpoint] = answer.as_slice() else {
            return Ok(None);
        };
        if view.is_empty() {
            return Ok(None);
        }
        let invalid = |what: &str| Error::Rejected(format!("redis views: {key}: invalid {what}"));
        Ok(Some(HotRead {
            view: serde_json::from_str(view).map_err(|_| invalid("view"))?,
            position: position.parse().map_err(|_| invalid("position"))?,
            checkpoint: match checkpoint.as_str() {
                "" => None,
                text => Some(text.parse().map_err(|_| invalid("checkpoint"))?),
            },
        }))
    }
}
