//! The API as a client sees it: the real router on 127.0.0.1:0, projectors running,
//! against a fresh database per test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod after_sale;
mod audit;
mod bad_input;
mod binary;
mod checkout_process;
mod commands_and_queries;
mod concurrency;
mod customers;
mod database_outage;
mod fixtures;
mod health;
mod idempotency;
mod kafka_feed;
mod openapi;
mod outside_issuer;
mod personal_data;
mod pricing;
mod rate_limits;
mod read_your_writes;
mod redis_views;
mod refusals;
mod registry;
mod search;
mod shipping_and_tax;
mod storefront;
mod support;
mod webhook_subscriptions;
mod webhooks;
