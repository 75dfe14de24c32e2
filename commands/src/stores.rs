//! One store per aggregate type of the registry ([`domain::AggregateKind`]), all
//! appending through one group commit, so concurrent commands of every type share
//! commits. `stores.of::<Cart>()` is checked when it compiles: a new aggregate type
//! has its store without anyone listing it here.

use std::sync::Arc;

use domain::{Family, Make, PerAggregate, RegisteredAggregate};
use eventlog::LogWakeups;
use sqlx::PgPool;

use crate::store::{AggregateStore, GroupCommit, StoreOptions};

/// A store of each aggregate type.
pub struct StoreOf;

impl Family for StoreOf {
    type Of<A: RegisteredAggregate> = Arc<AggregateStore<A>>;
}

/// The command side's stores, one per aggregate type.
#[derive(Clone)]
pub struct Stores(PerAggregate<StoreOf>);

impl Stores {
    /// A store per aggregate type sharing one group commit; `options` for all, but
    /// for the snapshot interval each type declares in the registry.
    pub fn new(pool: &PgPool, wakeups: &LogWakeups, options: StoreOptions) -> Self {
        struct Build<'a> {
            pool: &'a PgPool,
            wakeups: &'a LogWakeups,
            options: StoreOptions,
            group: GroupCommit,
        }
        impl Make<StoreOf> for Build<'_> {
            fn make<A: RegisteredAggregate>(&mut self) -> Arc<AggregateStore<A>> {
                let options = StoreOptions {
                    snapshot_every: A::KIND.snapshot_every(),
                    ..self.options
                };
                AggregateStore::sharing(
                    self.pool.clone(),
                    self.wakeups.clone(),
                    options,
                    self.group.clone(),
                )
            }
        }
        Stores(PerAggregate::build(&mut Build {
            pool,
            wakeups,
            options,
            group: GroupCommit::start(pool.clone()),
        }))
    }

    /// The store of `A`.
    pub fn of<A: RegisteredAggregate>(&self) -> &Arc<AggregateStore<A>> {
        self.0.get::<A>()
    }
}
