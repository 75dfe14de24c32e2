//! `commerce-replay` as analysts and auditors run it: the real binary against a
//! real PostgreSQL, one fresh database per test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod digest;
mod export;
mod rebuild;
mod state;
mod stats_and_tail;
mod support;
mod verify;
