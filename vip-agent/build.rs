//! Builds the XDP object (vip-ebpf) with the nightly toolchain whenever its inputs change,
//! so the agent can never embed a stale object. This is the one build path:
//! `cargo xtask build-ebpf` runs this same build. The command mirrors aya-build's
//! (`bpfel-unknown-none`, `-Z build-std=core`, BTF) but prints nothing unless it fails,
//! so `cargo build` and `cargo clippy` stay free of build-script warnings.
//! AYA_BUILD_SKIP=1 builds an agent without the object (editors); it then refuses to load.
use std::{env, path::PathBuf, process::Command};

fn main() {
    for path in [
        "../vip-ebpf/src",
        "../vip-ebpf/Cargo.toml",
        "../vip-common/src",
        "../vip-common/Cargo.toml",
    ] {
        println!("cargo:rerun-if-changed={path}");
    }
    println!("cargo:rerun-if-env-changed=AYA_BUILD_SKIP");
    println!("cargo:rustc-check-cfg=cfg(vip_ebpf_skipped)");
    if matches!(env::var("AYA_BUILD_SKIP").as_deref(), Ok("1") | Ok("true")) {
        println!("cargo:rustc-cfg=vip_ebpf_skipped");
        return;
    }
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let target_dir = out_dir.join("ebpf-target");
    let arch = env::var("CARGO_CFG_TARGET_ARCH").expect("cargo sets the target arch");
    let endian = env::var("CARGO_CFG_TARGET_ENDIAN").expect("cargo sets the target endianness");
    let target = if endian == "big" {
        "bpfeb-unknown-none"
    } else {
        "bpfel-unknown-none"
    };
    let flags = [
        format!("--cfg=bpf_target_arch=\"{arch}\""),
        "-Cdebuginfo=2".into(),
        "-Clink-arg=--btf".into(),
    ];
    let mut cargo = Command::new("rustup");
    cargo
        .args([
            "run",
            "nightly",
            "cargo",
            "build",
            "--package",
            "vip-ebpf",
            "--bin",
            "vip-ebpf",
            "--release",
        ])
        .args(["--target", target, "-Z", "build-std=core", "--target-dir"])
        .arg(&target_dir)
        .env("CARGO_ENCODED_RUSTFLAGS", flags.join("\x1f"))
        // The outer build's compiler settings must not leak into the nightly BPF build.
        .env_remove("RUSTC")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR");
    let output = cargo
        .output()
        .unwrap_or_else(|e| panic!("running rustup (install rustup and `cargo xtask setup`): {e}"));
    if !output.status.success() {
        panic!(
            "building vip-ebpf failed (run `cargo xtask setup` for the nightly rust-src and bpf-linker):\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let built = target_dir.join(target).join("release").join("vip-ebpf");
    std::fs::copy(&built, out_dir.join("vip-ebpf"))
        .unwrap_or_else(|e| panic!("copying {} into OUT_DIR: {e}", built.display()));
}
