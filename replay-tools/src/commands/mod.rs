//! The subcommands, one module each.

pub mod diff;
pub mod digest;
pub mod export;
pub mod history;
pub mod parked;
pub mod rebuild;
pub mod state;
pub mod stats;
pub mod tail;
pub mod verify;
