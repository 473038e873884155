//! `cargo xtask build-ebpf`: the XDP object as the normal build makes it. vip-agent's
//! build script builds vip-ebpf (aya-build, nightly) and copies the object to
//! `<OUT_DIR>/vip-ebpf`; cargo's JSON messages say where that OUT_DIR is.
use std::{
    fs,
    io::BufReader,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{bail, ensure, Context, Result};
use cargo_metadata::{Message, MetadataCommand};

use crate::{
    setup::bpf_linker_version,
    tools::{self, nightly_sysroot, try_stdout, which},
};

pub fn run(release: bool) -> Result<()> {
    let object = build(release)?;
    let size = fs::metadata(&object)?.len();
    println!("XDP object: {}", object.display());
    println!("size: {size} bytes");
    match which("readelf") {
        Some(_) => describe(&object),
        None => println!("(install binutils for readelf to list sections and programs)"),
    }
    Ok(())
}

/// What building needs before cargo runs, with the fix for each.
pub fn preflight() -> Result<()> {
    match bpf_linker_version() {
        Some(v) if v.contains(" 0.13.") => {}
        Some(v) => bail!("{v} found, 0.13 expected: run `cargo xtask setup`"),
        None => bail!(
            "bpf-linker is missing or cannot start (it loads the nightly's libLLVM): \
             run `cargo xtask setup`"
        ),
    }
    let src = nightly_sysroot()
        .context("the nightly toolchain is missing: run `cargo xtask setup`")?
        .join("lib/rustlib/src/rust/library");
    ensure!(
        src.is_dir(),
        "nightly lacks rust-src (build-std needs it): run `cargo xtask setup`"
    );
    Ok(())
}

/// Builds vip-agent (and with it the object) and returns the object's absolute path.
pub fn build(release: bool) -> Result<PathBuf> {
    preflight()?;
    let root = tools::workspace_root();
    let metadata = MetadataCommand::new()
        .current_dir(&root)
        .no_deps()
        .exec()
        .context("cargo metadata")?;
    let agent = metadata
        .workspace_packages()
        .into_iter()
        .find(|p| p.name.as_ref() as &str == "vip-agent")
        .context("no vip-agent package in the workspace")?
        .id
        .clone();
    let mut cmd = tools::cargo();
    cmd.args([
        "build",
        "-p",
        "vip-agent",
        "--message-format=json-render-diagnostics",
    ]);
    if release {
        cmd.arg("--release");
    }
    // A skipped eBPF build would leave no object to find.
    cmd.env_remove("AYA_BUILD_SKIP").stdout(Stdio::piped());
    println!("$ {}", tools::show(&cmd));
    let mut child = cmd.spawn().context("cannot start cargo")?;
    let stdout = child.stdout.take().context("cargo's stdout")?;
    let mut out_dir = None;
    for message in Message::parse_stream(BufReader::new(stdout)) {
        if let Message::BuildScriptExecuted(script) = message.context("cargo's JSON")? {
            if script.package_id == agent {
                out_dir = Some(script.out_dir);
            }
        }
    }
    let status = child.wait()?;
    ensure!(status.success(), "cargo build failed ({status})");
    let out_dir = out_dir.context("cargo reported no build-script run for vip-agent")?;
    let object = out_dir.join("vip-ebpf").into_std_path_buf();
    ensure!(
        object.is_file(),
        "{} is missing: was the eBPF build skipped?",
        object.display()
    );
    Ok(object)
}

/// Sections (without debug info and relocations), programs and maps, from readelf.
fn describe(object: &Path) {
    let readelf =
        |flag: &str| try_stdout(Command::new("readelf").arg(flag).arg(object)).unwrap_or_default();
    // "  [ 3] xdp  PROGBITS  0000000000000000 0002a0 006068 ..." -> (3, xdp, 0x6068)
    let sections: Vec<(String, String, u64)> = readelf("-SW")
        .lines()
        .filter_map(|line| {
            let (index, rest) = line.trim_start().strip_prefix('[')?.split_once(']')?;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let size = u64::from_str_radix(fields.get(4)?, 16).ok()?;
            Some((index.trim().to_string(), fields[0].to_string(), size))
        })
        .collect();
    let skip = [".debug", ".rel", ".strtab", ".symtab", "NULL"];
    let listed: Vec<String> = (sections.iter())
        .filter(|(_, name, _)| !skip.iter().any(|s| name.starts_with(s)))
        .map(|(_, name, size)| format!("{name} {size} B"))
        .collect();
    println!("sections: {}", listed.join(", "));
    let index_of = |wanted: &str| sections.iter().find(|s| s.1 == wanted).map(|s| s.0.clone());
    let (xdp, maps) = (index_of("xdp"), index_of("maps"));
    // "    14: 0000000000000010 24664 FUNC    GLOBAL DEFAULT    3 vip_xdp"
    let symbols = readelf("-sW");
    let globals: Vec<Vec<&str>> = (symbols.lines())
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .filter(|f| f.len() == 8 && f[4] == "GLOBAL")
        .collect();
    let in_section = |f: &&Vec<&str>, index: &Option<String>| Some(f[6]) == index.as_deref();
    let programs: Vec<String> = (globals.iter().filter(|f| in_section(f, &xdp)))
        .map(|f| format!("{} ({} insns)", f[7], f[2].parse::<u64>().unwrap_or(0) / 8))
        .collect();
    let maps: Vec<&str> = (globals.iter().filter(|f| in_section(f, &maps)))
        .map(|f| f[7])
        .collect();
    println!("programs (section xdp): {}", programs.join(", "));
    println!("maps: {}", maps.join(", "));
}
