//! The Kafka feed against a real broker (`make test` starts Tansu and sets
//! KAFKA_BROKERS): every event arrives once or more, on its aggregate's topic, keyed
//! by aggregate id, with its headers, in sequence order per key; a publisher
//! restarted mid-stream loses nothing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::AggregateKind;
use eventlog::{read_batch, Checkpoint, LogWakeups};
use projections::kafka::{topic_of, KafkaPublisher, KafkaSettings};
use projections::runtime::{
    projector_lags, OnFailure, Projector, ProjectorOptions, ProjectorRuntime, RunningProjectors,
};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::json;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::support::wait_until;

const WAIT: Duration = Duration::from_secs(60);

/// The broker `make test` started, or the one KAFKA_BROKERS names.
fn brokers() -> String {
    std::env::var("KAFKA_BROKERS").unwrap_or_else(|_| {
        panic!("KAFKA_BROKERS is unset: run the tests with `make test`, which starts a broker")
    })
}

/// Settings with a topic prefix of this test's own.
fn settings(test: &str) -> KafkaSettings {
    let suffix = Uuid::new_v4().simple().to_string();
    KafkaSettings {
        topic_prefix: format!("test-{test}-{}", &suffix[..8]),
        partitions: 3,
        ..KafkaSettings::new(brokers())
    }
}

/// The publisher as a projector of its own, in batches of at most `max_batch`.
async fn start_publisher(
    pool: &PgPool,
    settings: &KafkaSettings,
    max_batch: usize,
) -> (CancellationToken, RunningProjectors) {
    let cancel = CancellationToken::new();
    let publisher = KafkaPublisher::new(settings.clone(), pool.clone()).unwrap();
    let running = ProjectorRuntime::new(
        pool.clone(),
        LogWakeups::local(),
        ProjectorOptions {
            poll_interval: Duration::from_millis(50),
            max_batch,
            ..ProjectorOptions::default()
        },
    )
    .with(Projector::SideEffect(Arc::new(publisher)), OnFailure::Stop)
    .start(cancel.clone())
    .await
    .unwrap();
    (cancel, running)
}

async fn stop(cancel: CancellationToken, running: RunningProjectors) {
    cancel.cancel();
    for (name, outcome) in running.join().await {
        outcome.unwrap_or_else(|e| panic!("projector {name} failed: {e}"));
    }
}

/// Waits until the publisher has passed every committed event.
async fn wait_caught_up(pool: &PgPool, projector: &str) {
    wait_until(WAIT, "the publisher has caught up", || async {
        projector_lags(pool).await.unwrap().iter().any(|lag| {
            lag.projector == projector && lag.positions_behind == 0 && lag.global_position > 0
        })
    })
    .await;
}

/// Appends the next event of one stream, with the metadata commands write.
async fn append(pool: &PgPool, aggregate_type: &str, aggregate_id: &str, sequence: i64) {
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         VALUES ($1, $2, $3, 'Happened', '1.0', $4, $5)",
    )
    .bind(aggregate_type)
    .bind(aggregate_id)
    .bind(sequence)
    .bind(json!({"Happened": {"n": sequence, "id": aggregate_id}}))
    .bind(json!({"actor": "tester", "actor_role": "admin",
                 "correlation_id": format!("corr-{aggregate_id}"),
                 "causation_id": format!("cause-{aggregate_id}-{sequence}"),
                 "request_id": Uuid::new_v4().to_string(), "command": "happen"}))
    .execute(pool)
    .await
    .unwrap();
}

/// `rounds` events on each of `streams` aggregates of every type, interleaved in
/// the log: one event per stream per round.
async fn write_round_robin(pool: &PgPool, streams: usize, rounds: std::ops::Range<i64>) {
    for sequence in rounds {
        for aggregate_type in AggregateKind::ALL.iter().map(|kind| kind.type_name()) {
            for stream in 0..streams {
                append(
                    pool,
                    aggregate_type,
                    &format!("{aggregate_type}-{stream}"),
                    sequence,
                )
                .await;
            }
        }
    }
}

/// One event as the log holds it, to compare messages with.
#[derive(Debug, sqlx::FromRow)]
struct Stored {
    event_id: Uuid,
    aggregate_type: String,
    aggregate_id: String,
    sequence: i64,
    global_position: i64,
    event_type: String,
    event_version: String,
    payload: String,
    correlation_id: Option<String>,
    causation_id: Option<String>,
    recorded_at: String,
}

async fn stored_events(pool: &PgPool) -> HashMap<Uuid, Stored> {
    sqlx::query_as::<_, Stored>(
        "SELECT event_id, aggregate_type, aggregate_id, sequence, global_position, event_type,
                event_version, payload::text AS payload,
                metadata->>'correlation_id' AS correlation_id,
                metadata->>'causation_id' AS causation_id,
                to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS recorded_at
           FROM events",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    .into_iter()
    .map(|event| (event.event_id, event))
    .collect()
}

/// One consumed message.
#[derive(Debug)]
struct Received {
    topic: String,
    partition: i32,
    key: String,
    value: String,
    headers: BTreeMap<String, String>,
}

impl Received {
    fn event_id(&self) -> Uuid {
        self.headers["event_id"].parse().unwrap()
    }
}

/// Reads every topic of the feed from the beginning until `expected` distinct
/// events have arrived, then a little longer for duplicates in flight.
fn consume_all(settings: &KafkaSettings, group: &str, expected: usize) -> Vec<Received> {
    let prefix = &settings.topic_prefix;
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &settings.brokers)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "500")
        .create()
        .unwrap();
    {
        // Assigned partitions (no group join to wait for); the list is dropped
        // before the consumer, or librdkafka's shutdown can hang.
        let mut assignment = TopicPartitionList::new();
        for kind in AggregateKind::ALL {
            let topic = topic_of(prefix, *kind);
            let metadata = consumer
                .fetch_metadata(Some(&topic), Duration::from_secs(10))
                .unwrap();
            for partition in metadata.topics()[0].partitions() {
                assignment
                    .add_partition_offset(&topic, partition.id(), Offset::Beginning)
                    .unwrap();
            }
        }
        consumer.assign(&assignment).unwrap();
    }
    let mut received = Vec::new();
    let mut distinct = HashSet::new();
    let deadline = Instant::now() + WAIT;
    let mut quiet_until = None;
    loop {
        let now = Instant::now();
        assert!(
            now < deadline,
            "only {} of {expected} events arrived",
            distinct.len()
        );
        if quiet_until.is_some_and(|until| now > until) {
            break;
        }
        let Some(message) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let message = message.unwrap();
        let headers = message
            .headers()
            .map(|headers| {
                headers
                    .iter()
                    .map(|h| {
                        (
                            h.key.to_owned(),
                            String::from_utf8(h.value.unwrap_or_default().to_vec()).unwrap(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let received_message = Received {
            topic: message.topic().to_owned(),
            partition: message.partition(),
            key: String::from_utf8(message.key().unwrap().to_vec()).unwrap(),
            value: String::from_utf8(message.payload().unwrap().to_vec()).unwrap(),
            headers,
        };
        distinct.insert(received_message.event_id());
        received.push(received_message);
        if distinct.len() >= expected && quiet_until.is_none() {
            quiet_until = Some(Instant::now() + Duration::from_secs(1));
        }
    }
    drop(consumer);
    received
}

/// Every stored event arrived with the right topic, key, value and headers, and
/// each key's first deliveries follow its sequence 1, 2, 3... Returns how many
/// messages were duplicates.
fn check_feed(prefix: &str, stored: &HashMap<Uuid, Stored>, received: &[Received]) -> usize {
    let mut seen = HashSet::new();
    let mut next_sequence: HashMap<(String, String), i64> = HashMap::new();
    let mut partition_of: HashMap<(String, String), i32> = HashMap::new();
    let mut duplicates = 0;
    for message in received {
        let event_id = message.event_id();
        let event = stored
            .get(&event_id)
            .unwrap_or_else(|| panic!("a message for an unknown event {event_id}"));
        let suffix = domain::AggregateKind::from_type_name(&event.aggregate_type)
            .map(|kind| kind.name())
            .unwrap_or_else(|| panic!("an event of no kind: {}", event.aggregate_type));
        assert_eq!(message.topic, format!("{prefix}.{suffix}"));
        assert_eq!(message.key, event.aggregate_id);
        assert_eq!(message.value, event.payload);
        let expected_headers: BTreeMap<String, String> = [
            ("event_id", event.event_id.to_string()),
            ("event_type", event.event_type.clone()),
            ("event_version", event.event_version.clone()),
            ("aggregate_type", event.aggregate_type.clone()),
            ("aggregate_id", event.aggregate_id.clone()),
            ("sequence", event.sequence.to_string()),
            ("global_position", event.global_position.to_string()),
            ("recorded_at", event.recorded_at.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .chain(
            event
                .correlation_id
                .clone()
                .map(|v| ("correlation_id".to_owned(), v)),
        )
        .chain(
            event
                .causation_id
                .clone()
                .map(|v| ("causation_id".to_owned(), v)),
        )
        .collect();
        assert_eq!(message.headers, expected_headers);

        let stream = (event.aggregate_type.clone(), event.aggregate_id.clone());
        let partition = *partition_of
            .entry(stream.clone())
            .or_insert(message.partition);
        assert_eq!(partition, message.partition, "a key moved partitions");
        if !seen.insert(event_id) {
            duplicates += 1;
            continue;
        }
        let next = next_sequence.entry(stream.clone()).or_insert(1);
        assert_eq!(
            event.sequence, *next,
            "{stream:?}: sequence {} arrived before {}",
            event.sequence, *next
        );
        *next += 1;
    }
    let missing: Vec<_> = stored.keys().filter(|id| !seen.contains(id)).collect();
    assert!(missing.is_empty(), "{} events never arrived", missing.len());
    duplicates
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn every_event_arrives_keyed_with_headers_in_stream_order(pool: PgPool) {
    let settings = settings("all-events");
    // Every aggregate type x 6 streams x 10 events, interleaved in the log.
    write_round_robin(&pool, 6, 1..11).await;
    let (cancel, running) = start_publisher(&pool, &settings, 50).await;
    wait_caught_up(&pool, &settings.projector_name).await;
    stop(cancel, running).await;

    let stored = stored_events(&pool).await;
    assert_eq!(stored.len(), domain::AggregateKind::ALL.len() * 6 * 10);
    let received = consume_all(&settings, "all-events", stored.len());
    check_feed(&settings.topic_prefix, &stored, &received);
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_publisher_restarted_mid_stream_loses_nothing(pool: PgPool) {
    let settings = settings("restart");
    let (cancel, running) = start_publisher(&pool, &settings, 50).await;
    let writer = {
        let pool = pool.clone();
        tokio::spawn(async move { write_round_robin(&pool, 4, 1..16).await })
    };
    // Stop the publisher while events still arrive, then start a new one.
    wait_until(WAIT, "some events are published", || async {
        projector_lags(&pool)
            .await
            .unwrap()
            .iter()
            .any(|lag| lag.projector == settings.projector_name && lag.events_applied >= 50)
    })
    .await;
    stop(cancel, running).await;
    let (cancel, running) = start_publisher(&pool, &settings, 50).await;
    writer.await.unwrap();
    wait_caught_up(&pool, &settings.projector_name).await;
    stop(cancel, running).await;

    let stored = stored_events(&pool).await;
    assert_eq!(stored.len(), domain::AggregateKind::ALL.len() * 4 * 15);
    let received = consume_all(&settings, "restart", stored.len());
    let duplicates = check_feed(&settings.topic_prefix, &stored, &received);
    println!(
        "restart: {} messages, {duplicates} duplicates",
        received.len()
    );
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_stream_the_reader_sees_out_of_order_is_published_in_sequence_order(pool: PgPool) {
    let settings = settings("out-of-order");
    // A transaction takes its id first, and appends the stream's second event only
    // after another transaction has committed the first: the reader, ordered by
    // transaction id, meets the second event before the first.
    let mut early = pool.begin().await.unwrap();
    sqlx::query("SELECT pg_current_xact_id()")
        .execute(&mut *early)
        .await
        .unwrap();
    append(&pool, "Cart", "late-cart", 1).await;
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         VALUES ('Cart', 'late-cart', 2, 'Happened', '1.0', '{}', '{}')",
    )
    .execute(&mut *early)
    .await
    .unwrap();
    early.commit().await.unwrap();
    append(&pool, "Cart", "late-cart", 3).await;
    // The reader waits for every older transaction of the server to end first.
    let deadline = Instant::now() + WAIT;
    let reader_order: Vec<i64> = loop {
        let order: Vec<i64> = read_batch(&pool, Checkpoint::START, 10)
            .await
            .unwrap()
            .iter()
            .map(|event| event.sequence)
            .collect();
        if order.len() == 3 || Instant::now() > deadline {
            break order;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(reader_order, [2, 1, 3], "the reader should meet 2 before 1");

    // One event per batch: the first batch holds only the second event, whose
    // predecessor the reader has not reached yet.
    let (cancel, running) = start_publisher(&pool, &settings, 1).await;
    wait_caught_up(&pool, &settings.projector_name).await;
    stop(cancel, running).await;
    let stored = stored_events(&pool).await;
    let received = consume_all(&settings, "out-of-order", stored.len());
    check_feed(&settings.topic_prefix, &stored, &received);
}

/// A Tansu broker of the test's own, killed when dropped.
struct PrivateBroker {
    child: std::process::Child,
}

impl PrivateBroker {
    /// Starts Tansu (TANSU_BIN, which `make test` exports) on `port`, in memory.
    async fn start(port: u16) -> Self {
        let bin = std::env::var("TANSU_BIN").unwrap_or_else(|_| {
            panic!("TANSU_BIN is unset: run the tests with `make test`, which exports it")
        });
        let url = format!("tcp://127.0.0.1:{port}");
        let child = std::process::Command::new(bin)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args(["--storage-engine", "memory://tansu/"])
            // Never info: it writes gigabytes of log.
            .env("RUST_LOG", "warn")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        wait_until(WAIT, "the private broker listens", || async {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
        })
        .await;
        PrivateBroker { child }
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn the_feed_resumes_after_its_broker_restarts_empty(pool: PgPool) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let broker = PrivateBroker::start(port).await;
    let settings = KafkaSettings {
        brokers: format!("127.0.0.1:{port}"),
        message_timeout: Duration::from_secs(10),
        ..settings("broker-restart")
    };
    write_round_robin(&pool, 2, 1..4).await;
    let (cancel, running) = start_publisher(&pool, &settings, 50).await;
    wait_caught_up(&pool, &settings.projector_name).await;

    // The broker goes away, events keep coming, and the broker comes back empty.
    drop(broker);
    write_round_robin(&pool, 2, 4..7).await;
    let after_restart: HashSet<Uuid> = stored_events(&pool)
        .await
        .into_values()
        .filter(|event| event.sequence >= 4)
        .map(|event| event.event_id)
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let _broker = PrivateBroker::start(port).await;
    wait_caught_up(&pool, &settings.projector_name).await;
    stop(cancel, running).await;

    let received = consume_all(&settings, "broker-restart", after_restart.len());
    let arrived: HashSet<Uuid> = received.iter().map(Received::event_id).collect();
    let missing = after_restart.difference(&arrived).count();
    assert_eq!(
        missing, 0,
        "{missing} events written while the broker was away never arrived"
    );
}
