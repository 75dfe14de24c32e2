//! `stats` counts what the log holds; `tail` follows it live, filtered.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use sqlx::PgPool;

use crate::support::{database_url, product_log, replay_ok};

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn stats_count_by_aggregate_type_event_type_and_day(pool: PgPool) {
    product_log(&pool, 3, 2).await;
    let json: Vec<serde_json::Value> =
        serde_json::from_str(&replay_ok(&pool, &["stats", "--json"])).unwrap();
    let count = |event_type: &str| {
        json.iter()
            .filter(|row| row["event_type"] == event_type && row["aggregate_type"] == "Product")
            .map(|row| row["events"].as_i64().unwrap())
            .sum::<i64>()
    };
    assert_eq!(
        (count("ProductCreated"), count("ProductPriceChanged")),
        (3, 6)
    );
    let text = replay_ok(&pool, &["stats"]);
    assert!(text.starts_with("9 events"), "{text}");
    let none: Vec<serde_json::Value> = serde_json::from_str(&replay_ok(
        &pool,
        &["stats", "--json", "--aggregate-type", "Cart"],
    ))
    .unwrap();
    assert!(none.is_empty());
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn tail_prints_new_events_that_pass_its_filter(pool: PgPool) {
    let before = product_log(&pool, 1, 0).await;
    let head: (String,) = sqlx::query_as(
        "SELECT transaction_id::text || ':' || global_position FROM events WHERE global_position = $1",
    )
    .bind(before[0].global_position)
    .fetch_one(&pool)
    .await
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_commerce-replay"))
        .args([
            "tail", "--after", &head.0, "--actor", "actor-1", "--limit", "2",
        ])
        .args(["--database-url", &database_url(&pool)])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Products 0 and 2 are actor-0's, product 1 (two events) actor-1's.
    let written = product_log(&pool, 3, 1).await;
    let stdout = child.stdout.take().unwrap();
    let lines = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map(Result::unwrap)
            .collect::<Vec<_>>()
    });
    let lines = tokio::time::timeout(Duration::from_secs(30), lines)
        .await
        .expect("tail ends after --limit events")
        .unwrap();
    assert!(child.wait().unwrap().success());
    let positions: Vec<i64> = lines
        .iter()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).unwrap()["global_position"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(
        positions,
        vec![written[2].global_position, written[3].global_position]
    );
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_reader_that_stops_early_ends_the_run_quietly(pool: PgPool) {
    product_log(&pool, 20, 4).await;
    for args in [&["export"][..], &["stats"], &["verify"]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_commerce-replay"))
            .args(args)
            .args(["--database-url", &database_url(&pool)])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // `| head -0`: the reader is gone before the first line is written.
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
