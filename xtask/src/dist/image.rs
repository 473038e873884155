//! The OCI image: buildah (no daemon, vfs storage so it runs anywhere as root) builds
//! packaging/Containerfile FROM scratch around the static binary, dated
//! SOURCE_DATE_EPOCH, and saves it as an OCI archive under the tag the manifests use.
use std::{
    fs,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::Result;

use super::Release;
use crate::tools;

/// Where the project's source is published; empty until it is.
pub const SOURCE_URL_VARIABLE: &str = "VIP_SOURCE_URL";

pub fn labels(release: &Release) -> Vec<(&'static str, String)> {
    let source = std::env::var(SOURCE_URL_VARIABLE).unwrap_or_else(|_| "unpublished".into());
    vec![
        ("org.opencontainers.image.title", "vip-agent".into()),
        ("org.opencontainers.image.version", release.version.clone()),
        (
            "org.opencontainers.image.revision",
            release.revision.clone(),
        ),
        ("org.opencontainers.image.source", source),
        ("org.opencontainers.image.licenses", "Apache-2.0".into()),
    ]
}

pub fn buildah() -> Command {
    let mut cmd = Command::new("buildah");
    cmd.args(["--storage-driver", "vfs"]);
    cmd
}

pub fn build(release: &Release, binary: &Path, out: &Path) -> Result<PathBuf> {
    let context = out.join("image-context");
    fs::create_dir_all(&context)?;
    let copied = context.join("vip-agent");
    fs::copy(binary, &copied)?;
    fs::set_permissions(&copied, fs::Permissions::from_mode(0o755))?;
    let tag = release.image_tag();
    let mut build = buildah();
    build
        .args(["build", "--layers=false", "--pull=false", "--quiet"])
        .args(["--timestamp", &release.source_date_epoch.to_string()])
        .arg("--file")
        .arg(release.root.join("packaging/Containerfile"))
        .args(["--tag", &tag]);
    for (name, value) in labels(release) {
        build.args(["--label", &format!("{name}={value}")]);
    }
    tools::run(build.arg(&context))?;
    // An OCI layout directory first: buildah writes the archive's tar headers with the
    // current time, so the archive is packed again below with fixed dates.
    let layout = out.join("image-layout");
    let destination = format!("oci:{}:{tag}", layout.display());
    let pushed = tools::run(buildah().args(["push", "--quiet", &tag, &destination]));
    // The archive is the artifact; the copy in buildah's storage only takes space.
    tools::run(buildah().args(["rmi", &tag]))?;
    pushed?;
    let archive = out.join(format!("vip-agent-{}.oci.tar", release.version));
    tools::run(
        Command::new("tar")
            .args([
                "--create",
                "--sort=name",
                "--owner=0",
                "--group=0",
                "--numeric-owner",
            ])
            .arg(format!("--mtime=@{}", release.source_date_epoch))
            .arg("--file")
            .arg(&archive)
            .arg("--directory")
            .arg(&layout)
            .args(["oci-layout", "index.json", "blobs"]),
    )?;
    fs::remove_dir_all(&layout)?;
    fs::remove_dir_all(&context)?;
    Ok(archive)
}
