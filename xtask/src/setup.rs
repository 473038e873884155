//! `cargo xtask setup`: installs only what is missing, so running it again does nothing.
use std::{
    env, fs,
    os::unix::fs::symlink,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{bail, ensure, Context, Result};

use crate::tools::{self, is_root, nightly_sysroot, pinned_nightly, stdout, try_stdout, which};

pub const BPF_LINKER_VERSION: &str = "0.13.0";

/// The target of the static binary `cargo xtask dist` builds.
pub const MUSL_TARGET: &str = "x86_64-unknown-linux-musl";

/// Debian packages the build and the tests use, how to tell one is there, and whether
/// setup may carry on without it. The last six build and check the release artifacts
/// and the monitoring kit.
const PACKAGES: [(&str, Probe, bool); 12] = [
    ("build-essential", Probe::Command("cc"), false),
    ("iproute2", Probe::Command("ip"), false),
    ("arping", Probe::Command("arping"), false),
    ("ethtool", Probe::Command("ethtool"), false),
    ("python3-scapy", Probe::Package, false),
    ("bpftool", Probe::Command("bpftool"), true),
    ("musl-tools", Probe::Command("musl-gcc"), false),
    ("buildah", Probe::Command("buildah"), false),
    ("lintian", Probe::Command("lintian"), false),
    ("prometheus", Probe::Command("promtool"), false),
    ("systemd", Probe::Command("systemd-analyze"), false),
    ("python3-venv", Probe::Package, false),
];

#[derive(Clone, Copy)]
enum Probe {
    Command(&'static str),
    Package,
}

pub fn run() -> Result<()> {
    let mut done = Vec::new();
    nightly(&mut done)?;
    musl_target(&mut done)?;
    bpf_linker(&mut done)?;
    packages(&mut done)?;
    if done.is_empty() {
        println!("setup: nothing to do, everything is in place");
    } else {
        println!("setup did:");
        done.iter().for_each(|what| println!("  - {what}"));
    }
    Ok(())
}

fn nightly(done: &mut Vec<String>) -> Result<()> {
    ensure!(
        which("rustup").is_some(),
        "rustup is missing: install it from https://rustup.rs first"
    );
    let nightly = pinned_nightly()?;
    let toolchains = stdout(Command::new("rustup").args(["toolchain", "list"]))?;
    let prefix = format!("{nightly}-");
    if !toolchains.lines().any(|l| l.starts_with(&prefix)) {
        tools::run(Command::new("rustup").args([
            "toolchain",
            "install",
            &nightly,
            "--profile",
            "minimal",
            "--component",
            "rust-src",
        ]))?;
        done.push(format!("installed {nightly} with rust-src"));
        return Ok(());
    }
    let list = ["component", "list", "--toolchain", &nightly, "--installed"];
    let installed = stdout(Command::new("rustup").args(list))?;
    if installed.lines().any(|l| l.starts_with("rust-src")) {
        println!("ok: {nightly} has rust-src");
    } else {
        tools::run(Command::new("rustup").args([
            "component",
            "add",
            "rust-src",
            "--toolchain",
            &nightly,
        ]))?;
        done.push(format!("added rust-src to {nightly}"));
    }
    Ok(())
}

/// The musl target of the toolchain that builds the agent, for the static release binary.
fn musl_target(done: &mut Vec<String>) -> Result<()> {
    let installed = stdout(Command::new("rustup").args(["target", "list", "--installed"]))?;
    if installed.lines().any(|l| l.trim() == MUSL_TARGET) {
        println!("ok: rust target {MUSL_TARGET}");
        return Ok(());
    }
    tools::run(Command::new("rustup").args(["target", "add", MUSL_TARGET]))?;
    done.push(format!("added the rust target {MUSL_TARGET}"));
    Ok(())
}

/// `bpf-linker --version` if it starts (it needs the libLLVM it was linked against).
pub fn bpf_linker_version() -> Option<String> {
    try_stdout(Command::new("bpf-linker").arg("--version"))
}

fn bpf_linker(done: &mut Vec<String>) -> Result<()> {
    match bpf_linker_version() {
        Some(v) if v.contains(" 0.13.") => {
            println!("ok: {v}");
            return Ok(());
        }
        Some(v) => println!("{v} is not 0.13: reinstalling"),
        None => println!("bpf-linker is missing or cannot start: installing"),
    }
    let lib_dir = nightly_sysroot()?.join("lib");
    let llvm = fs::read_dir(&lib_dir)
        .with_context(|| format!("cannot list {}", lib_dir.display()))?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .find(|name| name.starts_with("libLLVM.so."))
        .with_context(|| format!("no libLLVM.so.* in {}", lib_dir.display()))?;
    // libLLVM.so.22.1-rust-1.97.0-nightly: LLVM 22, bpf-linker feature llvm-22.
    let major = llvm["libLLVM.so.".len()..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .filter(|m| !m.is_empty())
        .with_context(|| format!("no LLVM version in {llvm}"))?;
    let prefix = llvm_prefix()?;
    let prefix_lib = prefix.join("lib");
    fs::create_dir_all(&prefix_lib)?;
    for name in ["libLLVM.so", llvm.as_str()] {
        link(&lib_dir.join(&llvm), &prefix_lib.join(name))?;
    }
    println!(
        "{}/{{libLLVM.so,{llvm}}} -> {}",
        prefix_lib.display(),
        lib_dir.join(&llvm).display()
    );
    let feature = format!("llvm-{major}");
    let install = |locked: bool| {
        let mut cmd = Command::new("cargo");
        cmd.args([
            "install",
            "bpf-linker",
            "--version",
            BPF_LINKER_VERSION,
            "--force",
        ]);
        if locked {
            cmd.arg("--locked");
        }
        cmd.args(["--no-default-features", "--features", &feature]);
        // Outside the workspace, so its .cargo/config.toml plays no part.
        cmd.env("LLVM_PREFIX", &prefix).current_dir(&prefix);
        println!("LLVM_PREFIX={}", prefix.display());
        tools::run(&mut cmd)
    };
    if let Err(error) = install(true) {
        println!("--locked failed ({error:#}); retrying without it");
        install(false)?;
    }
    match bpf_linker_version() {
        Some(v) if v.contains(" 0.13.") => println!("ok: {v}"),
        other => {
            bail!("bpf-linker still not usable after install ({other:?}); is ~/.cargo/bin on PATH?")
        }
    }
    done.push(format!(
        "installed bpf-linker {BPF_LINKER_VERSION} ({feature}) on the nightly's {llvm} via {}",
        prefix.display()
    ));
    Ok(())
}

/// Where the libLLVM links live. bpf-linker keeps this path as its rpath, so it must
/// outlive `cargo clean` and reboots: not target/, not /tmp.
fn llvm_prefix() -> Result<PathBuf> {
    let cache = match env::var_os("XDG_CACHE_HOME") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(env::var_os("HOME").context("HOME is not set")?).join(".cache"),
    };
    Ok(cache.join("vip").join("llvm"))
}

/// Makes `at` a symlink to `target`, replacing whatever is there.
fn link(target: &Path, at: &Path) -> Result<()> {
    if fs::read_link(at).is_ok_and(|current| current == target) {
        return Ok(());
    }
    if at.symlink_metadata().is_ok() {
        fs::remove_file(at).with_context(|| format!("cannot replace {}", at.display()))?;
    }
    symlink(target, at).with_context(|| format!("cannot link {}", at.display()))
}

fn present(package: &str, probe: Probe) -> bool {
    match probe {
        Probe::Command(name) => which(name).is_some(),
        Probe::Package => {
            let query = ["-W", "-f=${Status}", package];
            try_stdout(Command::new("dpkg-query").args(query)).as_deref()
                == Some("install ok installed")
        }
    }
}

fn packages(done: &mut Vec<String>) -> Result<()> {
    let missing: Vec<(&str, bool)> = PACKAGES
        .iter()
        .filter(|(package, probe, _)| !present(package, *probe))
        .map(|(package, _, optional)| (*package, *optional))
        .collect();
    if missing.is_empty() {
        let names: Vec<&str> = PACKAGES.iter().map(|p| p.0).collect();
        println!("ok: {}", names.join(", "));
        return Ok(());
    }
    let names: Vec<&str> = missing.iter().map(|m| m.0).collect();
    ensure!(
        which("apt-get").is_some(),
        "apt-get not found; install these yourself: {}",
        names.join(" ")
    );
    let sudo = !is_root();
    ensure!(
        !sudo || which("sudo").is_some(),
        "installing {} needs root: run `cargo xtask setup` as root",
        names.join(" ")
    );
    let apt = |args: &[&str]| {
        let mut cmd = Command::new(if sudo { "sudo" } else { "apt-get" });
        if sudo {
            cmd.args(["DEBIAN_FRONTEND=noninteractive", "apt-get"]);
        }
        cmd.env("DEBIAN_FRONTEND", "noninteractive").args(args);
        cmd
    };
    tools::run(&mut apt(&["update"]))?;
    let install = ["install", "-y", "--no-install-recommends"];
    let required: Vec<&str> = missing.iter().filter(|m| !m.1).map(|m| m.0).collect();
    if !required.is_empty() {
        tools::run(apt(&install).args(&required))?;
        done.push(format!("apt-get installed {}", required.join(", ")));
    }
    for (package, _) in missing.iter().filter(|m| m.1) {
        match tools::run(apt(&install).arg(package)) {
            Ok(()) => done.push(format!("apt-get installed {package}")),
            Err(error) => println!("warning: optional {package} not installed: {error:#}"),
        }
    }
    Ok(())
}
