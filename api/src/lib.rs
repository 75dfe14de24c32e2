//! The HTTP face of the system and the `commerce` binary: configuration, start-up,
//! routes, errors as problem details, health and metrics.

pub mod config;
pub mod error;
pub mod routes;
pub mod server;
pub mod state;
pub mod telemetry;
