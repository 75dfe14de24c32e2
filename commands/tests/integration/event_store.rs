//! postgres-es, unchanged, on the extended event table.

use std::collections::HashMap;
use std::time::Duration;

use commands::event_store;
use commands::CommandMetadata;
use cqrs_es::persist::{PersistedEventRepository, PersistenceError, SerializedEvent};
use cqrs_es::AggregateError;
use eventlog::LogWakeups;
use postgres_es::PostgresEventRepository;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::{write_pool, Tally, WouldGoNegative};

/// The columns the store adds to what postgres-es writes.
#[derive(Debug, sqlx::FromRow)]
struct StoredColumns {
    sequence: i64,
    event_id: Uuid,
    global_position: i64,
    has_transaction: bool,
    hash_len: i32,
    correlation_id: Option<String>,
    causation_id: Option<String>,
    actor: Option<String>,
    actor_role: Option<String>,
}

fn metadata(correlation_id: Uuid) -> HashMap<String, String> {
    CommandMetadata {
        actor: "user-7".into(),
        actor_role: "admin".into(),
        correlation_id,
        causation_id: Some(Uuid::from_u128(9)),
        request_id: Uuid::from_u128(5),
        command: "add".into(),
    }
    .into_map()
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn postgres_es_appends_and_the_store_fills_the_added_columns(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = write_pool(options).await;
    let wakeups = LogWakeups::local();
    let mut woken = wakeups.subscribe();
    let cqrs = event_store::cqrs::<Tally>(pool.clone(), wakeups, ());
    let correlation = Uuid::from_u128(42);
    cqrs.execute_with_metadata("t1", 5, metadata(correlation))
        .await
        .unwrap();
    cqrs.execute_with_metadata("t1", 7, metadata(correlation))
        .await
        .unwrap();
    assert!(
        woken.wait(Duration::from_secs(1)).await,
        "a commit wakes tailing readers"
    );
    let refused = cqrs
        .execute_with_metadata("t1", -100, metadata(correlation))
        .await;
    assert!(matches!(
        refused,
        Err(AggregateError::UserError(WouldGoNegative))
    ));

    let rows: Vec<StoredColumns> = sqlx::query_as(
        "SELECT sequence, event_id, global_position, transaction_id > '0' AS has_transaction,
                octet_length(hash) AS hash_len, correlation_id, causation_id, actor, actor_role
           FROM events ORDER BY global_position",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 2, "the refused command appended nothing");
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.sequence, i as i64 + 1);
        assert!(!row.event_id.is_nil() && row.global_position > 0 && row.has_transaction);
        assert_eq!(row.hash_len, 32);
        assert_eq!(row.correlation_id, Some(correlation.to_string()));
        assert_eq!(row.causation_id, Some(Uuid::from_u128(9).to_string()));
        assert_eq!(row.actor.as_deref(), Some("user-7"));
        assert_eq!(row.actor_role.as_deref(), Some("admin"));
    }
    assert!(
        rows[0].global_position < rows[1].global_position,
        "positions follow the append order"
    );

    // postgres-es reads its own events back, unaware of the extra columns.
    let repository = PostgresEventRepository::new(pool.clone());
    let events = repository.get_events::<Tally>("t1").await.unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(
        events[1].payload,
        serde_json::json!({ "Added": { "amount": 7 } })
    );
    assert_eq!(events[1].metadata["command"], "add");
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn snapshots_hold_exactly_the_state_their_events_fold_to(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = write_pool(options).await;
    let cqrs = event_store::snapshot_cqrs::<Tally>(pool.clone(), LogWakeups::local(), 2, ());
    for amount in 1..=5 {
        cqrs.execute("t2", amount).await.unwrap();
    }
    let (last_sequence, snapshot): (i64, serde_json::Value) = sqlx::query_as(
        "SELECT last_sequence, payload::jsonb FROM snapshots WHERE aggregate_id = 't2'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        last_sequence, 4,
        "snapshotted when the stream crossed 4 events"
    );
    assert_eq!(
        snapshot["total"],
        1 + 2 + 3 + 4,
        "the snapshot counts each event once"
    );

    // Loading = snapshot + the events after it: the total is 15.
    let refused = cqrs.execute("t2", -16).await;
    assert!(
        matches!(refused, Err(AggregateError::UserError(_))),
        "{refused:?}"
    );
    cqrs.execute("t2", -15).await.unwrap();
    let sum: i64 = sqlx::query_scalar(
        "SELECT sum((payload -> 'Added' ->> 'amount')::bigint)::bigint FROM events",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(sum, 0);

    // A snapshot of an older shape of the aggregate is ignored, not trusted.
    sqlx::query("UPDATE snapshots SET payload = '{\"unknown\": true}'")
        .execute(&pool)
        .await
        .unwrap();
    let refused = cqrs.execute("t2", -1).await;
    assert!(
        matches!(refused, Err(AggregateError::UserError(_))),
        "the total replays to 0: {refused:?}"
    );
    cqrs.execute("t2", 4).await.unwrap();
    cqrs.execute("t2", 1).await.unwrap();
    let snapshots: Vec<(i64, serde_json::Value)> = sqlx::query_as(
        "SELECT last_sequence, payload::jsonb FROM snapshots WHERE aggregate_id = 't2'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        snapshots,
        vec![(8, serde_json::json!({ "total": 5 }))],
        "replaced in place"
    );
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn of_two_writers_at_the_same_sequence_exactly_one_succeeds(pool: PgPool) {
    let repository = std::sync::Arc::new(PostgresEventRepository::new(pool.clone()));
    let event = |amount: i64| {
        SerializedEvent::new(
            "t3".into(),
            1,
            "tally".into(),
            "Added".into(),
            "1.0".into(),
            serde_json::json!({ "Added": { "amount": amount } }),
            serde_json::json!({}),
        )
    };
    for round in 0..5 {
        let (first, second) = (event(round), event(round + 100));
        let (a, b) = (repository.clone(), repository.clone());
        let (one, other) = tokio::join!(
            tokio::spawn(async move { a.persist::<Tally>(&[first], None).await }),
            tokio::spawn(async move { b.persist::<Tally>(&[second], None).await }),
        );
        let outcomes = [one.unwrap(), other.unwrap()];
        if round == 0 {
            assert_eq!(
                outcomes.iter().filter(|o| o.is_ok()).count(),
                1,
                "{outcomes:?}"
            );
            assert!(
                outcomes
                    .iter()
                    .any(|o| matches!(o, Err(PersistenceError::OptimisticLockError))),
                "the loser gets a concurrency error: {outcomes:?}"
            );
        } else {
            // The stream already has sequence 1: both lose.
            assert!(outcomes
                .iter()
                .all(|o| matches!(o, Err(PersistenceError::OptimisticLockError))));
        }
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 1);
}
