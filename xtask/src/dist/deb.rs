//! The .deb, laid out by hand and packed by dpkg-deb: the binary, the systemd unit and
//! its stop helper, /etc/default/vip-agent, the man page, copyright and changelog.
//! Every file's date is SOURCE_DATE_EPOCH, so the package is reproducible.
use std::{
    fs,
    io::Write,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{ensure, Context, Result};

use super::{manpage, Release};
use crate::tools::{self, stdout};

/// Installed path, source (None: generated), mode.
pub const FILES: [(&str, Option<&str>, u32); 8] = [
    ("usr/sbin/vip-agent", None, 0o755),
    (
        "lib/systemd/system/vip-agent.service",
        Some("packaging/deb/vip-agent.service"),
        0o644,
    ),
    (
        "usr/libexec/vip-agent/stop-post",
        Some("packaging/deb/stop-post"),
        0o755,
    ),
    (
        "etc/default/vip-agent",
        Some("packaging/deb/default"),
        0o644,
    ),
    ("usr/share/man/man8/vip-agent.8.gz", None, 0o644),
    (
        "usr/share/doc/vip-agent/copyright",
        Some("packaging/deb/copyright"),
        0o644,
    ),
    ("usr/share/doc/vip-agent/changelog.gz", None, 0o644),
    (
        "usr/share/lintian/overrides/vip-agent",
        Some("packaging/deb/lintian-overrides"),
        0o644,
    ),
];

const POSTINST: &str = "#!/bin/sh
set -e
if [ \"$1\" = configure ] && [ -d /run/systemd/system ]; then
\tsystemctl --system daemon-reload >/dev/null || true
\t# An upgrade restarts a running agent; it keeps forwarding across the restart.
\tif [ -n \"$2\" ]; then
\t\tdeb-systemd-invoke try-restart vip-agent.service >/dev/null || true
\tfi
fi
";

const PRERM: &str = "#!/bin/sh
set -e
# Removal stops the agent, and the unit's ExecStopPost removes XDP and the VIP.
if [ \"$1\" = remove ] && [ -d /run/systemd/system ]; then
\tdeb-systemd-invoke stop vip-agent.service >/dev/null || true
fi
";

const POSTRM: &str = "#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
\tsystemctl --system daemon-reload >/dev/null || true
fi
";

pub fn build(release: &Release, binary: &Path, out: &Path) -> Result<PathBuf> {
    let stage = out.join("deb-root");
    let date_rfc2822 = date(release, "-R")?;
    for (path, source, mode) in FILES {
        let target = stage.join(path);
        fs::create_dir_all(target.parent().context("file in a directory")?)?;
        match (path, source) {
            (_, Some(source)) => {
                fs::copy(release.root.join(source), &target)?;
            }
            ("usr/sbin/vip-agent", None) => {
                fs::copy(binary, &target)?;
            }
            ("usr/share/man/man8/vip-agent.8.gz", None) => {
                // The staged copy is named vip-agent, which its help texts show.
                let staged = stage.join("usr/sbin/vip-agent");
                let page = manpage::render(release, &staged, &date(release, "+%Y-%m-%d")?)?;
                fs::write(&target, gzip(page.as_bytes())?)?;
            }
            (_, None) => {
                let changelog = format!(
                    "vip-agent ({}) unstable; urgency=medium\n\n  * Built from revision {}.\n\n \
                     -- vip maintainers <vip@example.org>  {date_rfc2822}\n",
                    release.version, release.revision
                );
                fs::write(&target, gzip(changelog.as_bytes())?)?;
            }
        }
        fs::set_permissions(&target, fs::Permissions::from_mode(mode))?;
    }
    let debian = stage.join("DEBIAN");
    fs::create_dir_all(&debian)?;
    for (name, text, mode) in [
        ("control", control(release, &stage)?, 0o644),
        ("conffiles", "/etc/default/vip-agent\n".to_owned(), 0o644),
        ("md5sums", md5sums(&stage)?, 0o644),
        ("postinst", POSTINST.to_owned(), 0o755),
        ("prerm", PRERM.to_owned(), 0o755),
        ("postrm", POSTRM.to_owned(), 0o755),
    ] {
        fs::write(debian.join(name), text)?;
        fs::set_permissions(debian.join(name), fs::Permissions::from_mode(mode))?;
    }
    // Directories 0755 whatever the umask, then every date to the commit's.
    tools::run(
        Command::new("find")
            .arg(&stage)
            .args(["-type", "d", "-exec", "chmod", "0755", "{}", "+"]),
    )?;
    let stamp = format!("@{}", release.source_date_epoch);
    tools::run(
        Command::new("find")
            .arg(&stage)
            .args(["-exec", "touch", "-h", "-d", &stamp, "{}", "+"]),
    )?;
    let deb = out.join(format!("vip-agent_{}_amd64.deb", release.version));
    tools::run(
        Command::new("dpkg-deb")
            .args(["--root-owner-group", "-Zxz", "--build"])
            .arg(&stage)
            .arg(&deb)
            .env("SOURCE_DATE_EPOCH", release.source_date_epoch.to_string()),
    )?;
    fs::remove_dir_all(&stage)?;
    Ok(deb)
}

fn control(release: &Release, stage: &Path) -> Result<String> {
    let size = stdout(
        Command::new("du")
            .args(["-sk", "--apparent-size"])
            .arg(stage),
    )?;
    let kib = size.split_whitespace().next().unwrap_or("0");
    Ok(format!(
        "Package: vip-agent
Version: {}
Architecture: amd64
Maintainer: vip maintainers <vip@example.org>
Installed-Size: {kib}
Section: net
Priority: optional
Description: XDP virtual IP and load balancer for Kubernetes API servers
 One stable address for the kube-apiservers of the control-plane nodes on one
 L2 subnet, replacing keepalived with haproxy or kube-vip. The leader answers
 ARP and NDP for the address in XDP, and every node spreads connections across
 all healthy API servers in the kernel (Maglev hashing, direct server return).
 .
 The package holds one static binary, a systemd unit and its settings in
 /etc/default/vip-agent.
",
        release.version
    ))
}

fn md5sums(stage: &Path) -> Result<String> {
    let mut lines = String::new();
    for (path, _, _) in FILES {
        let sum = stdout(Command::new("md5sum").arg(path).current_dir(stage))?;
        lines += &sum;
        lines.push('\n');
    }
    Ok(lines)
}

/// `date -u -d @EPOCH FORMAT`.
fn date(release: &Release, format: &str) -> Result<String> {
    let at = format!("@{}", release.source_date_epoch);
    stdout(Command::new("date").args(["-u", "-d", &at, format]))
}

/// gzip -9n: no name and no date in the header, as reproducible packages need.
fn gzip(data: &[u8]) -> Result<Vec<u8>> {
    let mut child = Command::new("gzip")
        .args(["-9n", "-c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot start gzip")?;
    child.stdin.take().context("gzip stdin")?.write_all(data)?;
    let output = child.wait_with_output()?;
    ensure!(output.status.success(), "gzip failed");
    Ok(output.stdout)
}
