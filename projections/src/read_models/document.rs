//! The one mechanism behind every document read model: a table with one row per
//! aggregate, holding the aggregate's whole view as `doc jsonb`, a few typed columns
//! copied out of it for filters and ordering, and the `position` and `updated_at`
//! of the last event folded in.
//!
//! A [`View`] says what differs from one read model to the next: its table, how an
//! event is keyed, how an event changes the view (a pure function), and which
//! columns to copy out. [`DocumentProjection`] does the rest, with a fixed number of
//! statements per batch whatever its size:
//!
//! 1. keep only the events of the view's aggregate type, judged by
//!    `aggregate_type` before any JSON is parsed, and group them by key;
//! 2. load the current rows of those keys in one `SELECT` (a join on the `UNNEST`
//!    of the keys); views this instance wrote itself and that are still current
//!    (same `position`) are not sent again;
//! 3. fold each stream's events onto its row in memory, in stream order;
//! 4. write every changed row back in one upsert (`UNNEST` of arrays).
//!
//! What must stay true:
//! - A stream's events are folded in `sequence` order, each exactly once. The
//!   runtime applies every batch once; on top of that, an event at or below the
//!   view's `version` is recognised as folded already and passed over.
//! - The reader delivers the log in `(transaction_id, global_position)` order,
//!   which is not always a stream's order: a transaction that took its id early can
//!   append sequence 6 after another appended sequence 5 and commit first. When a
//!   stream's next event is missing from a batch, the missing ones are read
//!   straight from the `events` table (they are committed: an event is only
//!   appended after its predecessor is visible), folded in order, and passed over
//!   when the reader delivers them later. Normal operation never needs that read.
//! - A view never recomputes business figures: events carry them.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use lru::LruCache;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::runtime::PostgresProjection;
use crate::Error;
use eventlog::{decode, PayloadsOf, RecordedEvent};

/// Where an event sits: what a fold may stamp on a view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventContext {
    pub global_position: i64,
    /// The event's number in its stream: the view's `version` after it.
    pub sequence: i64,
    pub recorded_at: DateTime<Utc>,
}

impl EventContext {
    pub fn of(event: &RecordedEvent) -> Self {
        EventContext {
            global_position: event.global_position,
            sequence: event.sequence,
            recorded_at: event.recorded_at,
        }
    }
}

/// What the key column holds, and so how an `aggregate_id` becomes a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// A `uuid` column; ids are normalised to the lower-case hyphenated form that
    /// PostgreSQL prints, so rows loaded back match the events' keys.
    Uuid,
    /// A `text` column, keyed by the aggregate id as it is.
    Text,
}

impl KeyKind {
    fn sql_type(self) -> &'static str {
        match self {
            KeyKind::Uuid => "uuid",
            KeyKind::Text => "text",
        }
    }

    /// The key of the row an event with this `aggregate_id` belongs to.
    pub fn key_of(self, aggregate_id: &str) -> Result<String, String> {
        match self {
            KeyKind::Uuid => Uuid::parse_str(aggregate_id)
                .map(|id| id.to_string())
                .map_err(|e| format!("aggregate id {aggregate_id:?} is not a UUID: {e}")),
            KeyKind::Text => Ok(aggregate_id.to_owned()),
        }
    }
}

/// One read model's shape: a view of one aggregate, folded from its events.
pub trait View: Serialize + DeserializeOwned + Clone + Send + Sync + Unpin + 'static {
    /// The projector's name (its checkpoint row). Never rename one that has run.
    const PROJECTOR: &'static str;
    /// The aggregate type whose events this view folds; all others are ignored.
    const AGGREGATE_TYPE: &'static str;
    const TABLE: &'static str;
    /// The primary key column; one row per stream.
    const KEY_COLUMN: &'static str;
    const KEY_KIND: KeyKind;
    /// The typed columns beside the key, each with the SQL expression that computes
    /// it from `doc`, the view as `jsonb` (`("status", "doc->>'status'")`). The
    /// database extracts them while it parses the documents anyway: cheaper than
    /// a second encoding of every row, and one place says what a column holds.
    const COLUMNS: &'static [(&'static str, &'static str)];

    /// The aggregate's event enum, as stored (after upcasting).
    type Event: DeserializeOwned;

    /// The view after `event`: pure, no I/O. `None` is a stream without a view yet.
    /// An event the view cannot take (anything but the creating event on an empty
    /// stream, say) is an error that stops the projector.
    fn fold(view: Option<Self>, event: Self::Event, at: &EventContext) -> Result<Self, String>;

    /// The sequence of the last event folded in.
    fn version(&self) -> i64;

    /// For a view that keeps personal data: the statement that overwrites what it
    /// keeps of a customer once they are erased (`CustomerErased`), with `{table}`
    /// for its table and `$1` for the customer's id. It runs in the batch's
    /// transaction, after the batch is folded; `$2` is the erasure's position,
    /// which the row should take (`position = greatest(position, $2)`): a view
    /// remembered by another instance at the old position is then read again,
    /// not written back. `None`: the view keeps nothing personal.
    const FORGET_CUSTOMER: Option<&'static str> = None;
}

/// The view of a stream that does not have one yet: the error every non-creating
/// event meets on an empty stream.
pub fn existing<V>(view: Option<V>, event: &str) -> Result<V, String> {
    view.ok_or_else(|| format!("{event} for a stream that has no creating event before it"))
}

/// The creating event of a stream that already has a view.
pub fn created_twice<V>(view: &Option<V>, event: &str) -> Result<(), String> {
    match view {
        Some(_) => Err(format!("{event} for a stream that already exists")),
        None => Ok(()),
    }
}

/// A view with the position and time of the last event folded into it.
#[derive(Debug, Clone, PartialEq)]
pub struct Folded<V> {
    pub view: V,
    pub position: i64,
    pub updated_at: DateTime<Utc>,
}

/// Folds one stream's `events` onto its current view, in sequence order, passing
/// over events already folded. `None` when no event was new. Pure.
///
/// The events must follow the view's version without a gap (sequence
/// `version + 1`, `+ 2`, …); a gap is an error naming the missing sequence.
pub fn fold_stream<V: View>(
    current: Option<V>,
    events: &[&RecordedEvent],
) -> Result<Option<Folded<V>>, Error> {
    let mut ordered: Vec<&RecordedEvent> = events.to_vec();
    ordered.sort_by_key(|event| event.sequence);
    let mut version = current.as_ref().map_or(0, V::version);
    let mut view = current;
    let mut last = None;
    for event in ordered {
        if event.sequence <= version {
            continue;
        }
        if event.sequence != version + 1 {
            return Err(rejected::<V>(
                event,
                &format!("sequence {} is missing from the log", version + 1),
            ));
        }
        let context = EventContext::of(event);
        let payload = decode::<V::Event>(event)?;
        let folded = V::fold(view, payload, &context).map_err(|e| rejected::<V>(event, &e))?;
        version = event.sequence;
        view = Some(folded);
        last = Some(context);
    }
    Ok(match (view, last) {
        (Some(view), Some(last)) => Some(Folded {
            view,
            position: last.global_position,
            updated_at: last.recorded_at,
        }),
        _ => None,
    })
}

fn rejected<V: View>(event: &RecordedEvent, reason: &str) -> Error {
    Error::Rejected(format!(
        "{projector}: cannot fold {event_type} (position {position}, {aggregate_type} {aggregate_id} #{sequence}): {reason}",
        projector = V::PROJECTOR,
        event_type = event.event_type,
        position = event.global_position,
        aggregate_type = event.aggregate_type,
        aggregate_id = event.aggregate_id,
        sequence = event.sequence,
    ))
}

/// The events of one stream in a batch, plus any read from the log to fill a gap.
pub(crate) struct Stream<'a> {
    aggregate_id: &'a str,
    events: Vec<Cow<'a, RecordedEvent>>,
}

impl Stream<'_> {
    /// `(after, up_to)` when the events above `version` do not follow it without a
    /// gap: the sequences the log must supply.
    fn gap(&self, version: i64) -> Option<(i64, i64)> {
        gap_after(version, self.events.iter().map(|event| event.sequence))
    }
}

/// `(after, up_to)` when `sequences` above `version` do not follow it without a
/// gap: the sequences the log must supply before they can be folded.
pub(crate) fn gap_after(version: i64, sequences: impl Iterator<Item = i64>) -> Option<(i64, i64)> {
    let mut sequences: Vec<i64> = sequences.filter(|sequence| *sequence > version).collect();
    sequences.sort_unstable();
    sequences.dedup();
    let up_to = *sequences.last()?;
    let contiguous = up_to - version == sequences.len() as i64;
    (!contiguous).then_some((version, up_to))
}

/// Sequences `after < sequence <= up_to` of a stream, to be read from the log.
pub(crate) struct Gap<'a> {
    pub(crate) key: String,
    pub(crate) aggregate_id: &'a str,
    pub(crate) after: i64,
    pub(crate) up_to: i64,
}

/// The upsert's parameters: one array per column, one entry per changed row.
struct Rows<'a> {
    keys: Vec<&'a str>,
    /// The views as JSON text; PostgreSQL parses each once, into `jsonb`.
    docs: Vec<String>,
    positions: Vec<i64>,
    times: Vec<DateTime<Utc>>,
}

impl<'a> Rows<'a> {
    fn encode<V: View>(folded: &'a [(String, Folded<V>)]) -> Result<Self, Error> {
        let mut rows = Rows {
            keys: Vec::with_capacity(folded.len()),
            docs: Vec::with_capacity(folded.len()),
            positions: Vec::with_capacity(folded.len()),
            times: Vec::with_capacity(folded.len()),
        };
        for (key, row) in folded {
            let doc = serde_json::to_string(&row.view).map_err(|e| {
                Error::Rejected(format!("{}: cannot encode {key}: {e}", V::PROJECTOR))
            })?;
            rows.keys.push(key);
            rows.docs.push(doc);
            rows.positions.push(row.position);
            rows.times.push(row.updated_at);
        }
        Ok(rows)
    }
}

/// The [`PostgresProjection`] of any [`View`].
pub struct DocumentProjection<V> {
    /// `V::TABLE`, unless the projection was built [`on_table`](Self::on_table).
    table: String,
    select_sql: String,
    upsert_sql: String,
    reset_sql: String,
    /// [`View::FORGET_CUSTOMER`] on this table.
    forget_sql: Option<String>,
    /// The views this instance wrote last, each with the position it wrote it at.
    /// Used only while the row still holds that position in the same table, so a
    /// rolled-back batch, a rebuild (in place or beside, then swapped in) or
    /// another instance's writes can never make it stale: a miss just loads the
    /// document.
    recent: Mutex<LruCache<String, (i64, V)>>,
    /// The oid of the table `recent` was written to; -1 before any is seen.
    table_oid: AtomicI64,
}

/// How many views each projection remembers between batches (a few MB).
const RECENT_VIEWS: usize = 10_000;

impl<V: View> Default for DocumentProjection<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V: View> DocumentProjection<V> {
    pub fn new() -> Self {
        Self::on_table(V::TABLE)
    }

    /// The same read model written to `table`, a copy of `V::TABLE`'s shape: a
    /// rebuild fills one beside the live table and swaps it in.
    pub fn on_table(table: &str) -> Self {
        let key = V::KEY_COLUMN;
        // The document only when the caller does not remember the row's position.
        // Remembered views count only in the table they were written to: a rebuild
        // swaps in a new table whose rows may hold other documents at the same
        // positions.
        let select_sql = format!(
            "SELECT wanted.key, row.position, row.tableoid::bigint,
                    CASE WHEN row.position = wanted.position AND row.tableoid::bigint = $3
                         THEN NULL ELSE row.doc END
               FROM UNNEST($1::text[], $2::bigint[]) AS wanted (key, position)
               JOIN {table} AS row ON row.{key} = wanted.key::{key_type}",
            key_type = V::KEY_KIND.sql_type(),
        );
        let columns: String = V::COLUMNS
            .iter()
            .map(|(column, _)| format!(", {column}"))
            .collect();
        let expressions: String = V::COLUMNS
            .iter()
            .map(|(_, expression)| format!(", {expression}"))
            .collect();
        let updates: String = V::COLUMNS
            .iter()
            .map(|(column, _)| *column)
            .chain(["doc", "position", "updated_at"])
            .map(|column| format!("{column} = EXCLUDED.{column}"))
            .collect::<Vec<_>>()
            .join(", ");
        // `OFFSET 0` keeps the subquery from being folded into the outer query,
        // which would parse each document once per column expression.
        let upsert_sql = format!(
            "INSERT INTO {table} ({key}{columns}, doc, position, updated_at)
             SELECT key::{key_type}{expressions}, doc, position, updated_at
               FROM (SELECT key, doc::jsonb AS doc, position, updated_at
                       FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::timestamptz[])
                            AS row (key, doc, position, updated_at)
                     OFFSET 0) AS row
             ON CONFLICT ({key}) DO UPDATE SET {updates}",
            key_type = V::KEY_KIND.sql_type(),
        );
        DocumentProjection {
            table: table.to_owned(),
            select_sql,
            upsert_sql,
            reset_sql: format!("TRUNCATE {table}"),
            forget_sql: V::FORGET_CUSTOMER.map(|sql| sql.replace("{table}", table)),
            table_oid: AtomicI64::new(-1),
            recent: Mutex::new(LruCache::new(
                NonZeroUsize::new(RECENT_VIEWS).unwrap_or(NonZeroUsize::MIN),
            )),
        }
    }

    fn recent(&self) -> MutexGuard<'_, LruCache<String, (i64, V)>> {
        // A panic elsewhere cannot leave the cache inconsistent: entries are only
        // ever whole views, checked against the table before use.
        self.recent.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The current views of `keys`, in one statement. Documents are only sent for
    /// rows this instance does not remember at their current position.
    async fn load(
        &self,
        tx: &mut PgConnection,
        keys: Vec<&str>,
    ) -> Result<HashMap<String, V>, Error> {
        let mut remembered: HashMap<&str, (i64, V)> = HashMap::new();
        {
            let mut recent = self.recent();
            for key in &keys {
                if let Some(entry) = recent.pop(*key) {
                    remembered.insert(key, entry);
                }
            }
        }
        let positions: Vec<i64> = keys
            .iter()
            .map(|key| remembered.get(key).map_or(-1, |(position, _)| *position))
            .collect();
        let table = self.table_oid.load(Ordering::Relaxed);
        let rows: Vec<(String, i64, i64, Option<Json<V>>)> = sqlx::query_as(&self.select_sql)
            .bind(&keys)
            .bind(positions)
            .bind(table)
            .fetch_all(tx)
            .await?;
        if let Some((_, _, now, _)) = rows.iter().find(|(_, _, oid, _)| *oid != table) {
            // Another table stands under the name now (a rebuild was swapped in):
            // every view remembered from the old one is forgotten. This batch's
            // rows were sent whole, since their table did not match.
            self.table_oid.store(*now, Ordering::Relaxed);
            self.recent().clear();
        }
        let mut current = HashMap::with_capacity(rows.len());
        for (key, position, _, doc) in rows {
            let view = match (doc, remembered.remove(key.as_str())) {
                (Some(Json(view)), _) => view,
                (None, Some((_, view))) => view,
                (None, None) => {
                    return Err(Error::Rejected(format!(
                        "{}: {key} at position {position} was neither sent nor remembered",
                        V::PROJECTOR
                    )))
                }
            };
            current.insert(key, view);
        }
        Ok(current)
    }
}

impl<V: View> DocumentProjection<V> {
    /// Folds the batch's events of `V`'s streams and writes the views they changed.
    async fn fold_batch(
        &self,
        tx: &mut PgConnection,
        events: &[RecordedEvent],
    ) -> Result<(), Error> {
        let mut streams = streams_of::<V>(events)?;
        if streams.is_empty() {
            return Ok(());
        }

        let current = self
            .load(&mut *tx, streams.keys().map(String::as_str).collect())
            .await?;
        fill_gaps::<V>(LogSource::Transaction(&mut *tx), &mut streams, &current).await?;

        let folded = fold_streams::<V>(streams, current)?;
        if folded.is_empty() {
            return Ok(());
        }
        let rows = Rows::encode(&folded)?;
        // The read model can always be rebuilt from the log, and it moves with its
        // checkpoint in this one transaction: a crash right after the commit loses
        // both together, and the batch is applied again. So the commit need not
        // wait for its WAL to reach the disk (a fifth faster rebuilds, measured).
        sqlx::query("SET LOCAL synchronous_commit = off")
            .execute(&mut *tx)
            .await?;
        sqlx::query(&self.upsert_sql)
            .bind(rows.keys)
            .bind(rows.docs)
            .bind(rows.positions)
            .bind(rows.times)
            .execute(&mut *tx)
            .await?;
        let mut recent = self.recent();
        for (key, row) in folded {
            recent.put(key, (row.position, row.view));
        }
        Ok(())
    }

    /// Overwrites what the view keeps of each customer the batch erases.
    async fn forget_erased(
        &self,
        tx: &mut PgConnection,
        events: &[RecordedEvent],
    ) -> Result<(), Error> {
        let Some(sql) = &self.forget_sql else {
            return Ok(());
        };
        let mut forgot = false;
        for event in events {
            if event.aggregate_type != "Customer" || event.event_type != "CustomerErased" {
                continue;
            }
            let Ok(customer) = uuid::Uuid::parse_str(&event.aggregate_id) else {
                continue;
            };
            sqlx::query(sql)
                .bind(customer)
                .bind(event.global_position)
                .execute(&mut *tx)
                .await?;
            forgot = true;
        }
        if forgot {
            // Remembered views still hold what was overwritten.
            self.recent().clear();
        }
        Ok(())
    }
}

#[async_trait]
impl<V: View> PostgresProjection for DocumentProjection<V> {
    fn name(&self) -> &str {
        V::PROJECTOR
    }

    fn payloads(&self) -> Option<PayloadsOf> {
        Some(PayloadsOf::aggregates(&[V::AGGREGATE_TYPE]))
    }

    async fn apply(&self, tx: &mut PgConnection, events: &[RecordedEvent]) -> Result<(), Error> {
        self.fold_batch(&mut *tx, events).await?;
        self.forget_erased(tx, events).await
    }
    async fn reset(&self, tx: &mut PgConnection) -> Result<(), Error> {
        sqlx::query(&self.reset_sql).execute(tx).await?;
        self.recent().clear();
        Ok(())
    }

    fn tables(&self) -> Vec<String> {
        vec![self.table.clone()]
    }

    fn writing_to(&self, shadow: &dyn Fn(&str) -> String) -> Option<Arc<dyn PostgresProjection>> {
        Some(Arc::new(Self::on_table(&shadow(&self.table))))
    }
}

/// The events of `V`'s aggregate type in `events`, grouped by key (the key of
/// `V`'s rows); everything else is passed over before its JSON is parsed.
pub(crate) fn streams_of<V: View>(
    events: &[RecordedEvent],
) -> Result<BTreeMap<String, Stream<'_>>, Error> {
    let mut streams: BTreeMap<String, Stream<'_>> = BTreeMap::new();
    for event in events
        .iter()
        .filter(|event| event.aggregate_type == V::AGGREGATE_TYPE)
    {
        let key = V::KEY_KIND
            .key_of(&event.aggregate_id)
            .map_err(|reason| rejected::<V>(event, &reason))?;
        streams
            .entry(key)
            .or_insert_with(|| Stream {
                aggregate_id: &event.aggregate_id,
                events: Vec::new(),
            })
            .events
            .push(Cow::Borrowed(event));
    }
    Ok(streams)
}

/// Adds to each stream the events the log holds between its view's version (in
/// `current`; 0 without a view) and the batch's events, when the reader delivered
/// them out of stream order: one statement for all streams, none in normal
/// operation.
pub(crate) async fn fill_gaps<V: View>(
    executor: LogSource<'_>,
    streams: &mut BTreeMap<String, Stream<'_>>,
    current: &HashMap<String, V>,
) -> Result<(), Error> {
    let gaps: Vec<Gap<'_>> = streams
        .iter()
        .filter_map(|(key, stream)| {
            let version = current.get(key).map_or(0, V::version);
            let (after, up_to) = stream.gap(version)?;
            Some(Gap {
                key: key.clone(),
                aggregate_id: stream.aggregate_id,
                after,
                up_to,
            })
        })
        .collect();
    if gaps.is_empty() {
        return Ok(());
    }
    let missing = read_stream_ranges(executor, V::AGGREGATE_TYPE, &gaps).await?;
    let by_aggregate_id: HashMap<&str, String> = gaps
        .iter()
        .map(|gap| (gap.aggregate_id, gap.key.clone()))
        .collect();
    for event in missing {
        if let Some(stream) = by_aggregate_id
            .get(event.aggregate_id.as_str())
            .and_then(|key| streams.get_mut(key))
        {
            stream.events.push(Cow::Owned(event));
        }
    }
    Ok(())
}

/// Folds every stream onto its view in `current` ([`fold_stream`]); the views
/// that changed, by key.
pub(crate) fn fold_streams<V: View>(
    streams: BTreeMap<String, Stream<'_>>,
    mut current: HashMap<String, V>,
) -> Result<Vec<(String, Folded<V>)>, Error> {
    let mut folded = Vec::with_capacity(streams.len());
    for (key, stream) in streams {
        let events: Vec<&RecordedEvent> = stream.events.iter().map(AsRef::as_ref).collect();
        if let Some(row) = fold_stream::<V>(current.remove(&key), &events)? {
            folded.push((key, row));
        }
    }
    Ok(folded)
}

/// The events that fill `gaps`, in one statement (served by the `events` primary
/// key).
/// Where events missing from a batch are read: the batch's own transaction, or
/// the pool of a sink outside PostgreSQL.
pub(crate) enum LogSource<'a> {
    Pool(&'a sqlx::PgPool),
    Transaction(&'a mut PgConnection),
}

pub(crate) async fn read_stream_ranges(
    source: LogSource<'_>,
    aggregate_type: &str,
    gaps: &[Gap<'_>],
) -> Result<Vec<RecordedEvent>, Error> {
    let aggregate_ids: Vec<&str> = gaps.iter().map(|gap| gap.aggregate_id).collect();
    let after: Vec<i64> = gaps.iter().map(|gap| gap.after).collect();
    let up_to: Vec<i64> = gaps.iter().map(|gap| gap.up_to).collect();
    let events = sqlx::query_as::<_, RecordedEvent>(
        "SELECT e.global_position, e.transaction_id, e.event_id, e.aggregate_type, e.aggregate_id,
                e.sequence, e.event_type, e.event_version, e.payload::text AS payload,
                e.metadata::text AS metadata, e.recorded_at
           FROM UNNEST($2::text[], $3::bigint[], $4::bigint[]) AS wanted(aggregate_id, after, up_to)
           JOIN events e
             ON e.aggregate_type = $1
            AND e.aggregate_id = wanted.aggregate_id
            AND e.sequence > wanted.after
            AND e.sequence <= wanted.up_to",
    )
    .bind(aggregate_type)
    .bind(aggregate_ids)
    .bind(after)
    .bind(up_to);
    let events = match source {
        LogSource::Pool(pool) => {
            let mut events = events.fetch_all(pool).await?;
            eventlog::personal::unseal(pool, &mut events)
                .await
                .map_err(eventlog::Error::from)?;
            events
        }
        LogSource::Transaction(tx) => {
            let mut events = events.fetch_all(&mut *tx).await?;
            eventlog::personal::unseal(&mut *tx, &mut events)
                .await
                .map_err(eventlog::Error::from)?;
            events
        }
    };
    Ok(events)
}

/// The view stored under `key`, if any.
pub(crate) async fn get<'e, V, K>(executor: impl PgExecutor<'e>, key: K) -> Result<Option<V>, Error>
where
    V: View,
    K: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + 'static,
{
    let sql = format!(
        "SELECT doc FROM {table} WHERE {key_column} = $1",
        table = V::TABLE,
        key_column = V::KEY_COLUMN
    );
    let view: Option<Json<V>> = sqlx::query_scalar(&sql)
        .bind(key)
        .fetch_optional(executor)
        .await?;
    Ok(view.map(|Json(view)| view))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde::Deserialize;

    use super::*;
    use eventlog::TransactionId;

    /// A toy view: a running total, opened once.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Tally {
        total: i64,
        version: i64,
        updated_at: DateTime<Utc>,
    }

    #[derive(Deserialize)]
    enum TallyEvent {
        Opened,
        Added(i64),
    }

    impl View for Tally {
        const PROJECTOR: &'static str = "tallies";
        const AGGREGATE_TYPE: &'static str = "Tally";
        const TABLE: &'static str = "read_tallies";
        const KEY_COLUMN: &'static str = "tally_id";
        const KEY_KIND: KeyKind = KeyKind::Uuid;
        const COLUMNS: &'static [(&'static str, &'static str)] =
            &[("total", "(doc->>'total')::bigint")];
        type Event = TallyEvent;

        fn fold(view: Option<Self>, event: TallyEvent, at: &EventContext) -> Result<Self, String> {
            let total = match event {
                TallyEvent::Opened => {
                    created_twice(&view, "Opened")?;
                    0
                }
                TallyEvent::Added(n) => existing(view, "Added")?.total + n,
            };
            Ok(Tally {
                total,
                version: at.sequence,
                updated_at: at.recorded_at,
            })
        }

        fn version(&self) -> i64 {
            self.version
        }
    }

    fn recorded(sequence: i64, payload: &str) -> RecordedEvent {
        RecordedEvent {
            global_position: 100 + sequence,
            transaction_id: TransactionId(7),
            event_id: Uuid::from_u128(sequence as u128),
            aggregate_type: "Tally".into(),
            aggregate_id: "00000000-0000-0000-0000-00000000000a".into(),
            sequence,
            event_type: "Added".into(),
            event_version: "1".into(),
            payload: payload.into(),
            metadata: "{}".into(),
            recorded_at: Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
                + chrono::Duration::seconds(sequence),
        }
    }

    fn stream() -> Vec<RecordedEvent> {
        vec![
            recorded(1, r#""Opened""#),
            recorded(2, r#"{"Added": 5}"#),
            recorded(3, r#"{"Added": 10}"#),
        ]
    }

    #[test]
    fn a_stream_is_folded_in_sequence_order_whatever_order_it_arrives_in() {
        let events = stream();
        let shuffled = [&events[2], &events[0], &events[1]];
        let folded = fold_stream::<Tally>(None, &shuffled).unwrap().unwrap();
        assert_eq!((folded.view.total, folded.view.version), (15, 3));
        assert_eq!(
            (folded.position, folded.updated_at),
            (103, events[2].recorded_at),
            "the last event in stream order"
        );
    }

    #[test]
    fn events_already_folded_are_passed_over_and_nothing_new_is_none() {
        let events = stream();
        let all: Vec<&RecordedEvent> = events.iter().collect();
        let after_two = fold_stream::<Tally>(None, &all[..2]).unwrap().unwrap().view;
        let again = fold_stream::<Tally>(Some(after_two.clone()), &all)
            .unwrap()
            .unwrap();
        assert_eq!((again.view.total, again.view.version), (15, 3));
        assert_eq!(
            fold_stream::<Tally>(Some(after_two), &all[..2]).unwrap(),
            None
        );
    }

    #[test]
    fn a_gap_in_a_stream_is_an_error_naming_the_missing_sequence() {
        let events = stream();
        let error = fold_stream::<Tally>(None, &[&events[0], &events[2]]).unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("sequence 2 is missing") && message.contains("position 103"),
            "{message}"
        );
        let stream = Stream {
            aggregate_id: "a",
            events: vec![Cow::Borrowed(&events[0]), Cow::Borrowed(&events[2])],
        };
        assert_eq!(stream.gap(0), Some((0, 3)));
        assert_eq!(stream.gap(1), Some((1, 3)));
        assert_eq!(stream.gap(3), None, "nothing above the version");
        let whole = Stream {
            aggregate_id: "a",
            events: events.iter().map(Cow::Borrowed).collect(),
        };
        assert_eq!(whole.gap(0), None);
    }

    #[test]
    fn an_event_the_view_cannot_take_is_an_error_naming_it() {
        let orphan = recorded(1, r#"{"Added": 1}"#);
        let message = fold_stream::<Tally>(None, &[&orphan])
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("tallies")
                && message.contains("position 101")
                && message.contains("no creating event"),
            "{message}"
        );
        let garbled = recorded(1, r#"{"Subtracted": 1}"#);
        assert!(matches!(
            fold_stream::<Tally>(None, &[&garbled]),
            Err(Error::Log(eventlog::Error::Decode {
                global_position: 101,
                ..
            }))
        ));
    }

    #[test]
    fn uuid_keys_are_normalised_and_other_ids_refused() {
        assert_eq!(
            KeyKind::Uuid.key_of("0000000A-0000-0000-0000-00000000000B"),
            Ok("0000000a-0000-0000-0000-00000000000b".to_owned())
        );
        assert!(KeyKind::Uuid.key_of("cart-1").is_err());
        assert_eq!(KeyKind::Text.key_of("MUG-1"), Ok("MUG-1".to_owned()));
    }

    #[test]
    fn the_statements_name_the_view_s_table_key_and_columns() {
        let projection = DocumentProjection::<Tally>::new();
        assert!(projection
            .upsert_sql
            .contains("INSERT INTO read_tallies (tally_id, total, doc, position, updated_at)"));
        assert!(projection
            .upsert_sql
            .contains("key::uuid, (doc->>'total')::bigint, doc, position, updated_at"));
        assert!(projection.upsert_sql.contains(
            "ON CONFLICT (tally_id) DO UPDATE SET total = EXCLUDED.total, doc = EXCLUDED.doc"
        ));
        assert!(projection
            .select_sql
            .contains("JOIN read_tallies AS row ON row.tally_id = wanted.key::uuid"));
        assert_eq!(projection.reset_sql, "TRUNCATE read_tallies");
    }

    #[test]
    fn a_projection_writing_to_a_shadow_table_names_only_that_table() {
        let live = DocumentProjection::<Tally>::new();
        assert_eq!(live.tables(), ["read_tallies"]);
        let shadow = live
            .writing_to(&|table| format!("{table}__rebuild"))
            .unwrap();
        assert_eq!(shadow.name(), "tallies", "the live projector's name");
        assert_eq!(shadow.tables(), ["read_tallies__rebuild"]);

        let projection = DocumentProjection::<Tally>::on_table("read_tallies__rebuild");
        for sql in [
            &projection.select_sql,
            &projection.upsert_sql,
            &projection.reset_sql,
        ] {
            assert!(sql.contains("read_tallies__rebuild"), "{sql}");
            assert!(!sql.contains("read_tallies "), "{sql}");
        }
    }
}
