//! Integration tests of the write side against a real PostgreSQL (`#[sqlx::test]`
//! gives each test a fresh, migrated database on the server DATABASE_URL names).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod event_store;
mod store;
mod support;
mod upcasting;
