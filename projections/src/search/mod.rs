//! The product search: a tantivy index of published products, kept current from
//! product and inventory events by [`SearchIndexer`], read by [`search`] and
//! [`suggest`].
//!
//! # Where the position lives, and why the two copies agree
//!
//! The index is outside PostgreSQL, so a batch cannot be indexed and checkpointed
//! in one transaction. Instead the index is its own source of truth: every commit
//! carries, as its payload, the log position of the last event it contains. Index
//! and position are then one atomic write (tantivy's commit replaces `meta.json`
//! in a single rename).
//!
//! The runtime still keeps a checkpoint row for the `search` projector (lag,
//! health, consistency waits elsewhere), and moves it only after
//! [`deliver`](crate::runtime::SideEffectSink::deliver) has returned, that is
//! after the commit. So the row is never ahead of the index; at worst (a crash
//! between the commit and the row's update) it is behind. On start the runtime
//! asks the sink for its position
//! ([`position`](crate::runtime::SideEffectSink::position)) and sets the row to
//! it, and the sink passes over any event at or before its position should one be
//! delivered again. Nothing is applied twice, nothing is skipped.
//!
//! The indexer's own state (each product's folded view, published or not, and
//! each SKU's stock) is stored as documents of the same index, so it too commits
//! with the listings and the position: after a crash, everything the next event
//! is folded onto is exactly as of the payload's position.
//!
//! # Rebuilds
//!
//! A rebuild ([`crate::runtime::request_rebuild`]`("search")`) writes a new
//! generation beside the one searches read (see [`generations`]), which keeps
//! answering, frozen, until the new one reaches its position; then `CURRENT` is
//! swapped in one rename and the old generation deleted. During a rebuild the
//! position (and the checkpoint row) is the new generation's, so consistency
//! tokens wait (then answer 503) rather than serve what the frozen one lacks.

mod documents;
pub mod generations;
mod indexer;
mod live;
pub mod query;
mod schema;
mod searcher;

pub use indexer::{SearchIndexer, PROJECTOR};
pub use live::SearchIndex;
pub use schema::SearchFields;
pub use searcher::{
    search, suggest, FacetCount, SearchFacets, SearchHit, SearchRequest, SearchResults, SearchSort,
    Suggestions, MAX_SUGGESTIONS,
};
