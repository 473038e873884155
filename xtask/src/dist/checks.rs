//! What `cargo xtask dist` verifies before it calls the artifacts done.
use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;

use super::{deb::FILES, image, Release};
use crate::tools::{self, stdout};

/// Static (no program interpreter), and `--version` names this build.
pub fn binary(release: &Release, binary: &Path) -> Result<()> {
    let headers = stdout(Command::new("readelf").arg("-lW").arg(binary))?;
    ensure!(
        !headers.contains("program interpreter"),
        "{} is dynamically linked",
        binary.display()
    );
    let version = version_of(binary)?;
    expect_version(release, &version)?;
    println!("ok: static binary; --version:\n{version}");
    Ok(())
}

fn version_of(binary: &Path) -> Result<String> {
    stdout(Command::new(binary).arg("--version").env_clear())
}

fn expect_version(release: &Release, version: &str) -> Result<()> {
    let date = stdout(Command::new("date").args([
        "-u",
        "-d",
        &format!("@{}", release.source_date_epoch),
        "+%Y-%m-%dT%H:%M:%SZ",
    ]))?;
    for expected in [
        format!("vip-agent {}\n", release.version),
        format!("revision: {}\n", release.revision),
        format!("build date: {date}\n"),
        "rustc: rustc 1.".to_owned(),
    ] {
        ensure!(
            version.contains(&expected),
            "--version lacks {expected:?}:\n{version}"
        );
    }
    let hash = version
        .lines()
        .find_map(|line| line.strip_prefix("xdp object sha256: "))
        .unwrap_or("");
    ensure!(
        hash.len() == 64 && hash.chars().all(|c| c.is_ascii_hexdigit()),
        "--version has no XDP object hash:\n{version}"
    );
    Ok(())
}

/// Contents and modes, lintian, the unit under systemd-analyze, and /etc/default naming
/// only variables the binary knows.
pub fn deb(release: &Release, deb: &Path) -> Result<()> {
    let listing = stdout(Command::new("dpkg-deb").arg("--contents").arg(deb))?;
    // "-rwxr-xr-x root/root  15000000 2026-05-20 10:00 ./usr/sbin/vip-agent"
    let files: Vec<(String, String, String)> = listing
        .lines()
        .filter(|line| !line.starts_with('d'))
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let path = fields.get(5)?.trim_start_matches("./");
            Some((path.to_owned(), fields[0].to_owned(), fields[1].to_owned()))
        })
        .collect();
    let mut expected: Vec<(String, String, String)> = FILES
        .iter()
        .map(|(path, _, mode)| {
            let rwx = if *mode == 0o755 {
                "-rwxr-xr-x"
            } else {
                "-rw-r--r--"
            };
            (path.to_string(), rwx.to_owned(), "root/root".to_owned())
        })
        .collect();
    let mut found = files.clone();
    expected.sort();
    found.sort();
    ensure!(found == expected, "unexpected .deb contents:\n{listing}");
    println!(
        "ok: .deb holds {} files with the expected modes",
        found.len()
    );

    tools::run(
        Command::new("lintian")
            .args(["--fail-on", "error,warning"])
            .arg(deb),
    )?;
    println!("ok: lintian");

    let root = deb.with_extension("extracted");
    let _ = fs::remove_dir_all(&root);
    tools::run(Command::new("dpkg-deb").arg("-x").arg(deb).arg(&root))?;
    let result = check_extracted(release, &root);
    fs::remove_dir_all(&root)?;
    result
}

fn check_extracted(release: &Release, root: &Path) -> Result<()> {
    // `verify --root` wants a whole systemd tree; instead the unit is verified with its
    // commands pointing into the extracted package (systemd checks they are executable).
    let unit = fs::read_to_string(root.join("lib/systemd/system/vip-agent.service"))?;
    let mut rooted = unit.clone();
    for command in ["/usr/sbin/vip-agent", "/usr/libexec/vip-agent/stop-post"] {
        ensure!(unit.contains(command), "the unit does not run {command}");
        rooted = rooted.replace(command, &format!("{}{command}", root.display()));
    }
    let rooted_unit = root.join("vip-agent.service");
    fs::write(&rooted_unit, rooted)?;
    let verify = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&rooted_unit)
        .output()
        .context("cannot start systemd-analyze")?;
    let complaints = String::from_utf8_lossy(&verify.stderr).into_owned();
    ensure!(
        verify.status.success() && complaints.trim().is_empty(),
        "systemd-analyze verify: {complaints}"
    );
    println!("ok: systemd-analyze verify vip-agent.service");

    let binary = root.join("usr/sbin/vip-agent");
    let help = stdout(Command::new(&binary).args(["run", "--help"]).env_clear())?;
    let defaults = fs::read_to_string(root.join("etc/default/vip-agent"))?;
    for name in variables(&defaults) {
        ensure!(
            help.contains(&format!("env: {name}=")),
            "/etc/default/vip-agent sets {name}, which `vip-agent run` does not read"
        );
    }
    expect_version(release, &version_of(&binary)?)?;
    println!("ok: /etc/default/vip-agent names only VIP_* settings of `vip-agent run`");
    Ok(())
}

/// The VIP_* names a /etc/default file sets or shows commented out.
fn variables(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| line.trim_start_matches('#'))
        .filter_map(|line| line.split_once('=').map(|(name, _)| name))
        .filter(|name| name.starts_with("VIP_") && !name.contains(' '))
        .map(str::to_owned)
        .collect()
}

/// The archive's config (entrypoint, labels), its one layer (the binary only: no shell),
/// and the entrypoint run from that layer. `podman run` cannot start containers here
/// (crun fails to set RLIMIT_NPROC), so the binary is run outside a container.
pub fn image(release: &Release, archive: &Path) -> Result<()> {
    let dir = archive.with_extension("unpacked");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("layer"))?;
    let result = check_unpacked(release, archive, &dir);
    fs::remove_dir_all(&dir)?;
    result
}

fn check_unpacked(release: &Release, archive: &Path, dir: &Path) -> Result<()> {
    tools::run(
        Command::new("tar")
            .arg("-xf")
            .arg(archive)
            .arg("-C")
            .arg(dir),
    )?;
    let blob = |digest: &str| -> Result<PathBuf> {
        let hex = digest.strip_prefix("sha256:").context("sha256 digest")?;
        Ok(dir.join("blobs/sha256").join(hex))
    };
    let json = |path: PathBuf| -> Result<Value> {
        let text = fs::read_to_string(&path).with_context(|| format!("{}", path.display()))?;
        Ok(serde_json::from_str(&text)?)
    };
    let index = json(dir.join("index.json"))?;
    let manifest = json(blob(str_at(&index, "/manifests/0/digest")?)?)?;
    let tag = str_at(
        &index,
        "/manifests/0/annotations/org.opencontainers.image.ref.name",
    )?;
    ensure!(tag == release.image_tag(), "archive tag {tag}");
    let config = json(blob(str_at(&manifest, "/config/digest")?)?)?;
    let entrypoint = config.pointer("/config/Entrypoint").cloned();
    ensure!(
        entrypoint == Some(serde_json::json!(["/usr/local/bin/vip-agent"])),
        "entrypoint {entrypoint:?}"
    );
    for (name, value) in image::labels(release) {
        let path = format!("/config/Labels/{}", name.replace('/', "~1"));
        ensure!(
            config.pointer(&path).and_then(Value::as_str) == Some(value.as_str()),
            "label {name} is not {value}"
        );
    }
    let layers = manifest
        .get("layers")
        .and_then(Value::as_array)
        .context("no layers")?;
    ensure!(layers.len() == 1, "{} layers, expected 1", layers.len());
    let layer = blob(str_at(&layers[0], "/digest")?)?;
    let listing = stdout(Command::new("tar").arg("-tf").arg(&layer))?;
    let files: Vec<&str> = listing
        .lines()
        .map(|line| line.trim_start_matches("./").trim_end_matches('/'))
        .filter(|line| !line.is_empty())
        .collect();
    if files
        != [
            "usr",
            "usr/local",
            "usr/local/bin",
            "usr/local/bin/vip-agent",
        ]
    {
        bail!("the layer holds more than the binary (a shell?): {files:?}");
    }
    tools::run(
        Command::new("tar")
            .arg("-xf")
            .arg(&layer)
            .arg("-C")
            .arg(dir.join("layer")),
    )?;
    let version = version_of(&dir.join("layer/usr/local/bin/vip-agent"))?;
    expect_version(release, &version)?;
    println!("ok: image config, labels, one layer with only the binary, entrypoint --version");
    Ok(())
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> Result<&'a str> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .with_context(|| format!("no {pointer} in OCI JSON"))
}

#[cfg(test)]
mod tests {
    use super::variables;

    #[test]
    fn default_file_variables_include_commented_ones() {
        let text = "# a comment = not a setting\n#VIP_INTERFACE=eth0\nVIP_KEEP=true\nOTHER=1\n";
        assert_eq!(variables(text), ["VIP_INTERFACE", "VIP_KEEP"]);
    }
}
