//! [`SearchIndex`]: what searches read — the current generation's reader and the
//! log position it is known to have reached, for consistency tokens.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use tantivy::{Index, IndexReader, ReloadPolicy, Searcher};

use super::generations::{committed_position, Generations};
use super::schema::SearchFields;
use crate::Error;
use eventlog::Checkpoint;

/// The generation searches read now.
struct Live {
    generation: u64,
    reader: IndexReader,
    /// A lower bound of what `reader` shows: read from the commit before the
    /// reader was reloaded, so a search never claims more than it has.
    position: Checkpoint,
    index: Index,
}

/// The searchable index, shared by the API's handlers and, in the same process,
/// the indexer (which refreshes it after each commit). Another process's indexer
/// is followed by [`refresh`](Self::refresh), which the consistency wait calls,
/// and by tantivy's reload on commit.
pub struct SearchIndex {
    generations: Generations,
    fields: SearchFields,
    live: RwLock<Live>,
    last_refresh: Mutex<Instant>,
}

/// How stale a process's view of `CURRENT` may get when nothing asks for more.
const REFRESH_EVERY: Duration = Duration::from_secs(1);

impl SearchIndex {
    /// Opens the index under `root`, creating an empty first generation if none.
    pub fn open(root: impl Into<PathBuf>) -> Result<Arc<Self>, Error> {
        let generations = Generations::new(root);
        let fields = SearchFields::new();
        let (generation, index) = generations.open_current(&fields)?;
        let live = open_live(generation, index)?;
        Ok(Arc::new(SearchIndex {
            generations,
            fields,
            live: RwLock::new(live),
            last_refresh: Mutex::new(Instant::now()),
        }))
    }

    pub fn fields(&self) -> &SearchFields {
        &self.fields
    }

    pub(crate) fn generations(&self) -> &Generations {
        &self.generations
    }

    /// The generation searches read.
    pub fn generation(&self) -> u64 {
        self.read_live(|live| live.generation)
    }

    /// The log position searches are known to reflect.
    pub fn position(&self) -> Checkpoint {
        self.read_live(|live| live.position)
    }

    /// A searcher over the current generation (cheap: an `Arc` of segments).
    pub fn searcher(&self) -> Searcher {
        self.read_live(|live| live.reader.searcher())
    }

    /// The `Index` searches read, for its tokenizers.
    pub fn index(&self) -> Index {
        self.read_live(|live| live.index.clone())
    }

    fn read_live<T>(&self, read: impl FnOnce(&Live) -> T) -> T {
        // A panic while swapping leaves either the old or the new `Live`, both whole.
        read(&self.live.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Follows `CURRENT` and the current generation's last commit.
    pub fn refresh(&self) -> Result<(), Error> {
        *self
            .last_refresh
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
        let current = self.generations.current()?;
        let generation = self.generation();
        match current {
            Some(current) if current != generation => {
                let index = self.generations.open(current, &self.fields)?;
                let live = open_live(current, index)?;
                *self.live.write().unwrap_or_else(PoisonError::into_inner) = live;
            }
            _ => {
                let (index, reader) = self.read_live(|l| (l.index.clone(), l.reader.clone()));
                let position = committed_position(&index)?;
                reader.reload()?;
                let mut live = self.live.write().unwrap_or_else(PoisonError::into_inner);
                if live.generation == generation && position > live.position {
                    live.position = position;
                }
            }
        }
        Ok(())
    }

    /// Refreshes when the last refresh is older than a second: a search served by
    /// a process whose indexer runs elsewhere follows a swap within that time.
    pub fn refresh_if_stale(&self) -> Result<(), Error> {
        let last = *self
            .last_refresh
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if last.elapsed() >= REFRESH_EVERY {
            self.refresh()?;
        }
        Ok(())
    }

    /// Waits until searches reflect `token`, at most `bound`; false past it.
    pub async fn wait_for(&self, token: Checkpoint, bound: Duration) -> Result<bool, Error> {
        let deadline = Instant::now() + bound;
        let mut pause = Duration::from_millis(2);
        loop {
            if self.position() >= token {
                return Ok(true);
            }
            self.refresh()?;
            if self.position() >= token {
                return Ok(true);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(pause.min(deadline - now)).await;
            pause = (pause * 2).min(Duration::from_millis(25));
        }
    }
}

fn open_live(generation: u64, index: Index) -> Result<Live, Error> {
    let position = committed_position(&index)?;
    let reader = index
        .reader_builder()
        .reload_policy(ReloadPolicy::OnCommitWithDelay)
        .try_into()?;
    Ok(Live {
        generation,
        reader,
        position,
        index,
    })
}
