//! What this binary is: version, git revision, build date, compiler, and the SHA-256 of
//! the XDP object it embeds. `vip-agent --version` prints it and `vip_build_info`
//! exports it, so an operator can tell two nodes' agents apart without shell access.
use std::sync::OnceLock;

use k8s_openapi::jiff::Timestamp;

/// The identity of this build; the same values label `vip_build_info`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildInfo {
    pub version: &'static str,
    /// Full git commit, `-dirty` appended for uncommitted changes; `unknown` outside
    /// `cargo xtask dist`.
    pub revision: &'static str,
    /// RFC 3339 date of the commit the build came from, or `unknown`.
    pub build_date: String,
    pub rustc: &'static str,
    /// Hex SHA-256 of the embedded XDP object, or `none` for an AYA_BUILD_SKIP build.
    pub xdp_sha256: String,
}

impl BuildInfo {
    /// The build this process runs.
    pub fn current() -> &'static BuildInfo {
        static CURRENT: OnceLock<BuildInfo> = OnceLock::new();
        CURRENT.get_or_init(|| BuildInfo {
            version: env!("CARGO_PKG_VERSION"),
            revision: env!("VIP_BUILD_REVISION"),
            build_date: build_date(env!("VIP_BUILD_EPOCH")),
            rustc: env!("VIP_BUILD_RUSTC"),
            xdp_sha256: crate::dataplane::object::bytes()
                .map(sha256_hex)
                .unwrap_or_else(|| "none".into()),
        })
    }

    /// The text after `vip-agent ` in `vip-agent --version`.
    pub fn long_version(&self) -> String {
        format!(
            "{}\nrevision: {}\nbuild date: {}\nrustc: {}\nxdp object sha256: {}",
            self.version, self.revision, self.build_date, self.rustc, self.xdp_sha256
        )
    }

    /// Label names and values of `vip_build_info`, in one order.
    pub fn labels(&self) -> [(&'static str, &str); 5] {
        [
            ("version", self.version),
            ("revision", self.revision),
            ("build_date", &self.build_date),
            ("rustc", self.rustc),
            ("xdp_sha256", &self.xdp_sha256),
        ]
    }
}

/// `epoch` (seconds, as SOURCE_DATE_EPOCH) as an RFC 3339 UTC date; `unknown` if empty.
fn build_date(epoch: &str) -> String {
    epoch
        .parse::<i64>()
        .ok()
        .and_then(|seconds| Timestamp::from_second(seconds).ok())
        .map(|timestamp| timestamp.to_string())
        .unwrap_or_else(|| "unknown".into())
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_dates_come_from_source_date_epoch() {
        assert_eq!(build_date("1700000000"), "2023-11-14T22:13:20Z");
        assert_eq!(build_date(""), "unknown");
    }

    #[test]
    fn sha256_matches_the_published_test_vector() {
        // FIPS 180-2 example "abc".
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn long_version_names_every_field() {
        let info = BuildInfo::current();
        let text = info.long_version();
        for label in [
            "revision: ",
            "build date: ",
            "rustc: rustc ",
            "xdp object sha256: ",
        ] {
            assert!(text.contains(label), "{label} missing from {text}");
        }
        assert!(text.starts_with(env!("CARGO_PKG_VERSION")));
    }
}
