//! Rebuild when a migration is added or edited: `sqlx::migrate!` embeds the
//! SQL files at compile time, and Cargo does not otherwise watch them.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
