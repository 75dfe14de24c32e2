//! `sqlx::migrate!` embeds the files it finds when the crate compiles, but cargo
//! does not know a new file under `migrations/` matters: without this, adding a
//! migration leaves a stale, embedded list until something else changes.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
