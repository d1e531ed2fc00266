//! Rebuild when migrations change: they are embedded into the binary.
#[expect(
    clippy::print_stdout,
    reason = "cargo reads build-script directives from stdout"
)]
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
