//! `verify` as an auditor runs it: exit 0 on an intact log, 1 and the altered
//! event's position when a payload was changed behind the triggers.

use sqlx::PgPool;

use crate::support::{product_log, replay, replay_ok, tamper};

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn verify_exits_non_zero_and_names_a_tampered_event(pool: PgPool) {
    let written = product_log(&pool, 2, 2).await;
    let clean = replay_ok(&pool, &["verify"]);
    assert!(
        clean.contains("2 streams, 6 events checked: intact"),
        "{clean}"
    );

    let tampered = &written[1];
    tamper(
        &pool,
        r#"UPDATE events SET payload = '{"ProductPriceChanged": {}}' WHERE global_position = $1"#,
        tampered.global_position,
    )
    .await;

    let broken = replay(&pool, &["verify"]);
    let stdout = String::from_utf8_lossy(&broken.stdout);
    assert_eq!(broken.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "BROKEN position {} Product/",
            tampered.global_position
        )) && stdout.contains("sequence 2 (ProductPriceChanged"),
        "{stdout}"
    );
    assert!(stdout.contains("1 broken"), "{stdout}");

    let json = replay(&pool, &["verify", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["intact"], false);
    assert_eq!(
        report["broken"][0]["event_id"],
        tampered.event_id.to_string()
    );
    assert_eq!(report["broken"][0]["problem"], "hash_mismatch");
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_removed_event_shows_as_a_gap_in_its_stream(pool: PgPool) {
    let written = product_log(&pool, 1, 3).await;
    tamper(
        &pool,
        "DELETE FROM events WHERE global_position = $1",
        written[1].global_position,
    )
    .await;
    let output = replay(&pool, &["verify"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("sequence_gap"), "{stdout}");
    assert!(
        stdout.contains(&format!("BROKEN position {}", written[2].global_position)),
        "the event after the gap is named: {stdout}"
    );
}
