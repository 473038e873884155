//! A small block-style YAML emitter over `serde_json::Value`, enough for Kubernetes
//! objects: maps keep serde_json's (sorted) key order, so the output is deterministic, and
//! every string that a YAML 1.1 or 1.2 parser could read as anything but that string is
//! double-quoted with JSON escapes (valid YAML).
use std::fmt::Write;

use serde_json::Value;

/// One YAML document (no `---`), ending with a newline.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(&mut out, map, 0),
        Value::Array(items) if !items.is_empty() => write_seq(&mut out, items, 0),
        scalar => {
            out.push_str(&inline(scalar));
            out.push('\n');
        }
    }
    out
}

fn write_map(out: &mut String, map: &serde_json::Map<String, Value>, indent: usize) {
    for (key, value) in map {
        pad(out, indent);
        out.push_str(&scalar_string(key));
        out.push(':');
        write_child(out, value, indent, false);
    }
}

fn write_seq(out: &mut String, items: &[Value], indent: usize) {
    for item in items {
        pad(out, indent);
        out.push('-');
        match item {
            // The first key goes on the dash line, the others align under it.
            Value::Object(map) if !map.is_empty() => {
                let mut nested = String::new();
                write_map(&mut nested, map, indent + 2);
                out.push(' ');
                out.push_str(&nested[indent + 2..]);
            }
            _ => write_child(out, item, indent, true),
        }
    }
}

/// Writes what follows `key:` or `-`: an inline scalar, or a nested block.
/// Sequences under a map key are not indented further, like `kubectl -o yaml`.
fn write_child(out: &mut String, value: &Value, indent: usize, in_seq: bool) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            write_map(out, map, indent + 2);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            write_seq(out, items, if in_seq { indent + 2 } else { indent });
        }
        other => {
            let _ = writeln!(out, " {}", inline(other));
        }
    }
}

fn inline(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => scalar_string(s),
        Value::Array(_) => "[]".to_owned(),
        Value::Object(_) => "{}".to_owned(),
    }
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

/// `s` plain when that is unambiguous, otherwise as a JSON string.
pub fn scalar_string(s: &str) -> String {
    if is_plain_safe(s) {
        s.to_owned()
    } else {
        serde_json::Value::String(s.to_owned()).to_string()
    }
}

/// Words YAML 1.1 resolves to booleans or null (compared case-insensitively).
const RESERVED: [&str; 13] = [
    "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~", "nan", "inf", "",
];

/// Plain only if it starts with a letter or `/`, uses a conservative character set, has no
/// `: ` or trailing `:`, and is no boolean/null word: no number, date, or sexagesimal
/// (`1:20`) can then match.
fn is_plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '/')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@".contains(c))
        && !s.ends_with(':')
        && !RESERVED.contains(&s.to_ascii_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nested_maps_and_sequences_look_like_kubectl() {
        let value = json!({
            "kind": "Pod",
            "spec": {
                "containers": [{"args": ["run"], "name": "a"}],
                "empty": [],
                "tolerations": [{"key": "x"}, "plain"],
            },
        });
        let expected = "kind: Pod\nspec:\n  containers:\n  - args:\n    - run\n    name: a\n  \
                        empty: []\n  tolerations:\n  - key: x\n  - plain\n";
        assert_eq!(to_yaml(&value), expected);
    }

    #[test]
    fn ambiguous_strings_are_quoted() {
        for s in [
            "true",
            "No",
            "6443",
            "0x10",
            "1:20",
            "192.168.0.1",
            "",
            "a: b",
            "-x",
            "*",
            "5s",
        ] {
            assert!(scalar_string(s).starts_with('"'), "{s}");
        }
        for s in [
            "run",
            "eth0",
            "ghcr.io/example/vip-agent:0.1.0",
            "/sys/fs/bpf",
        ] {
            assert_eq!(scalar_string(s), s);
        }
        assert_eq!(scalar_string("a\"b\n"), r#""a\"b\n""#);
    }

    #[test]
    fn sequences_of_sequences_nest() {
        let value = json!({"a": [["x", "z"], []]});
        assert_eq!(to_yaml(&value), "a:\n-\n  - x\n  - z\n- []\n");
    }
}
