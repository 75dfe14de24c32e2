//! What the write side's tests share: a minimal aggregate and a writer pool.

use commands::event_store::writer_options;
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

/// A minimal aggregate: a running total that refuses to go negative.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Tally {
    pub total: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TallyEvent {
    Added { amount: i64 },
}

impl DomainEvent for TallyEvent {
    fn event_type(&self) -> String {
        "Added".into()
    }
    fn event_version(&self) -> String {
        "1.0".into()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the tally would go negative")]
pub struct WouldGoNegative;

impl Aggregate for Tally {
    const TYPE: &'static str = "tally";
    type Command = i64;
    type Event = TallyEvent;
    type Error = WouldGoNegative;
    type Services = ();

    async fn handle(
        &mut self,
        amount: i64,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), WouldGoNegative> {
        if self.total + amount < 0 {
            return Err(WouldGoNegative);
        }
        sink.write(TallyEvent::Added { amount }, self).await;
        Ok(())
    }

    fn apply(&mut self, TallyEvent::Added { amount }: TallyEvent) {
        self.total += amount;
    }
}

/// A small pool of writer connections (tests share the server's 100 connections).
pub async fn write_pool(options: PgConnectOptions) -> PgPool {
    PgPoolOptions::new()
        .max_connections(3)
        .connect_with(writer_options(options))
        .await
        .unwrap()
}
