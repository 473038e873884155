use std::path::PathBuf;

/// Everything the lab library can fail at.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("running {command}: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed: {stderr}")]
    Command { command: String, stderr: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("entering network namespace {netns}: {source}")]
    Setns {
        netns: String,
        #[source]
        source: nix::Error,
    },
    #[error("{what}: {source}")]
    Sys {
        what: String,
        #[source]
        source: nix::Error,
    },
    #[error("tokio runtime: {0}")]
    Runtime(std::io::Error),
    #[error("a task in network namespace {0} ended without an answer")]
    TaskLost(String),
    #[error("timed out after {waited:?} waiting for {what}")]
    Timeout {
        what: String,
        waited: std::time::Duration,
    },
    #[error("state file {path}: {reason}")]
    State { path: PathBuf, reason: String },
    #[error("{0}")]
    Http(#[from] crate::http::HttpError),
    #[error("ARP probe: {0}")]
    Arp(String),
    #[error("{0}")]
    Other(String),
}

impl LabError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| LabError::Io { path, source }
    }
}
