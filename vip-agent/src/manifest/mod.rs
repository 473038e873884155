//! Kubernetes manifests generated from the same flags as `vip-agent run`.
use crate::config::ManifestArgs;

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("the manifest generator is being written")]
    NotReady,
}

pub fn render(_args: &ManifestArgs) -> Result<String, ManifestError> {
    Err(ManifestError::NotReady)
}
