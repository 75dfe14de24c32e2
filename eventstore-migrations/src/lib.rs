//! The SQL migrations of the event store, the projector runtime, idempotency records
//! and the read models, embedded so every binary and test migrates the same way.
//!
//! Migrations only move forward: a released file is never edited, and no migration
//! rewrites or deletes events.

/// Every migration under `migrations/`, in order.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Applies every migration not yet applied to the database behind `pool`.
pub async fn run(pool: &sqlx::PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}
