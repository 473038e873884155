// bpf-linker is a build tool, not a crate dependency: name it so a missing install fails
// with a hint instead of an obscure linker error.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("bpf")
        && which::which("bpf-linker").is_err()
    {
        panic!("bpf-linker not found: run `cargo xtask setup`");
    }
}
