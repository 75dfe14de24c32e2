//! The PostgreSQL read models, one module each, with the projection that builds it
//! and the queries that read it.

pub mod event_counts;
