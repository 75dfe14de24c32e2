//! [`SearchIndexer`]: the side-effect sink that keeps the index current from
//! product and inventory events, its position in each commit's payload.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::num::NonZeroUsize;
use std::sync::Arc;

use async_trait::async_trait;
use lru::LruCache;
use sqlx::PgPool;
use tantivy::collector::TopDocs;
use tantivy::query::TermQuery;
use tantivy::schema::IndexRecordOption;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term};
use uuid::Uuid;

use super::documents::{
    decode_state, key_term, listing, listing_key, product_key, product_state, stock_key,
    stock_state,
};
use super::generations::committed_position;
use super::live::SearchIndex;
use super::schema::SearchFields;
use crate::read_models::document::{
    fold_stream, gap_after, read_stream_ranges, Gap, LogSource, View,
};
use crate::read_models::inventory::InventoryView;
use crate::read_models::products::{ProductStatus, ProductView};
use crate::runtime::SideEffectSink;
use crate::Error;
use eventlog::{Checkpoint, PayloadsOf, RecordedEvent};

/// The projector's name: its checkpoint row (a mirror of the index's payload).
pub const PROJECTOR: &str = "search";

/// The indexing buffer shared by the writer's threads.
const WRITER_MEMORY: usize = 64 * 1024 * 1024;
/// Views remembered between batches, per kind (a few MB): a rebuild folds most
/// events onto a view it wrote a moment ago.
const REMEMBERED_VIEWS: usize = 20_000;
/// More products than this under one SKU is not a catalog anyone keeps.
const PRODUCTS_PER_SKU: usize = 64;

/// Keeps the search index current. See the module documentation of
/// [`crate::search`] for why its position lives in the index.
pub struct SearchIndexer {
    pool: PgPool,
    live: Arc<SearchIndex>,
    /// Opened on first use, so a standby never takes the index's writer lock.
    target: tokio::sync::Mutex<Option<Target>>,
}

/// The generation being written: the live one, or during a rebuild its successor.
struct Target {
    generation: u64,
    writer: IndexWriter,
    reader: IndexReader,
    /// The position of the last commit: events at or before it are in the index.
    position: Checkpoint,
    /// During a rebuild: the generation searches still read, and the position this
    /// one must reach to replace it.
    replaces: Option<(u64, Checkpoint)>,
    products: LruCache<Uuid, ProductView>,
    stock: LruCache<String, InventoryView>,
}

impl Target {
    fn new(
        generation: u64,
        index: &Index,
        replaces: Option<(u64, Checkpoint)>,
    ) -> Result<Self, Error> {
        let capacity = NonZeroUsize::new(REMEMBERED_VIEWS).unwrap_or(NonZeroUsize::MIN);
        Ok(Target {
            generation,
            writer: index.writer(WRITER_MEMORY)?,
            reader: index
                .reader_builder()
                .reload_policy(ReloadPolicy::Manual)
                .try_into()?,
            position: committed_position(index)?,
            replaces,
            products: LruCache::new(capacity),
            stock: LruCache::new(capacity),
        })
    }

    /// Commits what was written with `to` as the payload: index and position in
    /// one atomic step.
    fn commit(&mut self, to: Checkpoint) -> Result<(), Error> {
        let mut prepared = self.writer.prepare_commit()?;
        prepared.set_payload(&to.to_string());
        prepared.commit()?;
        self.reader.reload()?;
        self.position = to;
        Ok(())
    }
}

impl SearchIndexer {
    pub fn new(pool: PgPool, live: Arc<SearchIndex>) -> Self {
        SearchIndexer {
            pool,
            live,
            target: tokio::sync::Mutex::new(None),
        }
    }

    fn fields(&self) -> &SearchFields {
        self.live.fields()
    }

    /// The generation to write: a rebuild left unfinished is resumed; generations
    /// neither current nor being built are leftovers, deleted.
    fn open_target(&self) -> Result<Target, Error> {
        let generations = self.live.generations();
        let (current, current_index) = generations.open_current(self.fields())?;
        let all = generations.list()?;
        let building = all.iter().copied().filter(|g| *g > current).max();
        for generation in all {
            if generation != current && Some(generation) != building {
                generations.remove(generation)?;
            }
        }
        match building {
            Some(building) => {
                let index = generations.open(building, self.fields())?;
                let goal = committed_position(&current_index)?;
                Target::new(building, &index, Some((current, goal)))
            }
            None => Target::new(current, &current_index, None),
        }
    }

    /// After a commit: searches see it, or, when a rebuild has caught up with the
    /// generation it replaces, searches move to the new one.
    fn publish(&self, target: &mut Target) -> Result<(), Error> {
        match target.replaces {
            None => self.live.refresh(),
            Some((old, goal)) if target.position >= goal => {
                self.live.generations().set_current(target.generation)?;
                target.replaces = None;
                self.live.refresh()?;
                tracing::info!(
                    generation = target.generation,
                    "search index rebuilt; searches moved to the new generation"
                );
                self.live.generations().remove(old)
            }
            Some(_) => Ok(()),
        }
    }

    fn apply(
        &self,
        target: &mut Target,
        batch: BTreeMap<Uuid, Vec<Cow<'_, RecordedEvent>>>,
        stock_batch: BTreeMap<String, Vec<Cow<'_, RecordedEvent>>>,
        to: Checkpoint,
    ) -> Result<(), Error> {
        let fields = self.fields().clone();
        let searcher = target.reader.searcher();

        let mut products: HashMap<Uuid, Option<ProductView>> = HashMap::new();
        let mut changed_products = BTreeSet::new();
        for (id, events) in batch {
            let current = load_product(target, &searcher, &fields, id)?;
            let refs: Vec<&RecordedEvent> = events.iter().map(AsRef::as_ref).collect();
            match fold_stream::<ProductView>(current.clone(), &refs)? {
                Some(folded) => {
                    products.insert(id, Some(folded.view));
                    changed_products.insert(id);
                }
                None => {
                    products.insert(id, current);
                }
            }
        }
        let mut stock: HashMap<String, Option<InventoryView>> = HashMap::new();
        let mut changed_stock = BTreeSet::new();
        for (sku, events) in stock_batch {
            let current = load_stock(target, &searcher, &fields, &sku)?;
            let refs: Vec<&RecordedEvent> = events.iter().map(AsRef::as_ref).collect();
            match fold_stream::<InventoryView>(current.clone(), &refs)? {
                Some(folded) => {
                    stock.insert(sku.clone(), Some(folded.view));
                    changed_stock.insert(sku);
                }
                None => {
                    stock.insert(sku, current);
                }
            }
        }

        // The listings to write again: changed products, and products whose SKU's
        // stock changed (the index knows them by SKU; this batch may add more).
        let mut relisted = changed_products.clone();
        for sku in &changed_stock {
            for id in products_with_sku(&searcher, &fields, sku)? {
                relisted.insert(id);
            }
            for (id, view) in &products {
                if view.as_ref().is_some_and(|v| &v.sku == sku) {
                    relisted.insert(*id);
                }
            }
        }

        for id in &changed_products {
            target
                .writer
                .delete_term(key_term(&fields, &product_key(*id)));
            if let Some(Some(view)) = products.get(id) {
                target.writer.add_document(product_state(&fields, view)?)?;
            }
        }
        for sku in &changed_stock {
            target
                .writer
                .delete_term(key_term(&fields, &stock_key(sku)));
            if let Some(Some(view)) = stock.get(sku) {
                target.writer.add_document(stock_state(&fields, view)?)?;
            }
        }
        for id in &relisted {
            let view = match products.get(id) {
                Some(view) => view.clone(),
                None => load_product(target, &searcher, &fields, *id)?,
            };
            target
                .writer
                .delete_term(key_term(&fields, &listing_key(*id)));
            let Some(view) = view else { continue };
            if view.status == ProductStatus::Published {
                let available = match stock.get(&view.sku) {
                    Some(found) => found.clone(),
                    None => load_stock(target, &searcher, &fields, &view.sku)?,
                };
                let in_stock = available.is_some_and(|s| s.available > 0);
                target
                    .writer
                    .add_document(listing(&fields, &view, in_stock))?;
            }
            products.insert(*id, Some(view));
        }

        target.commit(to)?;
        for (id, view) in products {
            if let Some(view) = view {
                target.products.put(id, view);
            }
        }
        for (sku, view) in stock {
            if let Some(view) = view {
                target.stock.put(sku, view);
            }
        }
        Ok(())
    }

    /// The events of a batch's streams that the log must supply first: the reader
    /// may deliver a stream's later event before an earlier one (see
    /// [`crate::read_models::document`]).
    async fn fill_gaps<'a>(
        &self,
        aggregate_type: &str,
        streams: &mut BTreeMap<String, Vec<Cow<'a, RecordedEvent>>>,
        versions: &HashMap<String, i64>,
    ) -> Result<(), Error> {
        let gaps: Vec<Gap<'_>> = streams
            .iter()
            .filter_map(|(id, events)| {
                let version = versions.get(id).copied().unwrap_or(0);
                let (after, up_to) = gap_after(version, events.iter().map(|e| e.sequence))?;
                Some(Gap {
                    key: id.clone(),
                    aggregate_id: events.first()?.aggregate_id.as_str(),
                    after,
                    up_to,
                })
            })
            .collect();
        if gaps.is_empty() {
            return Ok(());
        }
        let by_aggregate: HashMap<String, String> = gaps
            .iter()
            .map(|gap| (gap.aggregate_id.to_owned(), gap.key.clone()))
            .collect();
        let missing =
            read_stream_ranges(LogSource::Pool(&self.pool), aggregate_type, &gaps).await?;
        for event in missing {
            if let Some(events) = by_aggregate
                .get(&event.aggregate_id)
                .and_then(|key| streams.get_mut(key))
            {
                events.push(Cow::Owned(event));
            }
        }
        Ok(())
    }

    async fn deliver_fresh(
        &self,
        target: &mut Target,
        fresh: &[&RecordedEvent],
    ) -> Result<(), Error> {
        let Some(to) = fresh.last().map(|event| event.checkpoint()) else {
            return Ok(());
        };
        let mut product_streams: BTreeMap<String, Vec<Cow<'_, RecordedEvent>>> = BTreeMap::new();
        let mut stock_streams: BTreeMap<String, Vec<Cow<'_, RecordedEvent>>> = BTreeMap::new();
        for event in fresh {
            let streams = if event.aggregate_type == ProductView::AGGREGATE_TYPE {
                &mut product_streams
            } else if event.aggregate_type == InventoryView::AGGREGATE_TYPE {
                &mut stock_streams
            } else {
                continue;
            };
            streams
                .entry(event.aggregate_id.clone())
                .or_default()
                .push(Cow::Borrowed(*event));
        }

        let fields = self.fields().clone();
        let searcher = target.reader.searcher();
        let mut versions = HashMap::new();
        let mut products = BTreeMap::new();
        for (aggregate_id, events) in &product_streams {
            let id = Uuid::parse_str(aggregate_id).map_err(|e| {
                Error::Rejected(format!(
                    "search: product id {aggregate_id:?} is not a UUID: {e}"
                ))
            })?;
            let current = load_product(target, &searcher, &fields, id)?;
            versions.insert(
                aggregate_id.clone(),
                current.as_ref().map_or(0, View::version),
            );
            products.insert(aggregate_id.clone(), (id, events.len()));
        }
        self.fill_gaps(ProductView::AGGREGATE_TYPE, &mut product_streams, &versions)
            .await?;
        let mut versions = HashMap::new();
        for sku in stock_streams.keys() {
            let current = load_stock(target, &searcher, &fields, sku)?;
            versions.insert(sku.clone(), current.as_ref().map_or(0, View::version));
        }
        self.fill_gaps(InventoryView::AGGREGATE_TYPE, &mut stock_streams, &versions)
            .await?;

        let by_id = product_streams
            .into_iter()
            .filter_map(|(aggregate_id, events)| {
                products.get(&aggregate_id).map(|(id, _)| (*id, events))
            })
            .collect();
        self.apply(target, by_id, stock_streams, to)
    }
}

fn lookup(
    searcher: &Searcher,
    fields: &SearchFields,
    key: &str,
) -> Result<Option<TantivyDocument>, Error> {
    let query = TermQuery::new(key_term(fields, key), IndexRecordOption::Basic);
    let found = searcher.search(&query, &TopDocs::with_limit(1))?;
    match found.first() {
        Some((_, address)) => Ok(Some(searcher.doc(*address)?)),
        None => Ok(None),
    }
}

fn load_product(
    target: &mut Target,
    searcher: &Searcher,
    fields: &SearchFields,
    id: Uuid,
) -> Result<Option<ProductView>, Error> {
    if let Some(view) = target.products.get(&id) {
        return Ok(Some(view.clone()));
    }
    lookup(searcher, fields, &product_key(id))?
        .map(|doc| decode_state(fields, &doc))
        .transpose()
}

fn load_stock(
    target: &mut Target,
    searcher: &Searcher,
    fields: &SearchFields,
    sku: &str,
) -> Result<Option<InventoryView>, Error> {
    if let Some(view) = target.stock.get(sku) {
        return Ok(Some(view.clone()));
    }
    lookup(searcher, fields, &stock_key(sku))?
        .map(|doc| decode_state(fields, &doc))
        .transpose()
}

/// The products the index holds under `sku`.
fn products_with_sku(
    searcher: &Searcher,
    fields: &SearchFields,
    sku: &str,
) -> Result<Vec<Uuid>, Error> {
    let query = TermQuery::new(
        Term::from_field_text(fields.state_sku, sku),
        IndexRecordOption::Basic,
    );
    let mut ids = Vec::new();
    for (_, address) in searcher.search(&query, &TopDocs::with_limit(PRODUCTS_PER_SKU))? {
        let view: ProductView = decode_state(fields, &searcher.doc(address)?)?;
        ids.push(view.product_id);
    }
    Ok(ids)
}

#[async_trait]
impl SideEffectSink for SearchIndexer {
    fn name(&self) -> &str {
        PROJECTOR
    }

    fn payloads(&self) -> Option<PayloadsOf> {
        Some(PayloadsOf::aggregates(&[
            ProductView::AGGREGATE_TYPE,
            InventoryView::AGGREGATE_TYPE,
        ]))
    }

    /// Applies the events after the index's position and commits them with the new
    /// position; events at or before it were committed already and are passed
    /// over. A failure drops the writer, and with it everything uncommitted.
    async fn deliver(&self, events: &[RecordedEvent]) -> Result<(), Error> {
        let mut guard = self.target.lock().await;
        let target = match guard.as_mut() {
            Some(target) => target,
            None => guard.insert(self.open_target()?),
        };
        let fresh: Vec<&RecordedEvent> = events
            .iter()
            .filter(|event| event.checkpoint() > target.position)
            .collect();
        let outcome = match self.deliver_fresh(target, &fresh).await {
            Ok(()) => self.publish(target),
            Err(error) => Err(error),
        };
        if outcome.is_err() {
            *guard = None;
        }
        outcome
    }

    /// Starts a new generation beside the one searches read (which keeps serving
    /// until the new one has caught up), abandoning any rebuild in progress.
    async fn reset(&self) -> Result<(), Error> {
        let mut guard = self.target.lock().await;
        let generations = self.live.generations();
        if let Some(previous) = guard.take() {
            let abandoned = previous.replaces.is_some().then_some(previous.generation);
            drop(previous);
            if let Some(generation) = abandoned {
                generations.remove(generation)?;
            }
        }
        let (current, current_index) = generations.open_current(self.fields())?;
        let next = generations
            .list()?
            .last()
            .copied()
            .unwrap_or(current)
            .max(current)
            + 1;
        let index = generations.open(next, self.fields())?;
        let goal = committed_position(&current_index)?;
        let mut target = Target::new(next, &index, Some((current, goal)))?;
        // Committed at once, so that a restart finds the rebuild and resumes it.
        target.commit(Checkpoint::START)?;
        *guard = Some(target);
        Ok(())
    }

    async fn position(&self) -> Result<Option<Checkpoint>, Error> {
        let mut guard = self.target.lock().await;
        let target = match guard.as_mut() {
            Some(target) => target,
            None => guard.insert(self.open_target()?),
        };
        Ok(Some(target.position))
    }
}
