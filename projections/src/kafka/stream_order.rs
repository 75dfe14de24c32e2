//! Sequence order per stream. The log reader's order, `(transaction_id,
//! global_position)`, can put an aggregate's event before an earlier event of the
//! same aggregate (a transaction that took its id early and appended late; see
//! `docs/event-store.md`). Kafka consumers are promised sequence order per key, so a
//! batch is sent stream by stream in sequence order, preceded by any earlier events
//! of its streams the reader has not reached yet. Those are sent again when the
//! reader reaches them: duplicates, which consumers drop by `event_id`.

use std::collections::HashMap;

use sqlx::PgPool;

use crate::Error;
use eventlog::RecordedEvent;

/// Events of the batch's streams that come before one of the batch's events in
/// their stream but after the whole batch in the reader's order: the predecessors
/// of each stream's first event (walking back while they are unread) and the holes
/// between its events. One statement, a few primary-key lookups per stream.
pub(crate) async fn late_events(
    pool: &PgPool,
    batch: &[RecordedEvent],
) -> Result<Vec<RecordedEvent>, Error> {
    let Some(last) = batch.last() else {
        return Ok(Vec::new());
    };
    let mut ranges: HashMap<(&str, &str), (i64, i64)> = HashMap::new();
    for event in batch {
        let range = ranges
            .entry((&event.aggregate_type, &event.aggregate_id))
            .or_insert((event.sequence, event.sequence));
        range.0 = range.0.min(event.sequence);
        range.1 = range.1.max(event.sequence);
    }
    let mut types = Vec::with_capacity(ranges.len());
    let mut ids = Vec::with_capacity(ranges.len());
    let mut firsts = Vec::with_capacity(ranges.len());
    let mut lasts = Vec::with_capacity(ranges.len());
    for ((aggregate_type, aggregate_id), (first, last)) in ranges {
        types.push(aggregate_type);
        ids.push(aggregate_id);
        firsts.push(first);
        lasts.push(last);
    }
    let checkpoint = last.checkpoint();
    let events = sqlx::query_as::<_, RecordedEvent>(
        "WITH RECURSIVE unread AS (
             SELECT e.aggregate_type, e.aggregate_id, e.sequence
               FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::bigint[])
                    AS s(aggregate_type, aggregate_id, first_sequence, last_sequence)
               JOIN events e
                 ON e.aggregate_type = s.aggregate_type
                AND e.aggregate_id = s.aggregate_id
                AND e.sequence >= s.first_sequence - 1
                AND e.sequence < s.last_sequence
              WHERE (e.transaction_id, e.global_position) > ($5, $6)
             UNION
             SELECT e.aggregate_type, e.aggregate_id, e.sequence
               FROM unread u
               JOIN events e
                 ON e.aggregate_type = u.aggregate_type
                AND e.aggregate_id = u.aggregate_id
                AND e.sequence = u.sequence - 1
              WHERE (e.transaction_id, e.global_position) > ($5, $6)
         )
         SELECT e.global_position, e.transaction_id, e.event_id, e.aggregate_type, e.aggregate_id,
                e.sequence, e.event_type, e.event_version, e.payload::text AS payload,
                e.metadata::text AS metadata, e.recorded_at
           FROM unread u
           JOIN events e USING (aggregate_type, aggregate_id, sequence)",
    )
    .bind(types)
    .bind(ids)
    .bind(firsts)
    .bind(lasts)
    .bind(checkpoint.transaction_id)
    .bind(checkpoint.global_position)
    .fetch_all(pool)
    .await?;
    Ok(events)
}

/// The order in which to send `batch` and its `late` events: each stream in
/// sequence order (each sequence once), streams in the order the batch first
/// mentions them.
pub(crate) fn send_order<'a>(
    batch: &'a [RecordedEvent],
    late: &'a [RecordedEvent],
) -> Vec<&'a RecordedEvent> {
    let mut index: HashMap<(&str, &str), usize> = HashMap::new();
    let mut streams: Vec<Vec<&RecordedEvent>> = Vec::new();
    for event in batch.iter().chain(late) {
        let slot = *index
            .entry((&event.aggregate_type, &event.aggregate_id))
            .or_insert_with(|| {
                streams.push(Vec::new());
                streams.len() - 1
            });
        streams[slot].push(event);
    }
    let mut ordered = Vec::with_capacity(batch.len() + late.len());
    for mut stream in streams {
        stream.sort_by_key(|event| event.sequence);
        stream.dedup_by_key(|event| event.sequence);
        ordered.extend(stream);
    }
    ordered
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use uuid::Uuid;

    use super::*;
    use eventlog::TransactionId;

    fn event(id: &str, sequence: i64, position: i64) -> RecordedEvent {
        RecordedEvent {
            global_position: position,
            transaction_id: TransactionId(1),
            event_id: Uuid::new_v4(),
            aggregate_type: "Cart".into(),
            aggregate_id: id.into(),
            sequence,
            event_type: "Happened".into(),
            event_version: "1.0".into(),
            payload: "{}".into(),
            metadata: "{}".into(),
            recorded_at: Utc::now(),
        }
    }

    fn sent(order: &[&RecordedEvent]) -> Vec<(String, i64)> {
        order
            .iter()
            .map(|e| (e.aggregate_id.clone(), e.sequence))
            .collect()
    }

    #[test]
    fn a_stream_read_out_of_order_is_sent_in_sequence_order() {
        let batch = [event("a", 2, 10), event("b", 1, 11), event("a", 1, 12)];
        let order = send_order(&batch, &[]);
        assert_eq!(
            sent(&order),
            [("a".into(), 1), ("a".into(), 2), ("b".into(), 1)]
        );
    }

    #[test]
    fn unread_predecessors_go_first_and_each_sequence_once() {
        let batch = [event("a", 3, 10), event("a", 2, 11)];
        let late = [event("a", 1, 20), event("a", 2, 11)];
        let order = send_order(&batch, &late);
        assert_eq!(
            sent(&order),
            [("a".into(), 1), ("a".into(), 2), ("a".into(), 3)]
        );
    }
}
