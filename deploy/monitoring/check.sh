#!/usr/bin/env bash
# Checks deploy/monitoring/: the PrometheusRule's groups with `promtool check rules`
# and the synthetic series of rules-test.yaml with `promtool test rules` (Debian's
# prometheus package), and the Grafana dashboard: it must load as a dashboard model of
# grafana-foundation-sdk (pinned, in its own virtualenv) and query only metrics the
# agent exports. Run by `cargo xtask test`, after `cargo xtask setup` installed promtool.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON_PACKAGES=('grafana-foundation-sdk==1769699998!10.1.0' 'pyyaml==6.0.3')

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The Python side (YAML, the Grafana model) runs in its own virtualenv, pinned.
venv="${XDG_CACHE_HOME:-$HOME/.cache}/vip/grafana-sdk"
if ! "$venv/bin/python" -c 'import grafana_foundation_sdk, yaml' 2>/dev/null; then
  python3 -m venv --clear "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${PYTHON_PACKAGES[@]}"
fi

# The rule groups of the PrometheusRule are a plain rule file.
"$venv/bin/python" - vip-agent-prometheusrule.yaml "$tmp/rules.yaml" <<'PY'
import sys, yaml
with open(sys.argv[1]) as f:
    rule = yaml.safe_load(f)
assert rule["kind"] == "PrometheusRule", rule["kind"]
with open(sys.argv[2], "w") as f:
    yaml.safe_dump({"groups": rule["spec"]["groups"]}, f, sort_keys=False)
PY
cp rules-test.yaml "$tmp/"
promtool check rules "$tmp/rules.yaml"
promtool test rules "$tmp/rules-test.yaml"

"$venv/bin/python" - vip-agent-dashboard.json vip-agent-prometheusrule.yaml ../../vip-agent/src <<'PY'
import json, pathlib, re, sys
from grafana_foundation_sdk.models.dashboard import Dashboard

path, rules, sources = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])
with open(path) as f:
    raw = json.load(f)
dashboard = Dashboard.from_json(raw)
assert dashboard.title, "dashboard without a title"
assert dashboard.uid, "dashboard without a uid"
panels = raw["panels"]
assert len(dashboard.panels) == len(panels), "panels lost while loading"
# Every metric a panel or an alert queries must be one the agent (or the prometheus
# crate's process collector) exports.
exported = set()
for source in sources.rglob("*.rs"):
    exported.update(re.findall(r'"(vip_[a-z_]+)"', source.read_text()))
exported.update({"process_start_time_seconds", "process_resident_memory_bytes",
                 "process_cpu_seconds_total", "process_open_fds", "process_max_fds", "up"})
queried = set()
for panel in panels:
    for target in panel.get("targets", []):
        queried.update(re.findall(r"\b((?:vip|process)_[a-z_]+|up)\b", target["expr"]))
with open(rules) as f:
    queried.update(re.findall(r"\b(vip_[a-z_]+)\{", f.read()))
# Histogram series carry suffixes the source does not spell out.
stem = lambda name: re.sub(r"_(bucket|sum|count)$", "", name)
unknown = sorted(n for n in queried if stem(n) not in exported and n not in exported)
assert not unknown, f"queries name metrics the agent does not export: {unknown}"
print(f"ok: {path} loads as a Grafana dashboard ({len(panels)} panels), "
      f"queries {len(queried)} exported metrics")
PY
echo "check-monitoring: all good"
