//! The Kafka feed as a downstream consumer sees it: commands sent over HTTP come
//! out of a consumer group on the aggregates' topics, keyed and in order, and
//! `/health/ready` reports the publisher's lag. Needs the broker `make test` starts.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use projections::kafka::KafkaSettings;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use rdkafka::ClientConfig;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::fixtures::{
    add_item, guest_cart, paid_order, projectors_caught_up, published_product, stocked,
};
use crate::support::{spawn_app_with_kafka, Caller};

fn kafka_settings() -> KafkaSettings {
    let brokers = std::env::var("KAFKA_BROKERS").unwrap_or_else(|_| {
        panic!("KAFKA_BROKERS is unset: run the tests with `make test`, which starts a broker")
    });
    KafkaSettings {
        topic_prefix: format!("api-{}", Uuid::new_v4().simple()),
        partitions: 2,
        ..KafkaSettings::new(brokers)
    }
}

/// What the log says each message must carry: topic suffix, key, sequence and
/// correlation, by event id.
async fn expected(pool: &PgPool) -> HashMap<String, (String, String, i64, Option<String>)> {
    sqlx::query_as::<_, (Uuid, String, String, i64, Option<String>)>(
        "SELECT event_id, lower(aggregate_type), aggregate_id, sequence,
                metadata->>'correlation_id'
           FROM events",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    .into_iter()
    .map(|(id, kind, key, sequence, correlation)| {
        (id.to_string(), (kind, key, sequence, correlation))
    })
    .collect()
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn commands_reach_a_consumer_group_keyed_and_in_order(pool: PgPool) {
    let settings = kafka_settings();
    let prefix = settings.topic_prefix.clone();
    let app = spawn_app_with_kafka(pool.clone(), settings).await;

    let skus: Vec<String> = (0..6).map(|i| format!("KAFKA-{i}")).collect();
    for (i, sku) in skus.iter().enumerate() {
        published_product(&app, sku, 1000 + i as i64, "tools").await;
        stocked(&app, sku, 2, 500).await;
    }
    for _ in 0..30 {
        let cart = guest_cart(&app).await;
        for line in 0..6 {
            let sku = &skus[line % skus.len()];
            add_item(&app, &cart.id, Caller::Guest(&cart.token), sku, 1).await;
        }
    }
    for sku in &skus[..4] {
        paid_order(&pool, None, &[(sku.as_str(), 1000, 1)]).await;
    }
    projectors_caught_up(&pool).await;

    let ready: Value = app.get("/health/ready").await.json().await.unwrap();
    let kafka = ready["projectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["projector"] == "kafka")
        .unwrap_or_else(|| panic!("no kafka projector in {ready}"));
    assert_eq!(kafka["positions_behind"], 0, "{kafka}");
    assert_eq!(kafka["here"]["state"], "active", "{kafka}");

    let expected = expected(&pool).await;
    assert!(expected.len() >= 250, "only {} events", expected.len());
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", std::env::var("KAFKA_BROKERS").unwrap())
        .set("group.id", format!("{prefix}-downstream"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "500")
        .create()
        .unwrap();
    let topics: Vec<String> = ["cart", "order", "inventory", "payment", "product"]
        .iter()
        .map(|suffix| format!("{prefix}.{suffix}"))
        .collect();
    let topic_names: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer.subscribe(&topic_names).unwrap();

    let mut seen = HashSet::new();
    let mut next_sequence: HashMap<String, i64> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.len() < expected.len() {
        assert!(
            Instant::now() < deadline,
            "{} of {} events consumed",
            seen.len(),
            expected.len()
        );
        let Ok(message) = tokio::time::timeout(Duration::from_secs(1), consumer.recv()).await
        else {
            continue;
        };
        let message = message.unwrap();
        let headers: HashMap<String, String> = message
            .headers()
            .unwrap()
            .iter()
            .map(|h| {
                let value = String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned();
                (h.key.to_owned(), value)
            })
            .collect();
        let event_id = &headers["event_id"];
        let (kind, key, sequence, correlation) = &expected[event_id];
        assert_eq!(message.topic(), format!("{prefix}.{kind}"));
        assert_eq!(message.key(), Some(key.as_bytes()));
        assert_eq!(headers["sequence"], sequence.to_string());
        assert_eq!(headers.get("correlation_id"), correlation.as_ref());
        if seen.insert(event_id.clone()) {
            let next = next_sequence.entry(format!("{kind}/{key}")).or_insert(1);
            assert_eq!(sequence, next, "{kind} {key} out of order");
            *next += 1;
        }
    }
    drop(consumer);
}

/// An erasure reaches consumers: `CustomerErased` on the customer topic, keyed by
/// the customer, and no message carries a sealed field (consumers get the fields
/// opened, or erased, as every reader of the log does).
#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn an_erasure_reaches_consumers_keyed_by_the_customer(pool: PgPool) {
    let settings = kafka_settings();
    let prefix = settings.topic_prefix.clone();
    let app = spawn_app_with_kafka(pool.clone(), settings).await;
    let registered = app
        .command(
            "/commands/customers",
            Caller::Anonymous,
            serde_json::json!({"email": "kafka@example.com", "name": "Kay Fka",
                "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(registered.status, 201, "{}", registered.body);
    let customer = registered.body["id"].as_str().unwrap().to_owned();
    let admin = crate::fixtures::admin(&app);
    let erased = app
        .command(
            &format!("/commands/customers/{customer}/erase"),
            Caller::Bearer(&admin),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(erased.status, 200, "{}", erased.body);
    projectors_caught_up(&pool).await;

    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", std::env::var("KAFKA_BROKERS").unwrap())
        .set("group.id", format!("{prefix}-forgetful"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "500")
        .create()
        .unwrap();
    consumer
        .subscribe(&[format!("{prefix}.customer").as_str()])
        .unwrap();
    let mut types = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !types.contains(&"CustomerErased".to_owned()) {
        assert!(Instant::now() < deadline, "consumed only {types:?}");
        let Ok(message) = tokio::time::timeout(Duration::from_secs(1), consumer.recv()).await
        else {
            continue;
        };
        let message = message.unwrap();
        assert_eq!(message.key(), Some(customer.as_bytes()));
        let value = String::from_utf8_lossy(message.payload().unwrap_or_default()).into_owned();
        assert!(
            !value.contains("$sealed"),
            "a sealed field reached Kafka: {value}"
        );
        let payload: Value = serde_json::from_str(&value).unwrap();
        let event_type = payload.as_object().unwrap().keys().next().unwrap().clone();
        types.push(event_type);
    }
    assert_eq!(
        types.first().map(String::as_str),
        Some("CustomerRegistered")
    );
    drop(consumer);
}
