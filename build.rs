//! sqlx's `migrate!` embeds `migrations/` when the server compiles, but
//! stable Rust cannot tell cargo that it read those files: without this
//! line, a new migration would not rebuild the server that must run it.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
