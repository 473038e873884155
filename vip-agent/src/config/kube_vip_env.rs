//! Reads a kube-vip manifest's environment: supported variables become values of our
//! settings, the others become one warning each. Pure over an env map, so it is testable.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use super::kube_vip_table::{entry_for, Accept, Convert, Rule, KUBE_VIP_ENV_TABLE};
use super::settings::Setting;

/// A value for one of our settings that comes from a kube-vip variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasValue {
    pub setting: Setting,
    pub value: String,
    pub variable: &'static str,
    /// The value only applies when none of these settings is given by flag or `VIP_*`.
    pub unless_set: &'static [Setting],
}

/// A kube-vip variable that vip-agent cannot honour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeVipEnvWarning {
    pub variable: String,
    pub value: String,
    pub reason: &'static str,
}

impl fmt::Display for KubeVipEnvWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "kube-vip variable {}={:?} ignored: {}",
            self.variable, self.value, self.reason
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KubeVipEnvError {
    #[error("kube-vip variable {variable}={value:?} is invalid: expected {expected}")]
    InvalidValue {
        variable: &'static str,
        value: String,
        expected: &'static str,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KubeVipTranslation {
    /// At most one value per setting, in table order.
    pub values: Vec<AliasValue>,
    /// One per ignored variable, in variable-name order.
    pub warnings: Vec<KubeVipEnvWarning>,
}

impl KubeVipTranslation {
    pub fn value_for(&self, setting: Setting) -> Option<&AliasValue> {
        self.values.iter().find(|alias| alias.setting == setting)
    }
}

/// Translates the kube-vip variables of `env`; every other variable is ignored.
/// Empty values count as unset, as in kube-vip.
pub fn translate_kube_vip_env(
    env: &BTreeMap<String, String>,
) -> Result<KubeVipTranslation, KubeVipEnvError> {
    let mut candidates: Vec<(usize, AliasValue)> = Vec::new();
    let mut warnings = Vec::new();
    for (variable, raw_value) in env {
        let value = raw_value.trim();
        if value.is_empty() {
            continue;
        }
        let Some(entry) = entry_for(variable) else {
            continue;
        };
        let rank = KUBE_VIP_ENV_TABLE
            .iter()
            .position(|candidate| std::ptr::eq(candidate, entry))
            .unwrap_or(usize::MAX);
        let warn = |reason| KubeVipEnvWarning {
            variable: variable.clone(),
            value: value.to_owned(),
            reason,
        };
        match entry.rule {
            Rule::Map { targets, convert } => {
                let converted = convert_value(entry.variable, value, convert)?;
                candidates.extend(targets.iter().map(|&setting| {
                    let alias = AliasValue {
                        setting,
                        value: converted.clone(),
                        variable: entry.variable,
                        unless_set: &[],
                    };
                    (rank, alias)
                }));
            }
            Rule::Expect {
                accept,
                warning,
                implies,
            } => {
                if !accepts(accept, value) {
                    warnings.push(warn(warning));
                } else if let Some(implied) = implies {
                    let alias = AliasValue {
                        setting: implied.target,
                        value: implied.value.to_owned(),
                        variable: entry.variable,
                        unless_set: implied.unless_set,
                    };
                    candidates.push((rank, alias));
                }
            }
            Rule::Unsupported { warning } => warnings.push(warn(warning)),
            Rule::PassThrough => {}
        }
    }
    candidates.sort_by_key(|(rank, _)| *rank);
    let mut values: Vec<AliasValue> = Vec::new();
    for (_, alias) in candidates {
        if !values.iter().any(|kept| kept.setting == alias.setting) {
            values.push(alias);
        }
    }
    Ok(KubeVipTranslation { values, warnings })
}

/// The kube-vip variables that can set the setting read from `env_name`, in table order.
pub fn aliases_of(env_name: &str) -> Vec<&'static str> {
    KUBE_VIP_ENV_TABLE
        .iter()
        .filter(|entry| match entry.rule {
            Rule::Map { targets, .. } => targets.iter().any(|target| target.env == env_name),
            Rule::Expect {
                implies: Some(implied),
                ..
            } => implied.target.env == env_name,
            _ => false,
        })
        .map(|entry| entry.variable)
        .collect()
}

/// Go's `strconv.ParseBool`, which kube-vip uses for every boolean variable.
pub fn parse_go_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

fn accepts(accept: Accept, value: &str) -> bool {
    match accept {
        Accept::Bool(expected) => parse_go_bool(value) == Some(expected),
        Accept::OneOf(allowed) => allowed.contains(&value),
        Accept::HostPrefixLengths => value
            .split(',')
            .all(|part| matches!(part.trim(), "32" | "128")),
    }
}

fn convert_value(
    variable: &'static str,
    value: &str,
    convert: Convert,
) -> Result<String, KubeVipEnvError> {
    let invalid = |expected| KubeVipEnvError::InvalidValue {
        variable,
        value: value.to_owned(),
        expected,
    };
    match convert {
        Convert::Verbatim => Ok(value.to_owned()),
        Convert::Seconds => value
            .parse::<u32>()
            .map(|seconds| format!("{seconds}s"))
            .map_err(|_| invalid("a whole number of seconds")),
        Convert::Milliseconds => value
            .parse::<u32>()
            .map(|millis| format!("{millis}ms"))
            .map_err(|_| invalid("a whole number of milliseconds")),
        Convert::LeaderElection => match parse_go_bool(value) {
            Some(true) => Ok("lease".to_owned()),
            Some(false) => Ok("none".to_owned()),
            None => Err(invalid("true or false")),
        },
        Convert::LogLevel => {
            let level = value
                .parse::<i32>()
                .map_err(|_| invalid("an integer log level"))?;
            let name = match level {
                ..=-4 | 5 => "debug",
                6 => "trace",
                _ => "info",
            };
            Ok(name.to_owned())
        }
    }
}

/// docs/kube-vip-env.md, generated from the same table the agent uses.
pub fn kube_vip_env_table_markdown() -> String {
    let mut out = String::from(
        "# kube-vip environment variables\n\n\
         <!-- Generated by vip_agent::config::kube_vip_env_table_markdown(); a test keeps it in sync. -->\n\n\
         `vip-agent run` reads the environment of a kube-vip manifest, so its `env:` block can \
         be kept unchanged. A `--flag` beats its `VIP_*` variable, which beats a kube-vip \
         variable; empty values count as unset. Values that match what vip-agent does are \
         accepted silently; any other value is logged once as a warning at startup and \
         otherwise ignored.\n\n\
         | kube-vip variable | vip-agent setting | Handling |\n\
         |---|---|---|\n",
    );
    for entry in KUBE_VIP_ENV_TABLE {
        let targets: Vec<Setting> = match entry.rule {
            Rule::Map { targets, .. } => targets.to_vec(),
            Rule::Expect {
                implies: Some(implied),
                ..
            } => vec![implied.target],
            _ => Vec::new(),
        };
        let setting_cell = if targets.is_empty() {
            "—".to_owned()
        } else {
            let names: Vec<String> = targets
                .iter()
                .map(|target| format!("`--{}` (`{}`)", target.long, target.env))
                .collect();
            names.join(", ")
        };
        let handling = match entry.rule {
            Rule::Expect { warning, .. } | Rule::Unsupported { warning } => {
                format!("{} (warning: {warning})", entry.note)
            }
            Rule::Map { .. } | Rule::PassThrough => entry.note.to_owned(),
        };
        let _ = writeln!(
            out,
            "| `{}` | {setting_cell} | {handling} |",
            entry.variable
        );
    }
    out
}
