//! Customer credentials against a real PostgreSQL: the e-mail claim by keyed
//! hash, and sign-ins that cost the same for an unknown address as for a wrong
//! password.

use commands::accounts::{self, passwords, ClaimEmail};
use commands::store::AppendHook;
use commands::Executed;
use domain::shared::CustomerId;
use sqlx::PgPool;
use uuid::Uuid;

/// 32 bytes of 5, base64: this binary's personal data key.
const KEY: &str = "BQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQU=";

async fn registered(pool: &PgPool, email: &str, password: &str) -> CustomerId {
    eventlog::personal::install(KEY).unwrap();
    let customer_id = CustomerId::new(Uuid::new_v4());
    let claim = ClaimEmail {
        customer_id,
        email_index: accounts::email_index(email).unwrap(),
        releasing: None,
        password_hash: Some(passwords::hash(password.into()).await.unwrap()),
    };
    let mut tx = pool.begin().await.unwrap();
    let executed = Executed {
        aggregate_id: customer_id.as_uuid().to_string(),
        version: 1,
        head: None,
        appended: 1,
    };
    claim.within(&mut tx, &executed).await.unwrap();
    tx.commit().await.unwrap();
    customer_id
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn an_unknown_address_and_a_wrong_password_cost_one_hash_each_and_look_alike(pool: PgPool) {
    let customer = registered(&pool, "Ada@Example.com", "correct horse battery").await;

    let found = accounts::authenticate(&pool, "ada@example.COM", "correct horse battery".into())
        .await
        .unwrap();
    assert_eq!(
        found,
        Some(customer),
        "the address is found whatever its case"
    );

    let before = passwords::hashes_computed();
    let wrong = accounts::authenticate(&pool, "ada@example.com", "wrong horse battery".into())
        .await
        .unwrap();
    let after_wrong = passwords::hashes_computed();
    let unknown =
        accounts::authenticate(&pool, "nobody@example.com", "correct horse battery".into())
            .await
            .unwrap();
    let after_unknown = passwords::hashes_computed();
    assert_eq!((wrong, unknown), (None, None));
    assert_eq!(
        after_wrong - before,
        1,
        "a wrong password costs one verification"
    );
    assert_eq!(
        after_unknown - after_wrong,
        1,
        "an unknown address costs the same"
    );

    // The claim table names no address: only its keyed hash.
    let dump: Vec<String> = sqlx::query_scalar(
        "SELECT encode(email_index, 'escape') || customer_id::text FROM customer_emails",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        dump.iter().all(|row| !row.to_lowercase().contains("ada@")),
        "{dump:?}"
    );
}
