//! `cargo xtask dist`: the release artifacts in target/artifacts/, built from Cargo.lock
//! and the pinned nightly, and checked:
//! - `vip-agent-<version>-x86_64-linux-musl`: the static binary with the XDP object;
//! - `vip-agent_<version>_amd64.deb`: binary, systemd unit, /etc/default, man page;
//! - `vip-agent-<version>.oci.tar`: the image as an OCI archive (buildah, FROM scratch);
//! - `SHA256SUMS` over the three.
//!
//! Every date inside them is SOURCE_DATE_EPOCH, the commit's date, so two builds of one
//! commit are byte-identical (`--reproducible` checks that by building twice).
mod binary;
mod checks;
mod deb;
mod image;
mod manpage;

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{ensure, Context, Result};

use crate::tools::{self, stdout};

/// What the artifacts are built from and named after.
pub struct Release {
    pub version: String,
    /// Full git commit, `-dirty` appended for uncommitted changes.
    pub revision: String,
    /// The commit's date, seconds since the epoch.
    pub source_date_epoch: u64,
    pub root: PathBuf,
}

impl Release {
    pub fn from_checkout() -> Result<Self> {
        let root = tools::workspace_root();
        let git = |args: &[&str]| stdout(Command::new("git").current_dir(&root).args(args));
        let commit = git(&["rev-parse", "HEAD"])?;
        let dirty = !git(&["status", "--porcelain", "--untracked-files=no"])?.is_empty();
        let epoch = git(&["log", "-1", "--format=%ct"])?;
        let manifest = fs::read_to_string(root.join("Cargo.toml"))?;
        let version = manifest
            .lines()
            .find_map(|line| line.trim().strip_prefix("version = \""))
            .and_then(|rest| rest.strip_suffix('"'))
            .context("no version = \"...\" in the workspace Cargo.toml")?
            .to_owned();
        Ok(Self {
            version,
            revision: if dirty {
                format!("{commit}-dirty")
            } else {
                commit
            },
            source_date_epoch: epoch.parse().context("git commit date")?,
            root,
        })
    }

    pub fn image_tag(&self) -> String {
        format!("localhost/vip-agent:{}", self.version)
    }
}

pub struct Options {
    /// Build a second time in a fresh target directory and compare SHA256SUMS.
    pub reproducible: bool,
}

pub fn run(options: &Options) -> Result<()> {
    let release = Release::from_checkout()?;
    let sums = build_all(&release, &release.root.join("target"))?;
    print!("{sums}");
    if options.reproducible {
        let second = release.root.join("target/dist-reproducibility");
        let again = build_all(&release, &second)?;
        ensure!(
            sums == again,
            "two builds differ:\nfirst:\n{sums}second:\n{again}"
        );
        println!(
            "reproducible: a second build in {} is identical",
            second.display()
        );
    }
    Ok(())
}

/// Builds and checks everything with `target_dir` as cargo's target directory, writes
/// the artifacts into `<target_dir>/artifacts` and returns SHA256SUMS.
fn build_all(release: &Release, target_dir: &Path) -> Result<String> {
    let out = target_dir.join("artifacts");
    if out.exists() {
        fs::remove_dir_all(&out)?;
    }
    fs::create_dir_all(&out)?;
    let binary = binary::build(release, target_dir, &out)?;
    checks::binary(release, &binary)?;
    let deb = deb::build(release, &binary, &out)?;
    checks::deb(release, &deb)?;
    let image = image::build(release, &binary, &out)?;
    checks::image(release, &image)?;
    let names = [&binary, &deb, &image].map(|path| file_name(path));
    let sums = stdout(Command::new("sha256sum").current_dir(&out).args(names))? + "\n";
    fs::write(out.join("SHA256SUMS"), &sums)?;
    for path in [&binary, &deb, &image] {
        let size = fs::metadata(path)?.len();
        println!("{}: {:.1} MB", file_name(path), size as f64 / 1e6);
    }
    Ok(sums)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}
