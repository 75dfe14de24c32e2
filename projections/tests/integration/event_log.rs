//! The event table's own guarantees: append-only, hash-chained, notifying, and a
//! refusal to read a log restored into a cluster whose transaction ids are behind.

use std::time::Duration;

use eventlog::horizon::ensure_cluster_ahead_of_log;
use eventlog::integrity::{verify_chains, ChainProblem, ChainScope};
use eventlog::Error;
use eventlog::EVENTS_CHANNEL;
use sqlx::postgres::PgListener;
use sqlx::PgPool;

use crate::support::{append, append_stream};

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn update_delete_and_truncate_are_refused(pool: PgPool) {
    append_stream(&pool, "cart", "c1", 2).await;
    for statement in [
        "UPDATE events SET payload = '{}'",
        "DELETE FROM events WHERE sequence = 2",
        "TRUNCATE events",
    ] {
        let error = sqlx::query(statement).execute(&pool).await.unwrap_err();
        assert!(
            error.to_string().contains("append-only"),
            "{statement}: unexpected error {error}"
        );
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 2, "nothing changed");
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn the_writer_cannot_choose_hash_transaction_or_time(pool: PgPool) {
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                             payload, metadata, transaction_id, recorded_at, hash)
         VALUES ('cart', 'c1', 1, 'Opened', '1.0', '{}', '{}', '1', '2000-01-01', '\\x00')",
    )
    .execute(&pool)
    .await
    .unwrap();
    let (hash_len, old_time, tiny_xid): (i32, bool, bool) = sqlx::query_as(
        "SELECT octet_length(hash), recorded_at < '2001-01-01', transaction_id = '1' FROM events",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(hash_len, 32);
    assert!(
        !old_time && !tiny_xid,
        "trigger overrides writer-supplied values"
    );
    assert!(verify_chains(&pool, &ChainScope::default())
        .await
        .unwrap()
        .is_intact());
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_stream_cannot_skip_a_sequence(pool: PgPool) {
    append(&pool, "cart", "c1", 1, "Opened").await;
    let error = sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         VALUES ('cart', 'c1', 3, 'ItemAdded', '1.0', '{}', '{}')",
    )
    .execute(&pool)
    .await
    .unwrap_err();
    assert!(error.to_string().contains("no predecessor"), "{error}");
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn chain_check_is_clean_on_an_intact_log_and_names_an_altered_event(pool: PgPool) {
    append_stream(&pool, "cart", "c1", 4).await;
    append_stream(&pool, "order", "o1", 3).await;
    append(&pool, "cart", "c2", 1, "Opened").await;

    let report = verify_chains(&pool, &ChainScope::default()).await.unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!((report.streams, report.events), (3, 8));

    let altered: i64 = sqlx::query_scalar(
        "SELECT global_position FROM events WHERE aggregate_id = 'c1' AND sequence = 3",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    // A superuser goes around the append-only triggers.
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("ALTER TABLE events DISABLE TRIGGER events_reject_update_delete")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("UPDATE events SET payload = '{\"n\": 3, \"id\": \"c1\", \"refund\": 1000}' WHERE global_position = $1")
        .bind(altered)
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("ALTER TABLE events ENABLE TRIGGER events_reject_update_delete")
        .execute(&mut *conn)
        .await
        .unwrap();

    let report = verify_chains(&pool, &ChainScope::default()).await.unwrap();
    assert_eq!(report.broken.len(), 1, "{report:?}");
    let broken = &report.broken[0];
    assert_eq!(broken.global_position, altered);
    assert_eq!((broken.aggregate_id.as_str(), broken.sequence), ("c1", 3));
    assert!(matches!(broken.problem, ChainProblem::HashMismatch { .. }));

    let scoped = verify_chains(
        &pool,
        &ChainScope {
            aggregate_type: Some("order".into()),
            aggregate_id: None,
        },
    )
    .await
    .unwrap();
    assert!(scoped.is_intact(), "other streams are unaffected");
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn chain_check_reports_a_removed_event_as_a_gap(pool: PgPool) {
    append_stream(&pool, "cart", "c1", 3).await;
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("DELETE FROM events WHERE sequence = 2")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("SET session_replication_role = origin")
        .execute(&mut *conn)
        .await
        .unwrap();

    let report = verify_chains(&pool, &ChainScope::default()).await.unwrap();
    assert_eq!(report.broken.len(), 1, "{report:?}");
    assert_eq!(report.broken[0].sequence, 3);
    assert_eq!(
        report.broken[0].problem,
        ChainProblem::SequenceGap {
            expected: 2,
            found: 3
        }
    );
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn inserts_notify_listeners_unless_the_writer_opts_out(pool: PgPool) {
    let mut listener = PgListener::connect_with(&pool).await.unwrap();
    listener.listen(EVENTS_CHANNEL).await.unwrap();

    append(&pool, "cart", "c1", 1, "Opened").await;
    let notified = tokio::time::timeout(Duration::from_secs(5), listener.recv()).await;
    assert!(notified.is_ok(), "an insert notifies the events channel");

    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SET LOCAL commerce.notify_on_insert = off")
        .execute(&mut *tx)
        .await
        .unwrap();
    append(&mut *tx, "cart", "c1", 2, "ItemAdded").await;
    tx.commit().await.unwrap();
    let notified = tokio::time::timeout(Duration::from_millis(500), listener.recv()).await;
    assert!(
        notified.is_err(),
        "a writer that coalesces its own NOTIFY is not notified for"
    );
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn refuses_a_log_whose_transaction_ids_are_ahead_of_the_cluster(pool: PgPool) {
    append(&pool, "cart", "c1", 1, "Opened").await;
    ensure_cluster_ahead_of_log(&pool).await.unwrap();

    // What a restore into a new cluster looks like: ids from a cluster that had
    // counted much further (here, a later epoch).
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                             payload, metadata, transaction_id, hash)
         VALUES ('cart', 'c1', 2, 'ItemAdded', '1.0', '{}', '{}', '100000000000000', '\\x00')",
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    sqlx::query("SET session_replication_role = origin")
        .execute(&mut *conn)
        .await
        .unwrap();

    let error = ensure_cluster_ahead_of_log(&pool).await.unwrap_err();
    assert!(matches!(
        error,
        Error::ClusterBehindLog {
            log_transaction_id: 100_000_000_000_000,
            ..
        }
    ));
    assert!(
        error.to_string().contains("docs/operations.md"),
        "the error says how to recover"
    );
}

/// A payload past the TOAST threshold is stored compressed with lz4 where the
/// server has it (the migration leaves pglz elsewhere), and the chain, which
/// covers the JSON text, still verifies.
#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn large_payloads_are_compressed_with_lz4_and_still_verify(pool: PgPool) {
    let has_lz4: bool = sqlx::query_scalar(
        "SELECT 'lz4' = ANY (enumvals) FROM pg_settings WHERE name = 'default_toast_compression'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let lines: serde_json::Map<String, serde_json::Value> = (0..200)
        .map(|n| (format!("SKU-{n:04}"), serde_json::json!(n)))
        .collect();
    let payload = serde_json::json!({"ItemAdded": {"lines": lines}});
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         VALUES ('Cart', 'c1', 1, 'ItemAdded', '3', $1, '{}')",
    )
    .bind(sqlx::types::Json(&payload))
    .execute(&pool)
    .await
    .unwrap();
    let (method, read): (Option<String>, serde_json::Value) = sqlx::query_as(
        "SELECT pg_column_compression(payload), payload::jsonb FROM events WHERE aggregate_id = 'c1'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let expected = if has_lz4 { "lz4" } else { "pglz" };
    assert_eq!(method.as_deref(), Some(expected));
    assert_eq!(read, payload);
    let report = verify_chains(&pool, &ChainScope::default()).await.unwrap();
    assert!(report.is_intact(), "{report:?}");
}
