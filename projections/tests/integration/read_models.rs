//! The document read models against a real PostgreSQL: real domain events written
//! to the log as postgres-es writes them, folded by the projections, read back
//! through each read model's query functions. The folds themselves are also tested
//! without a database, on the same events.

pub mod carts;
pub mod fixtures;
pub mod inventory;
mod mechanics;
mod orders;
mod payments;
mod products;
