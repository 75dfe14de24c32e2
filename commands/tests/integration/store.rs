//! The API's write path: cached aggregates, one-statement appends, consistency
//! tokens, and races between writers that do not share a cache.

use std::sync::Arc;

use commands::event_store::writer_options;
use commands::{
    execute, AggregateStore, AppendHook, CommandError, CommandMetadata, CommandOptions, Executed,
    StoreOptions,
};
use eventlog::{Checkpoint, LogWakeups, TransactionId};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::support::{write_pool, Tally};

fn metadata() -> CommandMetadata {
    CommandMetadata {
        actor: "user-1".into(),
        actor_role: "admin".into(),
        correlation_id: Uuid::from_u128(1),
        causation_id: None,
        request_id: Uuid::from_u128(2),
        command: "add".into(),
    }
}

async fn store(options: PgConnectOptions) -> Arc<AggregateStore<Tally>> {
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(writer_options(options))
        .await
        .unwrap();
    let wakeups = LogWakeups::local();
    AggregateStore::new(pool, wakeups, StoreOptions::default())
}

async fn add(
    store: &AggregateStore<Tally>,
    id: &str,
    amount: i64,
) -> Result<commands::Executed, CommandError<crate::support::WouldGoNegative>> {
    execute(
        store,
        id,
        amount,
        &metadata(),
        CommandOptions::default(),
        None,
    )
    .await
}

async fn stored_total(pool: &PgPool, id: &str) -> i64 {
    sqlx::query_scalar::<_, Option<i64>>(
        "SELECT sum((payload->'Added'->>'amount')::bigint)::bigint FROM events WHERE aggregate_id = $1",
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap()
    .unwrap_or(0)
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn answers_with_the_version_and_the_log_position_of_the_last_event(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let store = store(options).await;
    let first = add(&store, "t1", 5).await.unwrap();
    assert_eq!((first.version, first.appended), (1, 1));
    assert!(first.created());
    let second = add(&store, "t1", 7).await.unwrap();
    assert_eq!(second.version, 2);
    assert!(!second.created());
    let (transaction_id, position): (TransactionId, i64) = sqlx::query_as(
        "SELECT transaction_id, global_position FROM events WHERE aggregate_id = 't1' AND sequence = 2",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(
        second.head,
        Some(Checkpoint {
            transaction_id,
            global_position: position
        })
    );
    assert!(second.head > first.head);
    let metadata: serde_json::Value = sqlx::query_scalar(
        "SELECT metadata::jsonb FROM events WHERE aggregate_id = 't1' AND sequence = 2",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(metadata["actor"], "user-1");
    assert_eq!(metadata["command"], "add");
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_refusal_appends_nothing(_: PgPoolOptions, options: PgConnectOptions) {
    let store = store(options).await;
    add(&store, "t", 3).await.unwrap();
    let refused = add(&store, "t", -4).await;
    assert!(
        matches!(refused, Err(CommandError::Refused(_))),
        "{refused:?}"
    );
    assert_eq!(store.stored_version("t").await.unwrap(), 1);
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_process_with_a_stale_copy_decides_again_on_the_stored_aggregate(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    // Two processes: each caches what it wrote, neither sees the other's writes.
    let (one, two) = (store(options.clone()).await, store(options).await);
    add(&one, "t", 10).await.unwrap();
    add(&two, "t", -10).await.unwrap();
    // `one` still believes the total is 10: its append loses the race on the
    // primary key, it reloads, and now refuses, as the stored total is 0.
    let refused = add(&one, "t", -5).await;
    assert!(
        matches!(refused, Err(CommandError::Refused(_))),
        "{refused:?}"
    );
    // `two` believes 0 and would refuse; stored is 0 + one's +4: the refusal is
    // checked against the stored version and the command decided again.
    add(&one, "t", 4).await.unwrap();
    let accepted = add(&two, "t", -3).await.unwrap();
    assert_eq!(accepted.version, 4);
    assert_eq!(stored_total(one.pool(), "t").await, 1);
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn if_match_refuses_another_version_and_appends_nothing(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let store = store(options).await;
    add(&store, "t", 1).await.unwrap();
    add(&store, "t", 1).await.unwrap();
    let stale = CommandOptions {
        expected_version: Some(1),
        ..CommandOptions::default()
    };
    let outcome = execute(&store, "t", 1, &metadata(), stale, None).await;
    assert!(
        matches!(
            outcome,
            Err(CommandError::VersionMismatch {
                expected: 1,
                actual: 2
            })
        ),
        "{outcome:?}"
    );
    let current = CommandOptions {
        expected_version: Some(2),
        ..CommandOptions::default()
    };
    assert_eq!(
        execute(&store, "t", 1, &metadata(), current, None)
            .await
            .unwrap()
            .version,
        3
    );
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn concurrent_writers_in_two_processes_lose_nothing(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let (one, two) = (store(options.clone()).await, store(options).await);
    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = if i % 2 == 0 { one.clone() } else { two.clone() };
        tasks.push(tokio::spawn(async move { add(&store, "hot", 1).await }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(stored_total(one.pool(), "hot").await, 40);
    assert_eq!(one.stored_version("hot").await.unwrap(), 40);
}

/// Writes a marker row in the append's transaction, or fails it.
struct Marker {
    fail: bool,
}

#[async_trait::async_trait]
impl AppendHook for Marker {
    async fn within(&self, tx: &mut PgConnection, executed: &Executed) -> Result<(), sqlx::Error> {
        if self.fail {
            return Err(sqlx::Error::Protocol("hook failed".into()));
        }
        sqlx::query("CREATE TABLE IF NOT EXISTS marker (head text)")
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO marker VALUES ($1)")
            .bind(executed.head.map(|h| h.to_string()))
            .execute(&mut *tx)
            .await?;
        Ok(())
    }
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_hook_commits_with_the_events_or_neither_is_stored(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let store = store(options).await;
    let failing = Marker { fail: true };
    let outcome = execute(
        &store,
        "t",
        1,
        &metadata(),
        CommandOptions::default(),
        Some(&failing),
    )
    .await;
    assert!(outcome.is_err());
    assert_eq!(store.stored_version("t").await.unwrap(), 0);

    let marking = Marker { fail: false };
    let executed = execute(
        &store,
        "t",
        1,
        &metadata(),
        CommandOptions::default(),
        Some(&marking),
    )
    .await
    .unwrap();
    let marked: String = sqlx::query_scalar("SELECT head FROM marker")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(Some(marked), executed.head.map(|h| h.to_string()));
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn long_streams_load_from_a_snapshot_and_the_events_after_it(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = PgPoolOptions::new()
        .max_connections(3)
        .connect_with(writer_options(options))
        .await
        .unwrap();
    let wakeups = LogWakeups::local();
    let options = StoreOptions {
        cache_capacity: 0,
        snapshot_every: Some(4),
    };
    let store = AggregateStore::<Tally>::new(pool.clone(), wakeups, options);
    for _ in 0..10 {
        add(&store, "long", 2).await.unwrap();
    }
    let snapshot: (i64, serde_json::Value) = sqlx::query_as(
        "SELECT last_sequence, payload::jsonb FROM snapshots WHERE aggregate_id = 'long'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(snapshot, (8, serde_json::json!({ "total": 16 })));
    let loaded = store.load_stored("long").await.unwrap();
    assert_eq!((loaded.aggregate.total, loaded.version), (20, 10));
    assert!(loaded.head.is_some());
}

fn append(id: &str, sequences: &[i64]) -> commands::store::group_commit::Append {
    commands::store::group_commit::Append {
        aggregate_type: "tally",
        aggregate_id: id.to_owned(),
        metadata: "{}".to_owned(),
        sequences: sequences.to_vec(),
        types: sequences.iter().map(|_| "Added".to_owned()).collect(),
        versions: sequences.iter().map(|_| "1.0".to_owned()).collect(),
        payloads: sequences
            .iter()
            .map(|_| r#"{"Added":{"amount":1}}"#.to_owned())
            .collect(),
    }
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_group_commit_stores_every_command_but_those_that_lost_their_race(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = write_pool(options).await;
    let group = commands::store::GroupCommit::start(pool.clone());
    group.append(append("taken", &[1])).await.unwrap().unwrap();
    // Sent at once, so they share groups; each is all or nothing.
    let (fresh, conflicting, gap, pair) = tokio::join!(
        group.append(append("fresh", &[1])),
        group.append(append("taken", &[1, 2])),
        group.append(append("gap", &[2])),
        group.append(append("pair", &[1, 2])),
    );
    assert!(fresh.unwrap().is_some());
    assert!(
        conflicting.unwrap().is_none(),
        "sequence 1 of `taken` is stored already"
    );
    assert!(gap.unwrap().is_none(), "`gap` has no event 1 to follow");
    let pair = pair.unwrap().unwrap();
    let stored: Vec<(String, i64)> =
        sqlx::query_as("SELECT aggregate_id, sequence FROM events ORDER BY aggregate_id, sequence")
            .fetch_all(&pool)
            .await
            .unwrap();
    let expected = [("fresh", 1), ("pair", 1), ("pair", 2), ("taken", 1)];
    assert_eq!(
        stored,
        expected
            .iter()
            .map(|(id, s)| (id.to_string(), *s))
            .collect::<Vec<_>>()
    );
    let last: i64 = sqlx::query_scalar(
        "SELECT global_position FROM events WHERE aggregate_id = 'pair' AND sequence = 2",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        pair.global_position, last,
        "the head is the command's last event"
    );
}
