//! The auditors' API: the filtered log and its cursors (also while events are
//! being appended and a transaction commits late), who may read it, a stream's
//! state at a past time, the hash-chain check before and after tampering, and
//! the log followed live over Server-Sent Events.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use api::auth::Role;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::fixtures::{admin, customer, draft_product};
use crate::support::{reply, spawn_app, Caller, Reply, TestApp};

/// Appends one event to a stream straight into `events`, with metadata naming
/// `actor` and `correlation_id` as the command side writes them; returns the
/// event's `global_position`.
async fn append<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    (aggregate_type, aggregate_id): (&str, &str),
    event_type: &str,
    actor: &str,
    correlation_id: &str,
) -> i64 {
    let metadata = json!({"actor": actor, "actor_role": "admin",
                          "correlation_id": correlation_id, "command": "Test"});
    sqlx::query_scalar(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                             payload, metadata)
         VALUES ($1, $2,
                 COALESCE((SELECT max(sequence) FROM events
                            WHERE aggregate_type = $1 AND aggregate_id = $2), 0) + 1,
                 $3, '1.0', $4::text::json, $5::text::json)
         RETURNING global_position",
    )
    .bind(aggregate_type)
    .bind(aggregate_id)
    .bind(event_type)
    .bind(json!({ event_type: {"note": "test"} }).to_string())
    .bind(metadata.to_string())
    .fetch_one(executor)
    .await
    .unwrap()
}

/// Waits until the gap-free reader can see every event of this database. The
/// horizon it reads below is the whole cluster's: a transaction left open by a
/// test running beside this one holds this test's events back for a while.
async fn readable(pool: &PgPool) {
    for _ in 0..3000 {
        let held_back: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM events
              WHERE transaction_id >= pg_snapshot_xmin(pg_current_snapshot())",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        if held_back == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("events still held back after 30 s");
}

fn auditor(app: &TestApp) -> String {
    app.token("auditor-audrey", Role::Auditor)
}

/// GETs `path` as an auditor.
async fn audit(app: &TestApp, path: &str) -> Reply {
    app.query(path, Caller::Bearer(&auditor(app)), None).await
}

/// The global positions of a page's items, in the order given.
fn positions(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {page}"))
        .iter()
        .map(|item| item["global_position"].as_i64().unwrap())
        .collect()
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

async fn database_now(pool: &PgPool) -> DateTime<Utc> {
    sqlx::query_scalar("SELECT clock_timestamp()")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn each_filter_narrows_the_log(pool: PgPool) {
    let app = spawn_app(pool.clone(), false).await;
    let a1 = append(&pool, ("Cart", "c1"), "ItemAdded", "alice", "k1").await;
    let a2 = append(&pool, ("Cart", "c1"), "ItemRemoved", "alice", "k1").await;
    let b1 = append(&pool, ("Cart", "c2"), "ItemAdded", "bob", "k2").await;
    let o1 = append(&pool, ("Order", "o1"), "OrderPlaced", "alice", "k2").await;
    let between = database_now(&pool).await;
    let p1 = append(&pool, ("Payment", "p1"), "PaymentCaptured", "carol", "k3").await;
    readable(&pool).await;

    let everything = audit(&app, "/audit/events").await;
    assert_eq!(everything.status, 200, "{}", everything.body);
    assert_eq!(positions(&everything.body), [a1, a2, b1, o1, p1]);
    assert!(everything.body.get("next_cursor").is_none());

    let cases: [(String, Vec<i64>); 11] = [
        ("aggregate_type=Cart".into(), vec![a1, a2, b1]),
        ("aggregate_type=Cart&aggregate_id=c1".into(), vec![a1, a2]),
        ("aggregate_type=Cart&aggregate_id=c2".into(), vec![b1]),
        ("event_type=ItemAdded".into(), vec![a1, b1]),
        ("actor=alice".into(), vec![a1, a2, o1]),
        ("correlation_id=k2".into(), vec![b1, o1]),
        (format!("from={}", time(between)), vec![p1]),
        (format!("to={}", time(between)), vec![a1, a2, b1, o1]),
        (format!("after_position={a2}"), vec![b1, o1, p1]),
        ("actor=alice&aggregate_type=Cart".into(), vec![a1, a2]),
        ("actor=nobody".into(), vec![]),
    ];
    for (query, expected) in cases {
        let page = audit(&app, &format!("/audit/events?{query}")).await;
        assert_eq!(page.status, 200, "{query}: {}", page.body);
        assert_eq!(positions(&page.body), expected, "{query}");
    }

    // Every column, the metadata as JSON, the hash in hex.
    let item = &audit(&app, "/audit/events?event_type=OrderPlaced")
        .await
        .body["items"][0];
    assert_eq!(item["aggregate_type"], "Order");
    assert_eq!(item["aggregate_id"], "o1");
    assert_eq!(item["sequence"], 1);
    assert_eq!(item["metadata"]["actor"], "alice");
    assert_eq!(item["metadata"]["correlation_id"], "k2");
    assert_eq!(item["payload"]["OrderPlaced"]["note"], "test");
    assert!(item["event_id"].as_str().unwrap().len() == 36, "{item}");
    assert!(item["transaction_id"].as_u64().unwrap() > 0, "{item}");
    let hash = item["hash"].as_str().unwrap();
    assert!(
        hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
        "{hash}"
    );
    DateTime::parse_from_rfc3339(item["recorded_at"].as_str().unwrap()).unwrap();
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn bad_parameters_are_400s_that_name_the_problem(pool: PgPool) {
    let app = spawn_app(pool.clone(), false).await;
    append(&pool, ("Cart", "c1"), "ItemAdded", "alice", "k1").await;
    let cases = [
        ("/audit/events?from=yesterday", "invalid_time"),
        ("/audit/events?to=2026-12-01", "invalid_time"),
        ("/audit/events?limit=0", "invalid_query"),
        ("/audit/events?limit=1001", "invalid_query"),
        ("/audit/events?limit=ten", "invalid_query"),
        ("/audit/events?cursor=%25%25%25", "invalid_cursor"),
        // base64url of "hello": decodes, but holds no position.
        ("/audit/events?cursor=aGVsbG8", "invalid_cursor"),
        ("/audit/events?actr=alice", "invalid_query"),
        ("/audit/events/stream?limit=5", "invalid_query"),
        ("/audit/events/stream?cursor=aGVsbG8", "invalid_cursor"),
        ("/audit/streams/basket/c1", "unknown_aggregate_type"),
        ("/audit/streams/cart/c1?version=-1", "invalid_query"),
        ("/audit/streams/cart/c1?as_of=noon", "invalid_time"),
        (
            "/audit/streams/cart/c1?version=1&as_of=2026-12-01T10:00:00Z",
            "invalid_query",
        ),
        ("/audit/verify?aggregate_id=c1", "invalid_query"),
        ("/audit/events?aggregate_id=c1", "invalid_query"),
    ];
    for (path, code) in cases {
        let answer = audit(&app, path).await;
        assert_eq!(
            (answer.status, answer.code()),
            (400, code),
            "{path}: {}",
            answer.body
        );
        assert_eq!(
            answer.header("content-type"),
            Some("application/problem+json"),
            "{path}"
        );
    }
    let resumed = reply(
        app.client
            .get(app.url("/audit/events/stream"))
            .bearer_auth(auditor(&app))
            .header("Last-Event-ID", "not-a-cursor"),
    )
    .await;
    assert_eq!((resumed.status, resumed.code()), (400, "invalid_cursor"));
    assert!(resumed.body["detail"]
        .as_str()
        .unwrap()
        .contains("Last-Event-ID"));

    let missing = audit(&app, "/audit/streams/cart/no-such-cart").await;
    assert_eq!((missing.status, missing.code()), (404, "not_found"));
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn only_auditors_and_analysts_read_the_log(pool: PgPool) {
    let app = spawn_app(pool.clone(), false).await;
    append(&pool, ("Cart", "c1"), "ItemAdded", "alice", "k1").await;
    let customer = customer(&app).token;
    let admin = admin(&app);
    let auditor = auditor(&app);
    let analyst = app.token("analyst-anna", Role::Analyst);
    let callers = [
        ("anonymous", Caller::Anonymous, 401),
        ("invalid token", Caller::Bearer("not.a.jwt"), 401),
        ("customer", Caller::Bearer(&customer), 403),
        ("admin", Caller::Bearer(&admin), 403),
        ("auditor", Caller::Bearer(&auditor), 200),
        ("analyst", Caller::Bearer(&analyst), 200),
    ];
    for path in [
        "/audit/events",
        "/audit/streams/cart/c1",
        "/audit/verify",
        "/audit/events/stream",
    ] {
        for (who, caller, status) in callers {
            // Status and headers only: the live stream's body never ends.
            let response = caller
                .apply(app.client.get(app.url(path)))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), status, "{who} GET {path}");
            let content_type = response.headers()["content-type"].to_str().unwrap();
            if status != 200 {
                assert_eq!(content_type, "application/problem+json", "{who} {path}");
                let problem: Value = response.json().await.unwrap();
                let code = if status == 401 {
                    "unauthorized"
                } else {
                    "forbidden"
                };
                assert_eq!(problem["code"], code, "{who} {path}");
            } else if path.ends_with("/stream") {
                assert_eq!(content_type, "text/event-stream", "{who} {path}");
            }
        }
    }
}

/// A reader paging through the log with a small limit, while one task keeps
/// appending and one transaction takes its position early and commits late (a
/// plain `global_position > n` reader would pass over its event): every event is
/// visited exactly once, in the reader's order.
#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn pages_visit_every_event_once_in_order_while_events_are_appended(pool: PgPool) {
    let app = spawn_app(pool.clone(), false).await;
    for i in 0..30 {
        append(
            &pool,
            ("Cart", &format!("before-{}", i % 3)),
            "ItemAdded",
            "a",
            "k",
        )
        .await;
    }
    // Takes a position now, commits only when the reader has gone past it.
    let mut late = pool.begin().await.unwrap();
    let late_position = append(&mut *late, ("Order", "late"), "OrderPlaced", "a", "k").await;

    let stop = Arc::new(AtomicBool::new(false));
    let appended = Arc::new(AtomicUsize::new(0));
    let appender = tokio::spawn({
        let (pool, stop, appended) = (pool.clone(), stop.clone(), appended.clone());
        async move {
            while !stop.load(Ordering::SeqCst) {
                append(&pool, ("Cart", "during"), "ItemAdded", "b", "k").await;
                appended.fetch_add(1, Ordering::SeqCst);
                // Not a wait for anything: only a pace the reader can keep up with.
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
    });

    let mut visited: Vec<(u64, i64)> = Vec::new();
    let mut cursor: Option<String> = None;
    // How many items the request from `cursor` gave last time it had no next page.
    let mut taken_from_cursor = 0;
    let mut late = Some(late);
    let mut committed_after = 0;
    let mut pages = 0;
    loop {
        pages += 1;
        assert!(pages < 5000, "the pages never end");
        // Read before the request: if the appender had stopped by then, an
        // answer without a next page that has seen every event is the end.
        let appender_done = appender.is_finished();
        let path = match &cursor {
            Some(cursor) => format!("/audit/events?limit=3&cursor={cursor}"),
            None => "/audit/events?limit=3".to_owned(),
        };
        let page = audit(&app, &path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let items: Vec<(u64, i64)> = page.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| {
                (
                    item["transaction_id"].as_u64().unwrap(),
                    item["global_position"].as_i64().unwrap(),
                )
            })
            .collect();
        // Asked again from the same cursor, a page starts with what it gave before.
        assert!(items.len() >= taken_from_cursor, "{path}: a page shrank");
        let before = &visited[visited.len() - taken_from_cursor..];
        assert_eq!(&items[..taken_from_cursor], before, "{path}");
        visited.extend_from_slice(&items[taken_from_cursor..]);
        if let Some(next) = page.body["next_cursor"].as_str() {
            cursor = Some(next.to_owned());
            taken_from_cursor = 0;
            continue;
        }
        // No next page for now: the next request starts where this one ended.
        let resume = page.body["resume_cursor"].as_str().unwrap().to_owned();
        if items.is_empty() {
            assert_eq!(
                Some(&resume),
                cursor.as_ref(),
                "{path}: an empty page resumes where it began"
            );
        }
        cursor = Some(resume);
        taken_from_cursor = 0;
        if let Some(late) = late.take() {
            // The reader stands where the open transaction holds it back. Let
            // events with higher positions commit first, then the late one.
            while appended.load(Ordering::SeqCst) < 3 {
                tokio::task::yield_now().await;
            }
            committed_after = appended.load(Ordering::SeqCst);
            late.commit().await.unwrap();
            stop.store(true, Ordering::SeqCst);
            continue;
        }
        let total: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
            .fetch_one(&pool)
            .await
            .unwrap();
        if appender_done && visited.len() as i64 == total {
            break;
        }
        // Not a check: other tests' transactions may hold events back briefly.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    appender.await.unwrap();

    // The whole log, in the reader's order, now that every writer has ended.
    let log: Vec<(u64, i64)> = sqlx::query_as::<_, (i64, i64)>(
        "SELECT transaction_id::text::bigint, global_position FROM events
          ORDER BY transaction_id, global_position",
    )
    .fetch_all(&pool)
    .await
    .unwrap()
    .into_iter()
    .map(|(txid, position)| (txid as u64, position))
    .collect();
    assert_eq!(log.len(), 30 + 1 + appended.load(Ordering::SeqCst));
    assert_eq!(visited, log, "every event once, in the reader's order");
    let unique: HashSet<_> = visited.iter().collect();
    assert_eq!(unique.len(), visited.len());
    // What makes this a test of late commits: events with higher positions than
    // the late one had committed before it did.
    let higher = log.iter().filter(|(_, p)| *p > late_position).count();
    assert!(
        committed_after >= 3 && higher >= committed_after,
        "{committed_after} {higher}"
    );
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_stream_shows_its_state_as_it_was_at_a_time(pool: PgPool) {
    let app = spawn_app(pool.clone(), false).await;
    let admin_token = admin(&app);
    let (id, _) = draft_product(&app, "MUG-1", 1000, "kitchen").await;
    let before_change = database_now(&pool).await;
    let repriced = app
        .command(
            &format!("/commands/products/{id}/change-price"),
            Caller::Bearer(&admin_token),
            json!({"price": {"amount": 1250, "currency": "EUR"}}),
        )
        .await;
    assert_eq!(repriced.status, 200, "{}", repriced.body);

    let history = audit(&app, &format!("/audit/streams/products/{id}")).await;
    assert_eq!(history.status, 200, "{}", history.body);
    assert_eq!(history.body["aggregate_type"], "Product");
    let events = history.body["events"].as_array().unwrap();
    assert_eq!(events.len(), 2, "{}", history.body);
    assert_eq!(events[0]["sequence"], 1);
    assert_eq!(events[1]["sequence"], 2);
    // Who did it, as the command side recorded it.
    assert_eq!(events[1]["metadata"]["actor"], crate::fixtures::ADMIN);
    assert!(history.body.get("state").is_none(), "{}", history.body);

    let then = audit(
        &app,
        &format!("/audit/streams/product/{id}?as_of={}", time(before_change)),
    )
    .await;
    assert_eq!(then.status, 200, "{}", then.body);
    assert_eq!(then.body["version"], 1, "{}", then.body);
    let now = audit(
        &app,
        &format!("/audit/streams/product/{id}?as_of={}", time(Utc::now())),
    )
    .await;
    assert_eq!(now.body["version"], 2, "{}", now.body);
    assert_ne!(then.body["state"], now.body["state"]);
    assert_eq!(
        then.body["state"]["entry"]["price"]["amount"], 1000,
        "{}",
        then.body
    );
    assert_eq!(
        now.body["state"]["entry"]["price"]["amount"], 1250,
        "{}",
        now.body
    );
    // The same point named by its version.
    let first = audit(&app, &format!("/audit/streams/product/{id}?version=1")).await;
    assert_eq!(first.body["state"], then.body["state"]);
    // Before the stream began there was nothing yet.
    let before = audit(
        &app,
        &format!("/audit/streams/product/{id}?as_of=2000-01-01T00:00:00Z"),
    )
    .await;
    assert_eq!(before.body["version"], 0, "{}", before.body);
    assert_ne!(before.body["state"], then.body["state"]);

    // The command side's metadata is what the actor filter finds.
    readable(&pool).await;
    let by_admin = audit(
        &app,
        &format!(
            "/audit/events?actor={}&aggregate_type=Product&aggregate_id={id}",
            crate::fixtures::ADMIN
        ),
    )
    .await;
    assert_eq!(positions(&by_admin.body).len(), 2, "{}", by_admin.body);
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn verify_is_intact_on_a_clean_log_and_names_a_tampered_event(pool: PgPool) {
    let app = spawn_app(pool.clone(), false).await;
    for _ in 0..3 {
        append(&pool, ("Payment", "p1"), "PaymentCaptured", "alice", "k1").await;
    }
    append(&pool, ("Cart", "c1"), "ItemAdded", "alice", "k1").await;

    let clean = audit(&app, "/audit/verify").await;
    assert_eq!(clean.status, 200, "{}", clean.body);
    assert_eq!(clean.body["intact"], true, "{}", clean.body);
    assert_eq!(
        (
            clean.body["streams"].as_u64(),
            clean.body["events"].as_u64()
        ),
        (Some(2), Some(4))
    );
    assert_eq!(clean.body["broken"], json!([]));

    let tampered: i64 = sqlx::query_scalar(
        "SELECT global_position FROM events WHERE aggregate_id = 'p1' AND sequence = 2",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    // Behind the triggers, as only a superuser can; SET LOCAL ends with the
    // transaction, so the pooled connection goes back as it was.
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SET LOCAL session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("UPDATE events SET payload = '{\"PaymentCaptured\": {\"amount\": 1}}' WHERE global_position = $1")
        .bind(tampered)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let broken = audit(&app, "/audit/verify").await;
    assert_eq!(broken.status, 200, "{}", broken.body);
    assert_eq!(broken.body["intact"], false, "{}", broken.body);
    let findings = broken.body["broken"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "only the altered event: {}", broken.body);
    assert_eq!(findings[0]["global_position"], tampered);
    assert_eq!(findings[0]["aggregate_id"], "p1");
    assert_eq!(findings[0]["sequence"], 2);
    assert_eq!(findings[0]["problem"], "hash_mismatch");

    // One stream at a time: the other one is intact.
    let cart = audit(&app, "/audit/verify?aggregate_type=Cart&aggregate_id=c1").await;
    assert_eq!(
        (cart.body["intact"].as_bool(), cart.body["events"].as_u64()),
        (Some(true), Some(1))
    );
    let payment = audit(&app, "/audit/verify?aggregate_type=Payment").await;
    assert_eq!(payment.body["intact"], false, "{}", payment.body);
}

/// Reads Server-Sent Events from a response body.
struct EventStream {
    response: reqwest::Response,
    buffer: String,
}

/// One SSE event: its fields as sent.
#[derive(Debug, Default)]
struct SseEvent {
    id: Option<String>,
    event: Option<String>,
    data: String,
}

impl EventStream {
    async fn open(app: &TestApp, path: &str, last_event_id: Option<&str>) -> Self {
        let mut request = app.client.get(app.url(path)).bearer_auth(auditor(app));
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        EventStream {
            response,
            buffer: String::new(),
        }
    }

    /// The next event (keep-alive comments skipped); `None` when the stream ended.
    async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = SseEvent::default();
                let mut data = Vec::new();
                for line in block.lines() {
                    let (field, value) = line.split_once(':').unwrap_or((line, ""));
                    let value = value.strip_prefix(' ').unwrap_or(value);
                    match field {
                        "id" => event.id = Some(value.to_owned()),
                        "event" => event.event = Some(value.to_owned()),
                        "data" => data.push(value),
                        _ => {}
                    }
                }
                if event.id.is_none() && event.event.is_none() && data.is_empty() {
                    continue;
                }
                event.data = data.join("\n");
                return Some(event);
            }
            let chunk = tokio::time::timeout(Duration::from_secs(20), self.response.chunk())
                .await
                .expect("an event within 20 s")
                .unwrap()?;
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn the_live_stream_sends_new_matching_events_with_resumable_ids(pool: PgPool) {
    let app = spawn_app(pool.clone(), false).await;
    let old = append(&pool, ("Cart", "c1"), "ItemAdded", "alice", "k1").await;
    readable(&pool).await;

    // From the head: the event appended before the stream opened is not sent.
    let mut stream = EventStream::open(&app, "/audit/events/stream?actor=alice", None).await;
    let skipped = append(&pool, ("Cart", "c2"), "ItemAdded", "bob", "k2").await;
    let wanted = append(&pool, ("Cart", "c1"), "ItemRemoved", "alice", "k1").await;

    let event = stream.next().await.unwrap();
    let data: Value = serde_json::from_str(&event.data).unwrap();
    assert_eq!(
        data["global_position"], wanted,
        "not {old} nor {skipped}: {data}"
    );
    assert_eq!(event.event.as_deref(), Some("ItemRemoved"));
    assert_eq!(data["metadata"]["actor"], "alice");
    assert_eq!(data["hash"].as_str().unwrap().len(), 64);
    let id = event.id.unwrap();

    // The id is a cursor: the log after it holds exactly what was appended after
    // the matching event (the skipped one came before it).
    let after = append(&pool, ("Cart", "c3"), "ItemAdded", "bob", "k3").await;
    readable(&pool).await;
    let page = audit(&app, &format!("/audit/events?cursor={id}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(positions(&page.body), [after]);

    // The next event the open stream sends is the next matching one: the two
    // non-matching ones in between never came.
    let next = append(&pool, ("Order", "o1"), "OrderPlaced", "alice", "k4").await;
    let event = stream.next().await.unwrap();
    let data: Value = serde_json::from_str(&event.data).unwrap();
    assert_eq!(data["global_position"], next, "{data}");

    // A client that reconnects with Last-Event-ID resumes right after it.
    let mut resumed = EventStream::open(&app, "/audit/events/stream?actor=alice", Some(&id)).await;
    let event = resumed.next().await.unwrap();
    let data: Value = serde_json::from_str(&event.data).unwrap();
    assert_eq!(data["global_position"], next, "{data}");

    // The streams end when the server shuts down, rather than holding it open.
    app.cancel.cancel();
    assert!(stream.next().await.is_none());
    assert!(resumed.next().await.is_none());
}

/// An open stream borrows a connection only to read: more streams than the pool
/// has connections still leave the API able to answer, and each still follows.
#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn idle_streams_hold_no_database_connection(pool: PgPool) {
    let app = spawn_app(pool.clone(), false).await;
    let connections = pool.options().get_max_connections() as usize;
    let mut streams = Vec::new();
    for _ in 0..connections * 3 {
        streams.push(EventStream::open(&app, "/audit/events/stream?actor=zed", None).await);
    }
    let page = audit(&app, "/audit/events").await;
    assert_eq!(page.status, 200, "{}", page.body);

    let position = append(&pool, ("Cart", "c9"), "ItemAdded", "zed", "k9").await;
    for stream in &mut streams {
        let event = stream.next().await.unwrap();
        let data: Value = serde_json::from_str(&event.data).unwrap();
        assert_eq!(data["global_position"], position);
    }
}
