//! Recently used aggregates, kept in memory so that a command on a hot aggregate
//! (a cart being filled) costs one INSERT and no load. Bounded: the least recently
//! used aggregate leaves first. A copy may be stale when other processes write
//! the same streams; the store's callers allow for that. Entries are shared, so a
//! lookup that only reads (a product's price, a promotion) copies nothing.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use lru::LruCache;

use super::Loaded;

pub struct AggregateCache<A> {
    /// `None` when the capacity is 0: caching is off.
    entries: Option<Mutex<LruCache<String, Arc<Loaded<A>>>>>,
}

impl<A> AggregateCache<A> {
    pub fn new(capacity: usize) -> Self {
        AggregateCache {
            entries: NonZeroUsize::new(capacity).map(|c| Mutex::new(LruCache::new(c))),
        }
    }

    pub fn get(&self, aggregate_id: &str) -> Option<Arc<Loaded<A>>> {
        let mut entries = self.entries.as_ref()?.lock().ok()?;
        entries.get(aggregate_id).cloned()
    }

    pub fn put(&self, aggregate_id: &str, loaded: Arc<Loaded<A>>) {
        if let Some(Ok(mut entries)) = self.entries.as_ref().map(Mutex::lock) {
            entries.put(aggregate_id.to_owned(), loaded);
        }
    }

    pub fn remove(&self, aggregate_id: &str) {
        if let Some(Ok(mut entries)) = self.entries.as_ref().map(Mutex::lock) {
            entries.pop(aggregate_id);
        }
    }
}
