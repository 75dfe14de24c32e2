//! The `commerce` binary itself: a clean exit on SIGTERM, and a refusal to start on
//! a log restored into a cluster whose transaction ids are behind it.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

fn database_url(options: &PgConnectOptions) -> String {
    let server = std::env::var("DATABASE_URL").unwrap();
    format!(
        "{}/{}",
        &server[..server.rfind('/').unwrap()],
        options.get_database().unwrap()
    )
}

fn free_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

fn commerce(database_url: &str, address: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_commerce"));
    command
        .args(["serve"])
        .env("DATABASE_URL", database_url)
        .env("DATABASE_MAX_CONNECTIONS", "4")
        .env("BIND_ADDR", address)
        .env("JWT_SECRET", crate::support::JWT_SECRET)
        .env("PERSONAL_DATA_KEY", crate::support::PERSONAL_DATA_KEY)
        .env_remove("REDIS_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn sigterm_finishes_in_flight_work_and_exits_cleanly(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let address = free_address();
    let child = commerce(&database_url(&options), &address).spawn().unwrap();
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = client
            .get(format!("http://{address}/health/ready"))
            .send()
            .await;
        if ready.is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(Instant::now() < deadline, "the server never became ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::task::spawn_blocking(move || child.wait_with_output().unwrap()),
    )
    .await
    .expect("the server exits after SIGTERM")
    .unwrap();
    let log = String::from_utf8_lossy(&output.stderr).to_string()
        + &String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "exit status {:?}: {log}",
        output.status
    );
    assert!(
        log.contains("shutdown requested") && log.contains("stopped"),
        "{log}"
    );
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn refuses_to_start_on_a_log_ahead_of_the_cluster(pool: sqlx::PgPool) {
    let options = pool.connect_options();
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                             payload, metadata, transaction_id, hash)
         VALUES ('cart', 'c1', 1, 'CartOpened', '1.0', '{}', '{}', '900000000000000', '\\x00')",
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    drop(conn);

    let mut command = commerce(&database_url(&options), &free_address());
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let log = String::from_utf8_lossy(&output.stderr).to_string()
        + &String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "it must not start: {log}");
    assert!(
        log.contains("restored into a new cluster") && log.contains("docs/operations.md"),
        "{log}"
    );
}

#[test]
fn serve_refuses_to_start_without_a_personal_data_key() {
    let output = commerce("postgres://postgres@127.0.0.1:1/none", &free_address())
        .env_remove("PERSONAL_DATA_KEY")
        .output()
        .unwrap();
    assert!(!output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("PERSONAL_DATA_KEY"), "{stderr}");
}

#[test]
fn token_mints_a_bearer_token_the_server_accepts() {
    let output = Command::new(env!("CARGO_BIN_EXE_commerce"))
        .args(["token", "--sub", "alice", "--role", "admin", "--ttl", "60"])
        .env("JWT_SECRET", crate::support::JWT_SECRET)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let token = String::from_utf8(output.stdout).unwrap();
    let authenticator = api::auth::Authenticator::hs256(&api::secret::Secret::new(
        crate::support::JWT_SECRET.into(),
    ));
    let principal = authenticator.verify(token.trim()).unwrap();
    assert_eq!(principal.subject, "alice");
    assert_eq!(principal.role, api::auth::Role::Admin);

    let refused = Command::new(env!("CARGO_BIN_EXE_commerce"))
        .args(["token", "--sub", "alice", "--role", "root"])
        .env("JWT_SECRET", crate::support::JWT_SECRET)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("unknown role"));
}
