//! `commerce-replay verify` as an auditor runs it: exit 0 on an intact log, 1 and
//! the altered event's position when a payload was changed behind the triggers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use sqlx::PgPool;

fn verify(pool: &PgPool) -> std::process::Output {
    let server = std::env::var("DATABASE_URL").unwrap();
    let url = format!(
        "{}/{}",
        &server[..server.rfind('/').unwrap()],
        pool.connect_options().get_database().unwrap()
    );
    Command::new(env!("CARGO_BIN_EXE_commerce-replay"))
        .args(["verify", "--database-url", &url])
        .output()
        .unwrap()
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn verify_exits_non_zero_and_names_a_tampered_event(pool: PgPool) {
    for sequence in 1..=3 {
        sqlx::query(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
             VALUES ('payment', 'p1', $1, 'PaymentCaptured', '1.0', '{\"amount\": 100}', '{}')",
        )
        .bind(sequence)
        .execute(&pool)
        .await
        .unwrap();
    }
    let clean = verify(&pool);
    assert!(
        clean.status.success(),
        "{}",
        String::from_utf8_lossy(&clean.stdout)
    );
    assert!(String::from_utf8_lossy(&clean.stdout).contains("1 streams, 3 events checked: intact"));

    let tampered: i64 = sqlx::query_scalar("SELECT global_position FROM events WHERE sequence = 2")
        .fetch_one(&pool)
        .await
        .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("UPDATE events SET payload = '{\"amount\": 1}' WHERE global_position = $1")
        .bind(tampered)
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);

    let broken = verify(&pool);
    let stdout = String::from_utf8_lossy(&broken.stdout);
    assert_eq!(broken.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!("BROKEN position {tampered} payment/p1 sequence 2")),
        "{stdout}"
    );
    assert!(stdout.contains("1 broken"), "{stdout}");
}
