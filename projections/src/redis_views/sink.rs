//! The side-effect sink that keeps the hot views: per batch, it folds the cart and
//! stock events onto the current views and writes the changed ones with one
//! script call.
//!
//! Round trips per batch: one in the steady state (the views it wrote last are
//! remembered, so only the script call goes out); one more to fetch the views it
//! does not remember; a read of the log only for streams whose earlier events it
//! has not seen (the reader delivered them out of stream order, or Redis lost
//! them).

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use lru::LruCache;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use sqlx::PgPool;

use super::keys::KeySpace;
use super::scripts;
use super::{HotView, RedisTarget};
use crate::read_models::carts::CartView;
use crate::read_models::document::{fill_gaps, fold_streams, streams_of, Folded, LogSource, View};
use crate::read_models::inventory::InventoryView;
use crate::runtime::{request_rebuild, SideEffectSink};
use crate::Error;
use eventlog::{Checkpoint, PayloadsOf, RecordedEvent, TransactionId};

/// The projector's name (its checkpoint row).
pub const PROJECTOR: &str = "redis_views";

/// Views of each kind remembered between batches.
const RECENT_VIEWS: usize = 20_000;

/// How long one call to Redis may take before the batch is retried later.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(1);

/// Which generations a batch goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Generations {
    /// What readers use; `None` only before the first batch of a rebuild that
    /// started on an empty Redis.
    read: Option<u64>,
    /// What this sink writes: `read`, or the generation a rebuild fills.
    write: u64,
}

/// Keeps the hot views in Redis. At least once: a batch delivered again changes
/// nothing (its events are at or below the views' versions, and its position is
/// not newer than theirs).
pub struct RedisViewsSink {
    redis: ConnectionManager,
    keys: KeySpace,
    /// The event store, for the events of a stream the sink has not seen.
    pool: PgPool,
    generations: Mutex<Option<Generations>>,
    carts: Recent<CartView>,
    stock: Recent<InventoryView>,
}

impl RedisViewsSink {
    /// A sink writing to `target`. Connects on first use, and reconnects after
    /// Redis went away: a Redis that is down only delays the views.
    pub fn new(target: &RedisTarget, pool: PgPool) -> Result<Self, Error> {
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(CONNECTION_TIMEOUT))
            // The runtime retries the batch with its own backoff.
            .set_number_of_retries(1);
        let redis = ConnectionManager::new_lazy_with_config(target.client.clone(), config)?;
        Ok(RedisViewsSink {
            redis,
            keys: target.keys.clone(),
            pool,
            generations: Mutex::new(None),
            carts: Recent::new(),
            stock: Recent::new(),
        })
    }

    fn remembered_generations(&self) -> MutexGuard<'_, Option<Generations>> {
        // Only whole values are ever stored in it.
        self.generations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Forgets all that was learnt from Redis: after a rebuild or a surprise.
    fn forget(&self) {
        *self.remembered_generations() = None;
        self.carts.clear();
        self.stock.clear();
    }

    /// The generations to write to, asked of Redis once and remembered.
    async fn generations(&self) -> Result<Generations, Error> {
        if let Some(generations) = *self.remembered_generations() {
            return Ok(generations);
        }
        let (read, building, created): (String, String, i64) = scripts::RESOLVE
            .key(self.keys.generation())
            .key(self.keys.building())
            .key(self.keys.generations())
            .invoke_async(&mut self.redis.clone())
            .await?;
        let read = parse_generation(&read)?;
        let write = match parse_generation(&building)? {
            Some(building) => building,
            None => read.ok_or_else(|| {
                Error::Rejected("redis views: Redis named no generation to write".into())
            })?,
        };
        if created == 1 {
            self.rebuild_if_redis_lost_its_views().await?;
        }
        let generations = Generations { read, write };
        *self.remembered_generations() = Some(generations);
        Ok(generations)
    }

    /// Redis holding no views while this projector has already moved past the
    /// start of the log means Redis lost them (restarted without persistence,
    /// flushed): the views are rebuilt from the log. Until then readers find
    /// nothing for the streams not touched since, and ask PostgreSQL.
    async fn rebuild_if_redis_lost_its_views(&self) -> Result<(), Error> {
        let reached: Option<(TransactionId, i64)> = sqlx::query_as(
            "SELECT transaction_id, global_position FROM projector_checkpoints WHERE projector = $1",
        )
        .bind(PROJECTOR)
        .fetch_optional(&self.pool)
        .await?;
        let started = reached.is_some_and(|(transaction_id, global_position)| {
            Checkpoint {
                transaction_id,
                global_position,
            } != Checkpoint::START
        });
        if started {
            tracing::warn!(
                projector = PROJECTOR,
                "Redis holds no hot views although they were written before: rebuilding them"
            );
            request_rebuild(&self.pool, PROJECTOR).await?;
        }
        Ok(())
    }

    /// The current views of the streams in `keys` of kind `V`: remembered, or
    /// fetched from the written generation in one pipelined round trip.
    async fn current<V: HotView>(
        &self,
        recent: &Recent<V>,
        generation: u64,
        keys: Vec<&str>,
    ) -> Result<HashMap<String, V>, Error> {
        let mut current = HashMap::with_capacity(keys.len());
        let mut missing = Vec::new();
        for key in keys {
            match recent.take(key) {
                Some(view) => {
                    current.insert(key.to_owned(), view);
                }
                None => missing.push(key),
            }
        }
        if missing.is_empty() {
            return Ok(current);
        }
        let mut pipeline = redis::pipe();
        for key in &missing {
            pipeline.hget(self.keys.view::<V>(generation, key), "view");
        }
        let stored: Vec<Option<String>> = pipeline.query_async(&mut self.redis.clone()).await?;
        for (key, json) in missing.into_iter().zip(stored) {
            let Some(json) = json else { continue };
            match serde_json::from_str::<V>(&json) {
                Ok(view) => {
                    current.insert(key.to_owned(), view);
                }
                // An older shape, say: folding the stream from the log replaces it.
                Err(error) => tracing::warn!(
                    projector = PROJECTOR,
                    key,
                    %error,
                    "unreadable hot view; folding it again from the log"
                ),
            }
        }
        Ok(current)
    }

    /// Folds the batch's events of kind `V` onto their current views.
    async fn fold<V: HotView>(
        &self,
        recent: &Recent<V>,
        generation: u64,
        events: &[RecordedEvent],
    ) -> Result<Vec<(String, Folded<V>)>, Error> {
        let mut streams = streams_of::<V>(events)?;
        if streams.is_empty() {
            return Ok(Vec::new());
        }
        let current = self
            .current(
                recent,
                generation,
                streams.keys().map(String::as_str).collect(),
            )
            .await?;
        fill_gaps::<V>(LogSource::Pool(&self.pool), &mut streams, &current).await?;
        fold_streams::<V>(streams, current)
    }

    /// Deletes every key of `generation`, a few hundred at a time. Best effort: a
    /// failure leaves unread keys behind, never a wrong answer.
    async fn drop_generation(&self, generation: u64) {
        let pattern = self.keys.generation_pattern(generation);
        let mut redis = self.redis.clone();
        let mut cursor: u64 = 0;
        loop {
            let scanned: Result<(u64, Vec<String>), _> = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(500)
                .query_async(&mut redis)
                .await;
            let (next, keys) = match scanned {
                Ok(scanned) => scanned,
                Err(error) => {
                    tracing::warn!(projector = PROJECTOR, generation, %error, "could not drop an old generation of the hot views");
                    return;
                }
            };
            if !keys.is_empty() {
                if let Err(error) = redis::cmd("UNLINK")
                    .arg(&keys)
                    .query_async::<i64>(&mut redis)
                    .await
                {
                    tracing::warn!(projector = PROJECTOR, generation, %error, "could not drop an old generation of the hot views");
                    return;
                }
            }
            if next == 0 {
                return;
            }
            cursor = next;
        }
    }
}

#[async_trait]
impl SideEffectSink for RedisViewsSink {
    fn name(&self) -> &str {
        PROJECTOR
    }

    fn payloads(&self) -> Option<PayloadsOf> {
        Some(PayloadsOf::aggregates(&[
            <CartView as View>::AGGREGATE_TYPE,
            <InventoryView as View>::AGGREGATE_TYPE,
        ]))
    }

    async fn deliver(&self, events: &[RecordedEvent]) -> Result<(), Error> {
        let Some(last) = events.last() else {
            return Ok(());
        };
        let position = last.checkpoint().to_string();
        let generations = self.generations().await?;
        let carts = self.fold(&self.carts, generations.write, events).await?;
        let stock = self.fold(&self.stock, generations.write, events).await?;

        let write_checkpoint = self.keys.checkpoint(generations.write);
        let mut call = scripts::APPLY.prepare_invoke();
        call.key(self.keys.generation())
            .key(self.keys.building())
            .key(&write_checkpoint)
            .key(
                generations
                    .read
                    .map_or(write_checkpoint.clone(), |read| self.keys.checkpoint(read)),
            )
            .arg(generations.read.map(|g| g.to_string()).unwrap_or_default())
            .arg(generations.write)
            .arg(&position);
        for (key, folded) in &carts {
            call.key(self.keys.view::<CartView>(generations.write, key))
                .arg(encode(key, &folded.view)?);
        }
        for (key, folded) in &stock {
            call.key(self.keys.view::<InventoryView>(generations.write, key))
                .arg(encode(key, &folded.view)?);
        }
        let outcome: Vec<i64> = call.invoke_async(&mut self.redis.clone()).await?;

        let (switched, refused) = match outcome.split_first() {
            Some((-1, _)) => {
                self.forget();
                return Err(Error::SinkUnavailable(
                    "redis views: the generations changed under this batch (a rebuild elsewhere, or Redis lost its data); retrying".into(),
                ));
            }
            Some((switched, refused)) => (*switched == 1, refused),
            None => {
                return Err(Error::Rejected(
                    "redis views: the apply script answered nothing".into(),
                ))
            }
        };
        // A refused value means another writer stored a newer one: ours is not it.
        let refused: Vec<usize> = refused
            .iter()
            .filter_map(|index| usize::try_from(*index).ok())
            .collect();
        let cart_count = carts.len();
        self.carts.remember(carts, |index| refused.contains(&index));
        self.stock
            .remember(stock, |index| refused.contains(&(cart_count + index)));

        if switched {
            *self.remembered_generations() = Some(Generations {
                read: Some(generations.write),
                write: generations.write,
            });
            tracing::info!(
                projector = PROJECTOR,
                generation = generations.write,
                "hot views rebuilt; readers switched to the new generation"
            );
            if let Some(old) = generations.read {
                self.drop_generation(old).await;
            }
        }
        Ok(())
    }

    /// Starts a new generation to write while readers keep the current one; the
    /// runtime then delivers the log again from the start.
    async fn reset(&self) -> Result<(), Error> {
        let (abandoned, generation): (String, String) = scripts::START_REBUILD
            .key(self.keys.building())
            .key(self.keys.generations())
            .invoke_async(&mut self.redis.clone())
            .await?;
        self.forget();
        tracing::info!(projector = PROJECTOR, generation = %generation, "rebuilding the hot views into a new generation");
        if let Some(abandoned) = parse_generation(&abandoned)? {
            self.drop_generation(abandoned).await;
        }
        Ok(())
    }
}

fn parse_generation(text: &str) -> Result<Option<u64>, Error> {
    if text.is_empty() {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|_| {
        Error::Rejected(format!(
            "redis views: {text:?} in Redis is not a generation number"
        ))
    })
}

fn encode<V: HotView>(key: &str, view: &V) -> Result<String, Error> {
    serde_json::to_string(view)
        .map_err(|e| Error::Rejected(format!("redis views: cannot encode {key}: {e}")))
}

/// The views of one kind this sink wrote last, in the generation it writes.
struct Recent<V>(Mutex<LruCache<String, V>>);

impl<V: HotView> Recent<V> {
    fn new() -> Self {
        Recent(Mutex::new(LruCache::new(
            NonZeroUsize::new(RECENT_VIEWS).unwrap_or(NonZeroUsize::MIN),
        )))
    }

    fn lock(&self) -> MutexGuard<'_, LruCache<String, V>> {
        // Entries are whole views only; a panic elsewhere cannot leave half of one.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the view out: it comes back, folded further, once written.
    fn take(&self, key: &str) -> Option<V> {
        self.lock().pop(key)
    }

    /// Remembers the views written, except those Redis refused.
    fn remember(&self, written: Vec<(String, Folded<V>)>, refused: impl Fn(usize) -> bool) {
        let mut recent = self.lock();
        for (index, (key, folded)) in written.into_iter().enumerate() {
            if !refused(index) {
                recent.put(key, folded.view);
            }
        }
    }

    fn clear(&self) {
        self.lock().clear();
    }
}
