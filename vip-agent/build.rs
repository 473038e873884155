//! Builds the XDP object (vip-ebpf) with the nightly toolchain whenever its inputs change,
//! so the agent can never embed a stale object. This is the one build path:
//! `cargo xtask build-ebpf` runs this same build. The command mirrors aya-build's
//! (`bpfel-unknown-none`, `-Z build-std=core`, BTF) but prints nothing unless it fails,
//! so `cargo build` and `cargo clippy` stay free of build-script warnings.
//! AYA_BUILD_SKIP=1 builds an agent without the object (editors); it then refuses to load.
//!
//! It also records what `vip-agent --version` prints: the git revision from
//! VIP_GIT_REVISION and the build date from SOURCE_DATE_EPOCH (both set by `cargo xtask
//! dist`, the date being the commit's so that two builds are identical), and the rustc
//! version. The XDP nightly is the dated one in vip-ebpf/rust-toolchain.toml.
use std::{env, fs, path::PathBuf, process::Command};

fn main() {
    build_info();
    for path in [
        "../vip-ebpf/src",
        "../vip-ebpf/Cargo.toml",
        "../vip-common/src",
        "../vip-common/Cargo.toml",
        "../vip-ebpf/rust-toolchain.toml",
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
    let target_dir = shared_ebpf_target_dir(&out_dir);
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
            &pinned_nightly(),
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

/// The `channel` of vip-ebpf/rust-toolchain.toml, e.g. `nightly-2026-05-20`.
fn pinned_nightly() -> String {
    let path = "../vip-ebpf/rust-toolchain.toml";
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    text.lines()
        .filter_map(|line| line.trim().strip_prefix("channel"))
        .filter_map(|rest| rest.trim().strip_prefix('='))
        .map(|value| value.trim().trim_matches('"').to_owned())
        .next()
        .unwrap_or_else(|| panic!("{path} has no channel = \"...\" line"))
}

/// Revision, build date (seconds since the epoch, empty if unknown) and compiler for
/// `vip_agent::build_info`.
fn build_info() {
    println!("cargo:rerun-if-env-changed=VIP_GIT_REVISION");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let revision = env::var("VIP_GIT_REVISION").unwrap_or_else(|_| "unknown".into());
    let epoch = env::var("SOURCE_DATE_EPOCH").unwrap_or_default();
    if !epoch.chars().all(|c| c.is_ascii_digit()) {
        panic!("SOURCE_DATE_EPOCH must be whole seconds since 1970, not {epoch:?}");
    }
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=VIP_BUILD_REVISION={revision}");
    println!("cargo:rustc-env=VIP_BUILD_EPOCH={epoch}");
    println!("cargo:rustc-env=VIP_BUILD_RUSTC={version}");
}

/// One target directory for the XDP object per cargo target directory, so the debug,
/// release, test and `cargo xtask dist` builds share one BPF build: `<target>/vip-ebpf`,
/// found as the ancestor of OUT_DIR that holds cargo's CACHEDIR.TAG. Concurrent builds
/// are serialised by cargo's own lock on that directory.
fn shared_ebpf_target_dir(out_dir: &std::path::Path) -> PathBuf {
    out_dir
        .ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .map(|target| target.join("vip-ebpf"))
        .unwrap_or_else(|| out_dir.join("ebpf-target"))
}
