//! The projector runtime: exactly-once effect across failures, rebuilds, one active
//! instance per name, stop-or-park on a bad event, and lag.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use eventlog::{LogWakeups, RecordedEvent};
use projections::runtime::{
    parked, projector_lags, request_parked_retry, request_rebuild, OnFailure, PostgresProjection,
    Projector, ProjectorOptions, ProjectorRuntime, ProjectorState, RunningProjectors,
    SideEffectSink,
};
use projections::Error;
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;

use crate::support::{append, append_stream, wait_until};

const WAIT: Duration = Duration::from_secs(15);

/// A read model that records every application of every event, so a duplicate or a
/// gap shows, and that can be told to fail on one position.
struct RecordingProjection {
    name: String,
    instance: String,
    fail_at_position: Mutex<Option<i64>>,
}

impl RecordingProjection {
    fn new(name: &str, instance: &str) -> Self {
        RecordingProjection {
            name: name.into(),
            instance: instance.into(),
            fail_at_position: Mutex::new(None),
        }
    }

    fn failing_at(self, position: i64) -> Self {
        *self.fail_at_position.lock().unwrap() = Some(position);
        self
    }
}

#[async_trait]
impl PostgresProjection for RecordingProjection {
    fn name(&self) -> &str {
        &self.name
    }

    async fn apply(&self, tx: &mut PgConnection, events: &[RecordedEvent]) -> Result<(), Error> {
        let fail_at = *self.fail_at_position.lock().unwrap();
        for event in events {
            if fail_at == Some(event.global_position) {
                return Err(Error::Rejected(format!(
                    "injected failure at {}",
                    event.global_position
                )));
            }
            sqlx::query(
                "INSERT INTO test_applied (projector, instance, global_position, aggregate_id, sequence)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&self.name)
            .bind(&self.instance)
            .bind(event.global_position)
            .bind(&event.aggregate_id)
            .bind(event.sequence)
            .execute(&mut *tx)
            .await?;
        }
        Ok(())
    }

    async fn reset(&self, tx: &mut PgConnection) -> Result<(), Error> {
        sqlx::query("DELETE FROM test_applied WHERE projector = $1")
            .bind(&self.name)
            .execute(tx)
            .await?;
        Ok(())
    }
}

async fn create_read_model(pool: &PgPool) {
    sqlx::query(
        "CREATE TABLE test_applied (projector text, instance text, global_position bigint,
                                    aggregate_id text, sequence bigint)",
    )
    .execute(pool)
    .await
    .unwrap();
}

/// (global_position, aggregate_id, sequence) of every application, in order.
async fn read_model(pool: &PgPool, projector: &str) -> Vec<(i64, String, i64)> {
    sqlx::query_as(
        "SELECT global_position, aggregate_id, sequence FROM test_applied
          WHERE projector = $1 ORDER BY global_position",
    )
    .bind(projector)
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn applied_count(pool: &PgPool, projector: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM test_applied WHERE projector = $1")
        .bind(projector)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Events applied more than once, by any instance.
async fn duplicate_applications(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) - count(DISTINCT global_position) FROM test_applied")
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn event_count(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await
        .unwrap()
}

fn quick_options() -> ProjectorOptions {
    ProjectorOptions {
        max_batch: 1000,
        poll_interval: Duration::from_millis(50),
        standby_retry: Duration::from_millis(50),
        lock_check_interval: Duration::from_millis(200),
        ..ProjectorOptions::default()
    }
}

async fn start(
    pool: &PgPool,
    projector: Projector,
    on_failure: OnFailure,
    cancel: &CancellationToken,
) -> RunningProjectors {
    ProjectorRuntime::new(
        pool.clone(),
        LogWakeups::start(pool.clone(), cancel.clone()),
        quick_options(),
    )
    .with(projector, on_failure)
    .start(cancel.clone())
    .await
    .unwrap()
}

async fn wait_caught_up(pool: &PgPool, projector: &str) {
    let target = event_count(pool).await;
    wait_until(
        WAIT,
        &format!("{projector} applied all {target} events"),
        || async move { applied_count(pool, projector).await >= target },
    )
    .await;
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_failure_mid_batch_then_a_restart_gives_the_same_read_model_as_no_failure(pool: PgPool) {
    create_read_model(&pool).await;
    for stream in 0..5 {
        append_stream(&pool, "inventory", &format!("sku-{stream}"), 20).await;
    }
    let poisoned: i64 = sqlx::query_scalar(
        "SELECT global_position FROM events ORDER BY global_position OFFSET 49 LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();

    // One projector never fails.
    let cancel = CancellationToken::new();
    let steady = start(
        &pool,
        Projector::Postgres(Arc::new(RecordingProjection::new("steady", "a"))),
        OnFailure::Stop,
        &cancel,
    )
    .await;
    wait_caught_up(&pool, "steady").await;

    // The other fails in the middle of its first batch and stops, naming the event.
    let failing = RecordingProjection::new("flaky", "a").failing_at(poisoned);
    let stop = CancellationToken::new();
    let flaky = start(
        &pool,
        Projector::Postgres(Arc::new(failing)),
        OnFailure::Stop,
        &stop,
    )
    .await;
    let outcomes = flaky.join().await;
    let error = outcomes[0].1.as_ref().unwrap_err();
    match error {
        Error::ProjectorStopped {
            projector,
            global_position,
            event_type,
            ..
        } => {
            assert_eq!(
                (projector.as_str(), *global_position, event_type.as_str()),
                ("flaky", poisoned, "Happened")
            );
        }
        other => panic!("expected ProjectorStopped, got {other}"),
    }
    let message = error.to_string();
    assert!(
        message.contains("flaky")
            && message.contains(&poisoned.to_string())
            && message.contains("Happened"),
        "{message}"
    );
    assert_eq!(
        applied_count(&pool, "flaky").await,
        49,
        "everything before the bad event, once"
    );
    let lag = projector_lags(&pool).await.unwrap();
    let flaky_lag = lag.iter().find(|l| l.projector == "flaky").unwrap();
    assert!(flaky_lag
        .failure
        .as_deref()
        .unwrap_or_default()
        .contains(&poisoned.to_string()));
    assert!(flaky_lag.positions_behind > 0);
    stop.cancel();

    // Restarted (fixed), it resumes where it stopped.
    let restart = CancellationToken::new();
    let _flaky = start(
        &pool,
        Projector::Postgres(Arc::new(RecordingProjection::new("flaky", "a"))),
        OnFailure::Stop,
        &restart,
    )
    .await;
    append_stream(&pool, "inventory", "sku-late", 3).await;
    wait_caught_up(&pool, "flaky").await;
    wait_caught_up(&pool, "steady").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let expected = read_model(&pool, "steady").await;
    assert_eq!(expected.len() as i64, event_count(&pool).await);
    assert_eq!(
        read_model(&pool, "flaky").await,
        expected,
        "exactly-once effect"
    );

    // A rebuild from zero gives the same read model again.
    request_rebuild(&pool, "flaky").await.unwrap();
    wait_until(WAIT, "the rebuild restarted the checkpoint", || async {
        let lags = projector_lags(&pool).await.unwrap();
        let flaky = lags.iter().find(|l| l.projector == "flaky").unwrap();
        let requested: bool = sqlx::query_scalar(
            "SELECT rebuild_requested FROM projector_checkpoints WHERE projector = 'flaky'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        !requested && flaky.positions_behind == 0 && flaky.events_applied == expected.len() as i64
    })
    .await;
    assert_eq!(
        read_model(&pool, "flaky").await,
        expected,
        "rebuild gives the same read model"
    );

    let lags = projector_lags(&pool).await.unwrap();
    assert!(
        lags.iter()
            .all(|l| l.positions_behind == 0 && l.seconds_behind == 0.0 && l.failure.is_none()),
        "{lags:?}"
    );
    cancel.cancel();
    restart.cancel();
    for (name, outcome) in steady.join().await {
        assert!(outcome.is_ok(), "{name}: {outcome:?}");
    }
}

/// Two runtimes ("processes") with a projector of the same name: the first is
/// active by the time this returns, the second has started.
async fn two_instances(
    pool: &PgPool,
) -> (
    RunningProjectors,
    CancellationToken,
    RunningProjectors,
    CancellationToken,
) {
    create_read_model(pool).await;
    let instance =
        |name: &str| Projector::Postgres(Arc::new(RecordingProjection::new("shared", name)));
    let first_cancel = CancellationToken::new();
    let first = start(pool, instance("first"), OnFailure::Stop, &first_cancel).await;
    wait_for_state(
        &first,
        ProjectorState::Active,
        "the first instance is active",
    )
    .await;
    let second_cancel = CancellationToken::new();
    let second = start(pool, instance("second"), OnFailure::Stop, &second_cancel).await;
    (first, first_cancel, second, second_cancel)
}

async fn wait_for_state(running: &RunningProjectors, expected: ProjectorState, what: &str) {
    wait_until(WAIT, what, || {
        let state = running.states().get("shared");
        let expected = expected.clone();
        async move { state == Some(expected) }
    })
    .await;
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn only_one_instance_applies_events_and_a_standby_takes_over(pool: PgPool) {
    let (first, first_cancel, second, second_cancel) = two_instances(&pool).await;

    append_stream(&pool, "cart", "c1", 10).await;
    wait_caught_up(&pool, "shared").await;
    assert_eq!(second.states().get("shared"), Some(ProjectorState::Standby));
    let instances: Vec<String> = sqlx::query_scalar("SELECT DISTINCT instance FROM test_applied")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(instances, vec!["first".to_owned()]);

    first_cancel.cancel();
    for (_, outcome) in first.join().await {
        outcome.unwrap();
    }
    wait_for_state(&second, ProjectorState::Active, "the standby took over").await;
    append_stream(&pool, "cart", "c2", 10).await;
    wait_caught_up(&pool, "shared").await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let by_instance: Vec<(String, i64)> = sqlx::query_as(
        "SELECT instance, count(*) FROM test_applied GROUP BY instance ORDER BY instance",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        by_instance,
        vec![("first".to_owned(), 10), ("second".to_owned(), 10)]
    );
    assert_eq!(duplicate_applications(&pool).await, 0);
    second_cancel.cancel();
}

/// A side-effect sink that refuses one event type until it is fixed.
struct PickySink {
    delivered: Mutex<Vec<i64>>,
    fixed: AtomicBool,
}

#[async_trait]
impl SideEffectSink for PickySink {
    fn name(&self) -> &str {
        "picky"
    }

    async fn deliver(&self, events: &[RecordedEvent]) -> Result<(), Error> {
        if !self.fixed.load(Ordering::SeqCst) && events.iter().any(|e| e.event_type == "Poison") {
            return Err(Error::Rejected("cannot deliver Poison".into()));
        }
        self.delivered
            .lock()
            .unwrap()
            .extend(events.iter().map(|e| e.global_position));
        Ok(())
    }

    async fn reset(&self) -> Result<(), Error> {
        self.delivered.lock().unwrap().clear();
        Ok(())
    }
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_park_on_failure_sink_parks_the_bad_event_goes_on_and_retries_on_request(pool: PgPool) {
    append_stream(&pool, "payment", "p1", 3).await;
    let poison = append(&pool, "payment", "p1", 4, "Poison").await;
    append(&pool, "payment", "p1", 5, "Happened").await;

    let sink = Arc::new(PickySink {
        delivered: Mutex::new(Vec::new()),
        fixed: AtomicBool::new(false),
    });
    let cancel = CancellationToken::new();
    let running = start(
        &pool,
        Projector::SideEffect(sink.clone()),
        OnFailure::Park,
        &cancel,
    )
    .await;

    wait_until(WAIT, "the sink delivered every other event", || {
        let delivered = sink.delivered.lock().unwrap().len();
        async move { delivered == 4 }
    })
    .await;
    assert!(!sink.delivered.lock().unwrap().contains(&poison));
    let parked_events = parked::list(&pool, Some("picky"), false).await.unwrap();
    assert_eq!(parked_events.len(), 1);
    assert_eq!(parked_events[0].global_position, poison);
    assert_eq!(parked_events[0].event_type, "Poison");
    assert!(parked_events[0].error.contains("cannot deliver Poison"));
    assert_eq!(
        running.states().get("picky"),
        Some(ProjectorState::Active),
        "the sink went on"
    );

    // A rebuild sets the old parked rows aside; the replay parks the event anew.
    request_rebuild(&pool, "picky").await.unwrap();
    wait_until(WAIT, "the rebuild re-parked the poison event", || async {
        let parked = parked::list(&pool, Some("picky"), false).await.unwrap();
        parked.len() == 1 && parked[0].attempts == 2 && sink.delivered.lock().unwrap().len() == 4
    })
    .await;

    sink.fixed.store(true, Ordering::SeqCst);
    request_parked_retry(&pool, "picky").await.unwrap();
    wait_until(WAIT, "the parked event was retried", || async {
        parked::list(&pool, Some("picky"), false)
            .await
            .unwrap()
            .is_empty()
    })
    .await;
    assert!(sink.delivered.lock().unwrap().contains(&poison));
    let history = parked::list(&pool, Some("picky"), true).await.unwrap();
    assert!(
        history[0].resolved_at.is_some() && history[0].attempts == 3,
        "{history:?}"
    );
    cancel.cancel();
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn requests_for_an_unknown_projector_are_refused(pool: PgPool) {
    assert!(matches!(
        request_rebuild(&pool, "nope").await,
        Err(Error::UnknownProjector(_))
    ));
    assert!(matches!(
        request_parked_retry(&pool, "nope").await,
        Err(Error::UnknownProjector(_))
    ));
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn the_event_counts_read_model_counts_each_event_once(pool: PgPool) {
    use projections::read_models::event_counts::{self, EventCountsProjection};
    append_stream(&pool, "cart", "c1", 7).await;
    append(&pool, "order", "o1", 1, "OrderPlaced").await;
    let cancel = CancellationToken::new();
    let _running = start(
        &pool,
        Projector::Postgres(Arc::new(EventCountsProjection)),
        OnFailure::Stop,
        &cancel,
    )
    .await;
    wait_until(WAIT, "the counts cover every event", || async {
        event_counts::all(&pool)
            .await
            .unwrap()
            .iter()
            .map(|c| c.events)
            .sum::<i64>()
            == 8
    })
    .await;
    let counts = event_counts::all(&pool).await.unwrap();
    let summary: Vec<(String, String, i64)> = counts
        .into_iter()
        .map(|c| (c.aggregate_type, c.event_type, c.events))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("cart".into(), "Happened".into(), 7),
            ("order".into(), "OrderPlaced".into(), 1)
        ]
    );
    cancel.cancel();
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn when_the_active_instance_loses_its_lock_connection_a_standby_takes_over_without_duplicates(
    pool: PgPool,
) {
    let (first, first_cancel, second, second_cancel) = two_instances(&pool).await;
    append_stream(&pool, "cart", "c1", 5).await;
    wait_caught_up(&pool, "shared").await;

    // The active process's lock connection dies, as if its machine vanished.
    let terminated: Vec<bool> = sqlx::query_scalar(
        // Only this test's database: other tests' projectors hold advisory locks too.
        "SELECT pg_terminate_backend(pid) FROM pg_locks
          WHERE locktype = 'advisory' AND granted
            AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(terminated, vec![true]);
    wait_for_state(&second, ProjectorState::Active, "the standby took over").await;

    append_stream(&pool, "cart", "c2", 5).await;
    wait_caught_up(&pool, "shared").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(duplicate_applications(&pool).await, 0);
    assert_eq!(applied_count(&pool, "shared").await, 10);
    // The first instance noticed and now stands by.
    wait_for_state(
        &first,
        ProjectorState::Standby,
        "the first instance stands by",
    )
    .await;
    first_cancel.cancel();
    second_cancel.cancel();
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_batch_of_one_that_times_out_on_a_lock_is_retried_not_blamed(pool: PgPool) {
    create_read_model(&pool).await;
    append(&pool, "cart", "c1", 1, "Opened").await;
    let cancel = CancellationToken::new();
    let projection = Arc::new(RecordingProjection::new("locked", "a"));
    let running = ProjectorRuntime::new(
        pool.clone(),
        LogWakeups::start(pool.clone(), cancel.clone()),
        ProjectorOptions {
            statement_timeout: Duration::from_millis(200),
            ..quick_options()
        },
    )
    .with(Projector::Postgres(projection), OnFailure::Stop)
    .start(cancel.clone())
    .await
    .unwrap();
    wait_caught_up(&pool, "locked").await;

    // Someone holds the read model's table (a rebuild's swap, a migration) for
    // longer than the statement timeout while one event waits to be applied. (A
    // SHARE lock: it blocks the projector's writes but, unlike an ACCESS
    // EXCLUSIVE one, takes no transaction id, which would hide the event from
    // the reader until it ends.)
    let mut holder = pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE test_applied IN SHARE MODE")
        .execute(&mut *holder)
        .await
        .unwrap();
    append(&pool, "cart", "c1", 2, "ItemAdded").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    holder.commit().await.unwrap();

    wait_caught_up(&pool, "locked").await;
    assert_eq!(running.states().get("locked"), Some(ProjectorState::Active));
    let failure: Option<String> =
        sqlx::query_scalar("SELECT failure FROM projector_checkpoints WHERE projector = 'locked'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(failure, None);
    assert_eq!(duplicate_applications(&pool).await, 0);
    cancel.cancel();
    running.join().await;
}
