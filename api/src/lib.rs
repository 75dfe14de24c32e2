//! The HTTP face of the system and the `commerce` binary: configuration, start-up,
//! routes, auth, errors as problem details, health and metrics.

pub mod auth;
pub mod config;
pub mod error;
pub mod extract;
pub mod routes;
pub mod secret;
pub mod server;
pub mod state;
pub mod telemetry;
