//! The oldest kernel the XDP program runs on: it calls `bpf_ktime_get_coarse_ns`,
//! which Linux 5.11 added.
/// Oldest supported kernel (major, minor).
pub const MINIMUM_KERNEL: (u32, u32) = (5, 11);

/// Where the running kernel's release string comes from; injectable for tests.
pub trait KernelRelease {
    fn release(&self) -> std::io::Result<String>;
}

/// The kernel this process runs on (`uname -r`).
#[derive(Debug)]
pub struct RunningKernel;

impl KernelRelease for RunningKernel {
    fn release(&self) -> std::io::Result<String> {
        let uts = nix::sys::utsname::uname().map_err(std::io::Error::from)?;
        Ok(uts.release().to_string_lossy().into_owned())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KernelError {
    #[error("kernel {release} is too old: the XDP program needs Linux {}.{} or newer (bpf_ktime_get_coarse_ns)",
        MINIMUM_KERNEL.0, MINIMUM_KERNEL.1)]
    TooOld { release: String },
    #[error("cannot tell the kernel version from release {release:?}")]
    Unparsable { release: String },
    #[error("reading the kernel release: {reason}")]
    Unreadable { reason: String },
}

/// `major.minor` of a release such as `6.1.0-18-amd64` or `5.15.0-generic`.
pub fn major_minor(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(['.', '-', '+']);
    let major = parts.next()?.parse().ok()?;
    let minor_digits: String = parts
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some((major, minor_digits.parse().ok()?))
}

/// Fails unless the kernel is at least [`MINIMUM_KERNEL`].
pub fn require_supported(source: &dyn KernelRelease) -> Result<(), KernelError> {
    let release = source.release().map_err(|error| KernelError::Unreadable {
        reason: error.to_string(),
    })?;
    let release = release.trim().to_owned();
    match major_minor(&release) {
        Some(version) if version >= MINIMUM_KERNEL => Ok(()),
        Some(_) => Err(KernelError::TooOld { release }),
        None => Err(KernelError::Unparsable { release }),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::agent::{run_on_kernel, AgentError};
    use crate::config::{Cli, CliCommand};

    struct Fixed(&'static str);

    impl KernelRelease for Fixed {
        fn release(&self) -> std::io::Result<String> {
            Ok(self.0.to_owned())
        }
    }

    #[test]
    fn kernel_older_than_5_11_refused() {
        let too_old = [
            "5.10.0-28-amd64",
            "4.19.0-26-cloud-amd64",
            "5.4.0-150-generic",
            "3.10.0",
        ];
        for release in too_old {
            let error = require_supported(&Fixed(release)).expect_err(release);
            let message = error.to_string();
            assert!(
                message.contains(release) && message.contains("5.11"),
                "{message}"
            );
            assert!(!message.contains('\n'), "one line: {message}");
        }
        for release in [
            "5.11.0",
            "5.15.0-91-generic",
            "6.1.0-18-amd64",
            "6.18.0",
            "10.0.1",
        ] {
            assert_eq!(require_supported(&Fixed(release)), Ok(()), "{release}");
        }
        assert!(matches!(
            require_supported(&Fixed("linux")),
            Err(KernelError::Unparsable { .. })
        ));
    }

    #[tokio::test]
    async fn kernel_check_comes_before_any_host_change() {
        // A command line that would change the host (and then fail, no such interface):
        // the kernel check rejects it first, so nothing else ran.
        let args = [
            "vip-agent",
            "run",
            "--interface",
            "vt-nosuch0",
            "--address",
            "192.0.2.10",
            "--backends",
            "192.0.2.1",
            "--election",
            "none",
            "--metrics-addr",
            "off",
            "--health-insecure",
            "--node-name",
            "node-a",
        ];
        let parsed = Cli::parse_from_env_and_args(args, &BTreeMap::new()).expect("parse");
        let CliCommand::Run(run) = parsed.cli.command else {
            panic!("a run command");
        };
        let config = run.to_run_config().expect("valid settings");
        let error = run_on_kernel(config, &Fixed("5.10.0-28-amd64"))
            .await
            .expect_err("refused");
        assert!(
            matches!(&error, AgentError::Preflight(_)),
            "the kernel check comes first: {error}"
        );
        assert_eq!(error.exit_code(), 64);
        assert!(error.to_string().contains("5.10.0-28-amd64"), "{error}");
    }
}
