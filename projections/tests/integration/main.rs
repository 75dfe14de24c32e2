//! Integration tests of the query side, against a real PostgreSQL: each test gets a
//! fresh, migrated database from `#[sqlx::test]` (DATABASE_URL names the server).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod event_log;
mod kafka_feed;
mod log_reader;
mod projector_runtime;
mod read_models;
mod redis_views;
mod search;
mod support;
