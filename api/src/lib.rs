//! The HTTP face of the system and the `commerce` binary: configuration, start-up,
//! routes, auth, idempotency, read-your-writes, rate limits, errors as problem
//! details, OpenAPI, health and metrics.

pub mod auth;
pub mod config;
pub mod consistency;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod openapi;
pub mod rate_limit;
pub mod routes;
pub mod secret;
pub mod server;
pub mod state;
pub mod telemetry;
