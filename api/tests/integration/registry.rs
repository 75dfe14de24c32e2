//! Every aggregate type declared in the registry (`domain::AggregateKind`) has
//! what the rest of the system needs of it: a Kafka topic, a store on the command
//! side, a stream route for auditors and a state fold. A kind added without one of
//! them fails here (or does not compile), never at run time.

use std::collections::BTreeSet;

use api::auth::Role;
use commands::{StoreOptions, Stores};
use domain::{AggregateKind, ForEachAggregate, RegisteredAggregate};
use eventlog::LogWakeups;
use sqlx::PgPool;

use crate::support::spawn_app;

/// Loads an aggregate of each type through its store.
struct LoadThroughItsStore<'a>(&'a Stores);

impl ForEachAggregate for LoadThroughItsStore<'_> {
    type Output =
        std::pin::Pin<Box<dyn std::future::Future<Output = (AggregateKind, u64)> + 'static>>;

    fn visit<A: RegisteredAggregate>(&mut self) -> Self::Output {
        let store = self.0.of::<A>().clone();
        Box::pin(async move {
            let loaded = store.load_stored("no-such-stream").await.unwrap();
            (A::KIND, loaded.version)
        })
    }
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn every_declared_kind_has_a_topic_a_store_a_stream_route_and_a_state_fold(pool: PgPool) {
    let kinds = AggregateKind::ALL;
    assert!(!kinds.is_empty());

    // A topic of its own.
    let topics: BTreeSet<String> = kinds
        .iter()
        .map(|kind| projections::kafka::topic_for("shop", kind.type_name()).unwrap())
        .collect();
    assert_eq!(topics.len(), kinds.len(), "{topics:?}");

    // A store that reads its streams.
    let stores = Stores::new(&pool, &LogWakeups::local(), StoreOptions::default());
    let loads = AggregateKind::for_each(&mut LoadThroughItsStore(&stores));
    let mut loaded = Vec::new();
    for load in loads {
        loaded.push(load.await);
    }
    assert_eq!(
        loaded,
        kinds.iter().map(|kind| (*kind, 0)).collect::<Vec<_>>()
    );

    // A state fold: the empty stream's state, as JSON.
    for kind in kinds {
        let state = eventlog::replay::fold(*kind, &[]).unwrap();
        assert!(!state.is_null(), "{kind}: {state}");
    }

    // A stream route, under each of its spellings: an unknown stream is a 404,
    // not an unknown type.
    let app = spawn_app(pool, false).await;
    let auditor = app.token("auditor-1", Role::Auditor);
    for kind in kinds {
        for spelling in [kind.type_name(), kind.name(), kind.path()] {
            let answer = app
                .client
                .get(app.url(&format!("/audit/streams/{spelling}/no-such-stream")))
                .bearer_auth(&auditor)
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status(), 404, "/audit/streams/{spelling}/…");
        }
    }
}
