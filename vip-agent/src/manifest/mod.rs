//! `vip-agent manifest daemonset|pod|rbac`: Kubernetes objects that run the agent with
//! the same settings as `vip-agent run`, like `kube-vip manifest`.
//!
//! Settings travel as `VIP_*` variables named by `config::settings`, only those that differ
//! from their defaults; the node name always comes from the downward API. The daemonset
//! and pod settings are validated exactly as `run` validates them, so a manifest that
//! renders starts an agent that accepts its configuration. Output is deterministic YAML:
//! a comment naming the command, then one `---`-separated document per object.
mod cleanup;
mod compat;
mod env;
mod parts;
mod rbac;
#[cfg(test)]
mod tests;
mod workload;
mod yaml;

use std::path::PathBuf;

use k8s_openapi::serde::Serialize;

use crate::config::settings::{self as s, Setting};
use crate::config::{ConfigError, ManifestArgs, ManifestKind, RunArgs, RunConfig, EXIT_USAGE};

/// Name of every generated object, container and ServiceAccount.
pub const APP_NAME: &str = "vip-agent";
/// The label that selects the agent's pods.
pub const NAME_LABEL: &str = "app.kubernetes.io/name";

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{setting} is required for `vip-agent manifest {kind}`")]
    MissingImage {
        setting: Setting,
        kind: &'static str,
    },
    #[error("{setting}: {value:?} is not an image reference (empty or contains whitespace)")]
    InvalidImage { setting: Setting, value: String },
    #[error(
        "{setting} cannot be set in a manifest: each pod takes its node name from the \
         downward API (spec.nodeName)"
    )]
    NodeNameFixed { setting: Setting },
    #[error("{setting}: {path:?} must be absolute to be mounted from the host")]
    RelativePath { setting: Setting, path: PathBuf },
    #[error("{setting}: {path:?} is not valid UTF-8")]
    NonUtf8Path { setting: Setting, path: PathBuf },
    #[error("--node is required for `vip-agent manifest cleanup`: the node to clean up")]
    MissingNode,
    #[error("--node: {value:?} is not a Kubernetes node name")]
    InvalidNode { value: String },
    #[error("{flag} is not supported: {reason}")]
    Unsupported {
        flag: &'static str,
        reason: &'static str,
    },
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("serializing the {kind}: {source}")]
    Serialize {
        kind: &'static str,
        source: serde_json::Error,
    },
}

impl ManifestError {
    /// `EXIT_USAGE` for a bad command line; 70 (`EX_SOFTWARE`) for a serializer failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Serialize { .. } => 70,
            _ => EXIT_USAGE,
        }
    }
}

/// The YAML of `args.kind` (header comment, then the objects).
pub fn render(args: &ManifestArgs) -> Result<String, ManifestError> {
    let (mut out, documents) = documents(args)?;
    for document in &documents {
        out.push_str("---\n");
        out.push_str(&yaml::to_yaml(document));
    }
    Ok(out)
}

/// The header comment and the objects, before they become YAML.
fn documents(args: &ManifestArgs) -> Result<(String, Vec<serde_json::Value>), ManifestError> {
    let args = &compat::effective(args)?;
    let kind = kind_name(args.kind);
    let documents = match args.kind {
        ManifestKind::Daemonset => {
            let config = validate(args)?;
            let image = image(args, kind)?;
            let daemonset = workload::daemonset(args, image, &config)?;
            vec![to_value("DaemonSet", daemonset)?]
        }
        ManifestKind::Pod => {
            let config = validate(args)?;
            let image = image(args, kind)?;
            vec![to_value(
                "Pod",
                workload::static_pod(args, image, &config)?,
            )?]
        }
        ManifestKind::Rbac => {
            validate_for_rbac(&args.run)?;
            rbac::objects(args)?
        }
        ManifestKind::Cleanup => {
            let image = image(args, kind)?;
            vec![to_value("Job", cleanup::job(args, image)?)?]
        }
    };
    Ok((header(args)?, documents))
}

fn kind_name(kind: ManifestKind) -> &'static str {
    match kind {
        ManifestKind::Daemonset => "daemonset",
        ManifestKind::Pod => "pod",
        ManifestKind::Rbac => "rbac",
        ManifestKind::Cleanup => "cleanup",
    }
}

fn image<'a>(args: &'a ManifestArgs, kind: &'static str) -> Result<&'a str, ManifestError> {
    let setting = s::MANIFEST_IMAGE;
    let image = args
        .image
        .as_deref()
        .ok_or(ManifestError::MissingImage { setting, kind })?;
    if image.is_empty() || image.chars().any(char::is_whitespace) {
        return Err(ManifestError::InvalidImage {
            setting,
            value: image.to_owned(),
        });
    }
    Ok(image)
}

/// Checks the settings exactly as `run` will; the node name is the downward API's.
fn validate(args: &ManifestArgs) -> Result<RunConfig, ManifestError> {
    if args.run.node_name.is_some() {
        return Err(ManifestError::NodeNameFixed {
            setting: s::NODE_NAME,
        });
    }
    Ok(args
        .run
        .to_run_config_with(|| Ok("node-from-downward-api".to_owned()))?)
}

/// RBAC needs only the election settings, so the ones it does not use may be absent:
/// stand-ins fill interface, address and backend source before the usual checks.
fn validate_for_rbac(run: &RunArgs) -> Result<(), ManifestError> {
    let mut run = run.clone();
    run.interface.get_or_insert_with(|| "eth0".to_owned());
    if run.address.is_empty() {
        run.address.push("192.0.2.1".to_owned());
    }
    run.backends.clear();
    run.discover_backends = true;
    run.node_name = None;
    run.to_run_config_with(|| Ok("node".to_owned()))?;
    Ok(())
}

pub(crate) fn to_value(
    kind: &'static str,
    object: impl Serialize,
) -> Result<serde_json::Value, ManifestError> {
    serde_json::to_value(object).map_err(|source| ManifestError::Serialize { kind, source })
}

/// `# vip-agent manifest <kind> <flags>`: the command that regenerates this output.
fn header(args: &ManifestArgs) -> Result<String, ManifestError> {
    let mut command = format!("vip-agent manifest {}", kind_name(args.kind));
    if let Some(image) = &args.image {
        command.push_str(&format!(
            " --{} {}",
            s::MANIFEST_IMAGE.long,
            shell_word(image)
        ));
    }
    if let Some(node) = &args.node {
        command.push_str(&format!(" --node {}", shell_word(node)));
    }
    if args.namespace != s::DEFAULT_MANIFEST_NAMESPACE {
        let namespace = shell_word(&args.namespace);
        command.push_str(&format!(" --{} {namespace}", s::MANIFEST_NAMESPACE.long));
    }
    for (setting, value) in env::non_default_env(&args.run)? {
        // Keeping forwarding is the manifests' default (the line above says otherwise);
        // a cleanup Job uses nothing but the bpffs directory.
        let shown = match args.kind {
            ManifestKind::Cleanup => setting == s::BPFFS_DIR,
            _ => setting != s::KEEP_FORWARDING_ON_EXIT,
        };
        if !shown {
            continue;
        }
        match value.as_str() {
            "true" if is_switch(setting) => command.push_str(&format!(" --{}", setting.long)),
            _ => command.push_str(&format!(" --{} {}", setting.long, shell_word(&value))),
        }
    }
    if args.no_keep_forwarding_on_exit {
        command.push_str(" --no-keep-forwarding-on-exit");
    }
    Ok(format!(
        "# Generated by: {command}\n# Regenerate rather than edit.\n"
    ))
}

fn is_switch(setting: Setting) -> bool {
    [
        s::DISCOVER_BACKENDS,
        s::HEALTH_INSECURE,
        s::KEEP_FORWARDING_ON_EXIT,
    ]
    .contains(&setting)
}

/// `word` as one POSIX shell word.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:,@=+".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}
