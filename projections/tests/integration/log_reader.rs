//! The gap-free reader against concurrent writers that commit out of position order.

use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eventlog::{
    read_batch, read_batch_of, read_batch_until, Checkpoint, LogTail, LogWakeups, PayloadsOf,
    RecordedEvent,
};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::support::{append, wait_until};

const WRITERS: i64 = 4;
const EVENTS_PER_WRITER: i64 = 25;

async fn write_concurrently(pool: &PgPool, round: &str) {
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let pool = pool.clone();
            let stream = format!("{round}-{writer}");
            tokio::spawn(async move {
                for sequence in 1..=EVENTS_PER_WRITER {
                    append(&pool, "cart", &stream, sequence, "ItemAdded").await;
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
}

/// Tails the log the way projectors do: woken by LISTEN/NOTIFY, polling as fallback.
fn gap_free_tail(pool: PgPool, cancel: CancellationToken) -> Arc<Mutex<Vec<RecordedEvent>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let wakeups = LogWakeups::start(pool.clone(), cancel.clone());
    let mut tail = LogTail::new(
        pool,
        wakeups.subscribe(),
        Checkpoint::START,
        Duration::from_millis(100),
    );
    let collected = seen.clone();
    tokio::spawn(async move {
        // Small batches, so the test crosses many batch boundaries.
        while let Some(batch) = tail.next_batch(7, &cancel).await.unwrap() {
            collected.lock().unwrap().extend(batch);
        }
    });
    seen
}

/// The hazard the design avoids: `global_position > last`, polled continuously.
fn naive_tail(pool: PgPool, cancel: CancellationToken) -> (Arc<Mutex<Vec<i64>>>, Arc<AtomicI64>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let highest = Arc::new(AtomicI64::new(0));
    let (collected, high) = (seen.clone(), highest.clone());
    tokio::spawn(async move {
        while !cancel.is_cancelled() {
            let positions: Vec<i64> = sqlx::query_scalar(
                "SELECT global_position FROM events WHERE global_position > $1 ORDER BY global_position",
            )
            .bind(high.load(Ordering::SeqCst))
            .fetch_all(&pool)
            .await
            .unwrap();
            if let Some(last) = positions.last() {
                high.store(*last, Ordering::SeqCst);
            }
            collected.lock().unwrap().extend(positions);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    (seen, highest)
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn no_event_is_skipped_when_transactions_commit_out_of_position_order(pool: PgPool) {
    let cancel = CancellationToken::new();
    let gap_free = gap_free_tail(pool.clone(), cancel.clone());
    let (naive, naive_highest) = naive_tail(pool.clone(), cancel.clone());

    // A transaction takes its position first and commits last.
    let mut held = pool.begin().await.unwrap();
    let held_position = append(&mut *held, "order", "held-open", 1, "OrderPlaced").await;
    write_concurrently(&pool, "before-commit").await;
    wait_until(
        Duration::from_secs(10),
        "the naive reader passed the held position",
        || {
            let highest = naive_highest.load(Ordering::SeqCst);
            async move { highest > held_position }
        },
    )
    .await;
    held.commit().await.unwrap();
    write_concurrently(&pool, "after-commit").await;

    let total = 1 + 2 * WRITERS * EVENTS_PER_WRITER;
    wait_until(
        Duration::from_secs(10),
        "the gap-free reader saw every event",
        || {
            let seen = gap_free.lock().unwrap().len() as i64;
            async move { seen >= total }
        },
    )
    .await;
    // Give a duplicate, if the reader produced one, time to show.
    tokio::time::sleep(Duration::from_millis(300)).await;
    cancel.cancel();

    let stored: HashSet<Uuid> = sqlx::query_scalar("SELECT event_id FROM events")
        .fetch_all(&pool)
        .await
        .unwrap()
        .into_iter()
        .collect();
    let gap_free = gap_free.lock().unwrap();
    let received: HashSet<Uuid> = gap_free.iter().map(|e| e.event_id).collect();
    assert_eq!(gap_free.len() as i64, total, "every event exactly once");
    assert_eq!(
        received, stored,
        "the gap-free reader received every stored event"
    );
    assert!(
        gap_free.iter().any(|e| e.global_position == held_position),
        "the late-committing event was delivered"
    );

    let naive = naive.lock().unwrap();
    assert!(
        !naive.contains(&held_position),
        "the naive reader should have skipped position {held_position}: the hazard is real"
    );
    assert!(
        (naive.len() as i64) < total,
        "the naive reader missed at least one event"
    );
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn reads_in_bounded_batches_in_transaction_order(pool: PgPool) {
    for stream in 0..3 {
        crate::support::append_stream(&pool, "product", &format!("p{stream}"), 5).await;
    }
    let mut checkpoint = Checkpoint::START;
    let mut all = Vec::new();
    // An empty batch means "nothing more yet": a transaction of another test in
    // the cluster may hold the horizon back for a moment.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while all.len() < 15 && std::time::Instant::now() < deadline {
        let batch = read_batch(&pool, checkpoint, 4).await.unwrap();
        assert!(batch.len() <= 4);
        let Some(last) = batch.last() else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        checkpoint = last.checkpoint();
        all.extend(batch);
    }
    assert_eq!(all.len(), 15);
    let order: Vec<Checkpoint> = all.iter().map(|e| e.checkpoint()).collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(
        order, sorted,
        "events come in (transaction_id, global_position) order"
    );
    assert!(
        all.iter().all(|e| e.payload.contains("\"n\"")),
        "payload text is kept"
    );
}

/// Reads the whole log (15 s at most for other tests' transactions to end).
async fn whole_log(pool: &PgPool, count: usize, payloads: &PayloadsOf) -> Vec<RecordedEvent> {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let mut all = Vec::new();
    while all.len() < count && std::time::Instant::now() < deadline {
        let after = all
            .last()
            .map_or(Checkpoint::START, RecordedEvent::checkpoint);
        let batch = read_batch_of(pool, after, 100, Some(payloads))
            .await
            .unwrap();
        if batch.is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        all.extend(batch);
    }
    all
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_reader_of_some_payloads_gets_every_event_and_only_those_payloads(pool: PgPool) {
    crate::support::append_stream(&pool, "product", "p1", 3).await;
    crate::support::append_stream(&pool, "cart", "c1", 3).await;
    append(&pool, "order", "o1", 1, "OrderPlaced").await;
    append(&pool, "order", "o1", 2, "OrderShipped").await;
    let payloads = PayloadsOf {
        aggregate_types: vec!["product"],
        event_types: vec!["OrderPlaced"],
    };
    let all = whole_log(&pool, 8, &payloads).await;
    assert_eq!(
        all.len(),
        8,
        "every event comes, with or without its payload"
    );
    for event in &all {
        let wanted = event.aggregate_type == "product" || event.event_type == "OrderPlaced";
        assert_eq!(payloads.wants(event), wanted);
        if wanted {
            assert!(event.payload.contains("\"n\""), "{event:?}");
        } else {
            assert_eq!(event.payload, "", "{event:?}");
        }
        assert!(event.metadata.contains("tester"), "metadata always comes");
    }
    // A rebuild's bounded reader passes the same choice.
    let until = all[5].checkpoint();
    let nothing = PayloadsOf::default();
    let first = read_batch_until(&pool, Checkpoint::START, until, 100, Some(&nothing))
        .await
        .unwrap();
    assert_eq!(first.len(), 6);
    assert!(first.iter().all(|e| e.payload.is_empty()));
    let every = read_batch_until(&pool, Checkpoint::START, until, 100, None)
        .await
        .unwrap();
    assert!(every.iter().all(|e| !e.payload.is_empty()));
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn an_open_transaction_holds_back_later_events_until_it_ends(pool: PgPool) {
    let mut held = pool.begin().await.unwrap();
    append(&mut *held, "order", "o1", 1, "OrderPlaced").await;
    append(&pool, "order", "o2", 1, "OrderPlaced").await;
    assert!(
        read_batch(&pool, Checkpoint::START, 100)
            .await
            .unwrap()
            .is_empty(),
        "a committed event behind an open older transaction is not readable yet"
    );
    held.rollback().await.unwrap();
    // Transactions of other databases on the cluster hold readers back too, briefly.
    wait_until(
        Duration::from_secs(10),
        "the later event became readable",
        || {
            let pool = pool.clone();
            async move {
                !read_batch(&pool, Checkpoint::START, 100)
                    .await
                    .unwrap()
                    .is_empty()
            }
        },
    )
    .await;
    let batch = read_batch(&pool, Checkpoint::START, 100).await.unwrap();
    assert_eq!(batch.len(), 1, "the rolled-back event never appears");
    assert_eq!(batch[0].aggregate_id, "o2");
}
