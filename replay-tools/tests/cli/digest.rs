//! `digest` and `verify --digest`: a signed root over the log that later proves
//! the log up to its checkpoint unchanged, or shows that it changed.

use sqlx::PgPool;

use domain::shared::ProductId;
use eventlog::integrity::GENESIS_HASH;
use eventlog::query::stream_history;
use uuid::Uuid;

use crate::support::{append, product_events, product_log, replay, replay_ok, tamper};

struct Keys {
    _dir: tempfile::TempDir,
    secret: String,
    public: String,
}

fn keygen() -> Keys {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("auditor.key");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_commerce-replay"))
        .args(["keygen", "--out", secret.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(output.status.success());
    let public = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    assert_eq!(public.len(), 64, "{public}");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&secret).unwrap().permissions());
    assert_eq!(
        mode & 0o077,
        0,
        "the signing key is readable by its owner only"
    );
    Keys {
        secret: secret.to_str().unwrap().to_owned(),
        public,
        _dir: dir,
    }
}

fn sign(pool: &PgPool, keys: &Keys, dir: &tempfile::TempDir) -> String {
    let path = dir.path().join("digest.json");
    replay_ok(
        pool,
        &[
            "digest",
            "--signing-key",
            &keys.secret,
            "--output",
            path.to_str().unwrap(),
        ],
    );
    path.to_str().unwrap().to_owned()
}

fn verify_digest(pool: &PgPool, digest: &str, public: &str) -> (Option<i32>, String) {
    let output = replay(
        pool,
        &["verify", "--digest", digest, "--public-key", public],
    );
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_digest_holds_while_the_log_only_grows(pool: PgPool) {
    let keys = keygen();
    let dir = tempfile::tempdir().unwrap();
    product_log(&pool, 3, 2).await;
    let digest = sign(&pool, &keys, &dir);
    let stated: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&digest).unwrap()).unwrap();
    assert_eq!(
        (stated["events"].as_u64(), stated["streams"].as_u64()),
        (Some(9), Some(3))
    );

    // Appending is what a log does: the digest still holds.
    product_log(&pool, 2, 1).await;
    let (code, stdout) = verify_digest(&pool, &digest, &keys.public);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains("(9 events, 3 streams) is the one signed"),
        "{stdout}"
    );
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_digest_exposes_an_altered_removed_or_inserted_event(pool: PgPool) {
    let keys = keygen();
    let dir = tempfile::tempdir().unwrap();
    let written = product_log(&pool, 2, 2).await;
    let digest = sign(&pool, &keys, &dir);

    // A stream's last event removed: no gap to see, but the head moved.
    tamper(
        &pool,
        "DELETE FROM events WHERE global_position = $1",
        written[5].global_position,
    )
    .await;
    let (code, stdout) = verify_digest(&pool, &digest, &keys.public);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("DIGEST MISMATCH")
            && stdout.contains("5 events in 2 streams (signed: 6 in 2)"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("BROKEN"),
        "the chains alone do not see it: {stdout}"
    );
}

/// Recomputes every hash of a stream in order, behind the triggers: an attacker
/// who knows the hash function leaves chains that check out.
async fn rehash_stream(pool: &PgPool, aggregate_type: &str, aggregate_id: &str) {
    let history = stream_history(pool, aggregate_type, aggregate_id)
        .await
        .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut *conn)
        .await
        .unwrap();
    let mut previous = GENESIS_HASH.to_vec();
    for hashed in history {
        let hash = hashed.expected_hash(&previous).to_vec();
        sqlx::query("UPDATE events SET hash = $1 WHERE global_position = $2")
            .bind(&hash)
            .bind(hashed.event.global_position)
            .execute(&mut *conn)
            .await
            .unwrap();
        previous = hash;
    }
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_digest_exposes_a_rewritten_chain_and_refuses_another_key(pool: PgPool) {
    let keys = keygen();
    let dir = tempfile::tempdir().unwrap();
    let written = product_log(&pool, 2, 2).await;
    let digest = sign(&pool, &keys, &dir);

    tamper(
        &pool,
        "UPDATE events SET payload = replace(payload::text, '1010', '9999')::json WHERE global_position = $1",
        written[1].global_position,
    )
    .await;
    let (aggregate_type, aggregate_id): (String, String) = sqlx::query_as(
        "SELECT aggregate_type, aggregate_id FROM events WHERE global_position = $1",
    )
    .bind(written[1].global_position)
    .fetch_one(&pool)
    .await
    .unwrap();
    rehash_stream(&pool, &aggregate_type, &aggregate_id).await;
    let chains = replay_ok(&pool, &["verify"]);
    assert!(
        chains.contains("intact"),
        "the chains alone are fooled: {chains}"
    );

    let (code, stdout) = verify_digest(&pool, &digest, &keys.public);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("DIGEST MISMATCH")
            && stdout.contains("6 events in 2 streams (signed: 6 in 2)"),
        "{stdout}"
    );

    // The digest checked against a key the auditor does not hold is refused.
    let other = keygen();
    let (code, stdout) = verify_digest(&pool, &digest, &other.public);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("signature does not match"), "{stdout}");
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_digest_exposes_an_event_slipped_in_before_its_checkpoint(pool: PgPool) {
    let keys = keygen();
    let dir = tempfile::tempdir().unwrap();
    product_log(&pool, 2, 1).await;
    let digest = sign(&pool, &keys, &dir);

    // A new stream, written with a forged old transaction id and position so that
    // it sorts before the checkpoint, with a hash that chains correctly.
    let product_id = ProductId::new(Uuid::new_v4());
    let forged = append(
        &pool,
        "Product",
        &product_id.to_string(),
        1,
        &product_events(product_id, "FORGED-1", &[])[0],
        "actor-0",
        Uuid::new_v4(),
    )
    .await;
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("UPDATE events SET transaction_id = '3' WHERE global_position = $1")
        .bind(forged.global_position)
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    rehash_stream(&pool, "Product", &product_id.to_string()).await;
    assert!(replay_ok(&pool, &["verify"]).contains("intact"));

    let (code, stdout) = verify_digest(&pool, &digest, &keys.public);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("5 events in 3 streams (signed: 4 in 2)"),
        "{stdout}"
    );
}
