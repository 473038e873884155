#!/usr/bin/env bash
# Checks manifests/: every committed file must equal what `vip-agent manifest` prints for
# the documented example command below, and every manifest (committed, plus variants that
# exercise the other branches of the generator) must validate offline against the
# Kubernetes OpenAPI schemas with kubernetes-validate --strict.
#
#   bash scripts/check-manifests.sh            # check; exit 1 on any difference or error
#   bash scripts/check-manifests.sh --update   # rewrite manifests/ from the generator
#
# KUBE_VERSIONS overrides the schema versions (default: 1.33.0, the API version the agent
# is built against, and 1.37.0, the newest kubernetes-validate 1.37.0 ships).
set -euo pipefail
cd "$(dirname "$0")/.."

# The tag `cargo xtask dist` gives the image (target/artifacts/vip-agent-VERSION.oci.tar).
VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
IMAGE=localhost/vip-agent:$VERSION
KUBE_VERSIONS=${KUBE_VERSIONS:-"1.33.0 1.37.0"}
VALIDATOR=kubernetes-validate==1.37.0
update=false
case "${1:-}" in
--update) update=true ;;
"") ;;
*)
  echo "usage: $0 [--update]" >&2
  exit 64
  ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cargo build -q -p vip-agent
bin="$(cargo metadata -q --format-version 1 --no-deps |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug/vip-agent"
# The generator reads VIP_* and kube-vip variables (`address`, `port`, ...) like `run`
# does: an empty environment keeps the caller's from changing the output.
vip() { env -i "$bin" manifest "$@"; }

# The documented examples (docs/kubeadm.md, docs/k3s.md and manifests/README.md show them).
vip rbac --discover-backends >"$tmp/vip-agent-rbac.yaml"
vip daemonset --image "$IMAGE" --interface eth0 --address 192.168.0.100 \
  --discover-backends >"$tmp/vip-agent-daemonset.yaml"
vip pod --image "$IMAGE" --interface eth0 --address 192.168.0.100 \
  --backends 192.168.0.11,192.168.0.12,192.168.0.13 >"$tmp/vip-agent-static-pod.yaml"
vip cleanup --image "$IMAGE" --node cp-1 >"$tmp/vip-agent-cleanup-job.yaml"
# k3s applies every file in /var/lib/rancher/k3s/server/manifests/: one file, both parts;
# its peer key is the k3s server CA key, not kubeadm's.
vip daemonset --image "$IMAGE" --interface eth0 --address 192.168.0.100 \
  --discover-backends \
  --peer-key-file /var/lib/rancher/k3s/server/tls/server-ca.key >"$tmp/k3s-daemonset.yaml"
cat "$tmp/vip-agent-rbac.yaml" "$tmp/k3s-daemonset.yaml" >"$tmp/k3s-vip-agent.yaml"
rm "$tmp/k3s-daemonset.yaml"

status=0

if $update; then
  cp "$tmp"/*.yaml manifests/
  echo "manifests/ rewritten"
else
  for file in "$tmp"/*.yaml; do
    name=$(basename "$file")
    if ! diff -u "manifests/$name" "$file"; then
      echo "FAIL manifests/$name differs from the generator (run $0 --update)" >&2
      status=1
    fi
  done
  for file in manifests/*.yaml; do
    if [ ! -e "$tmp/$(basename "$file")" ]; then
      echo "FAIL $file is not produced by this script" >&2
      status=1
    fi
  done
fi

# Variants not committed, validated so that every branch of the generator is.
mkdir "$tmp/variants"
vip rbac >"$tmp/variants/rbac-static-backends.yaml"
vip daemonset --image "$IMAGE" --interface eth0 --address 192.168.0.100 \
  --backends 192.168.0.11 --election lease >"$tmp/variants/daemonset-lease.yaml"
vip cleanup --image "$IMAGE" --node cp-2.example.com --bpffs-dir /run/vip-bpf/pins \
  >"$tmp/variants/cleanup-custom-bpffs.yaml"
vip pod --image "$IMAGE" --interface eth0 --address 192.168.0.100 --backends 192.168.0.11 \
  --no-keep-forwarding-on-exit >"$tmp/variants/pod-no-keep-forwarding.yaml"

# A copied kube-vip command gives the same pod as the documented one.
vip pod --image "$IMAGE" --interface eth0 --vip 192.168.0.100 --controlplane --arp \
  --leaderElection --taint --backends 192.168.0.11,192.168.0.12,192.168.0.13 \
  >"$tmp/kube-vip-flags.yaml"
if ! diff -u "$tmp/vip-agent-static-pod.yaml" "$tmp/kube-vip-flags.yaml"; then
  echo "FAIL kube-vip's manifest flags do not give the documented pod" >&2
  status=1
fi
if vip pod --image "$IMAGE" --interface eth0 --vip 192.168.0.100 --services \
  --backends 192.168.0.11 >/dev/null 2>"$tmp/services.err" ||
  ! grep -q -- "--services is not supported" "$tmp/services.err"; then
  echo "FAIL --services must be refused with \"not supported\"" >&2
  status=1
fi
# The shell's variables stay out of manifests unless --from-env says otherwise.
env -i port=8080 VIP_HEALTH_INSECURE=true "$bin" manifest pod --image "$IMAGE" \
  --interface eth0 --address 192.168.0.100 --backends 192.168.0.11,192.168.0.12,192.168.0.13 \
  >"$tmp/ambient.yaml"
if ! diff -u "$tmp/vip-agent-static-pod.yaml" "$tmp/ambient.yaml"; then
  echo "FAIL ambient VIP_*/kube-vip variables changed the manifest without --from-env" >&2
  status=1
fi
env -i port=8080 "$bin" manifest pod --image "$IMAGE" --from-env --interface eth0 \
  --address 192.168.0.100 --backends 192.168.0.11 >"$tmp/from-env.yaml"
if ! grep -q 'value: "8080"' "$tmp/from-env.yaml"; then
  echo "FAIL --from-env did not take kube-vip's port=8080" >&2
  status=1
fi

# One uninstall text: the marked blocks of kubeadm.md and troubleshooting.md are equal.
uninstall() { sed -n '/<!-- uninstall:begin/,/<!-- uninstall:end -->/p' "$1"; }
if ! diff -u <(uninstall docs/kubeadm.md) <(uninstall docs/troubleshooting.md) ||
  [ -z "$(uninstall docs/kubeadm.md)" ]; then
  echo "FAIL the uninstall texts of docs/kubeadm.md and docs/troubleshooting.md differ" >&2
  status=1
fi
vip rbac --election none >"$tmp/variants/rbac-no-election.yaml"
vip pod --image "$IMAGE" --interface eth0 --address 192.168.0.100,fd00::100 \
  --backends 192.168.0.11 --election none --health-insecure --metrics-addr off \
  >"$tmp/variants/pod-bootstrap.yaml"
vip daemonset --image "$IMAGE" --namespace vip-system --interface bond0.100 \
  --address 10.0.0.10 --port 6443,8443 --backends 10.0.0.11,10.0.0.12 \
  --kubeconfig /etc/rancher/k3s/k3s.yaml --health-ca-file /etc/vip/ca.pem \
  --bpffs-dir /run/vip-bpf/pins --metrics-addr 127.0.0.1:9100 \
  --keep-forwarding-on-exit >"$tmp/variants/daemonset-custom.yaml"

# kubernetes-validate lives in its own virtualenv (pinned version, no system pip needed;
# Debian's python refuses system-wide pip installs).
venv="${XDG_CACHE_HOME:-$HOME/.cache}/vip/kubernetes-validate"
if ! "$venv/bin/python" -c 'import kubernetes_validate' 2>/dev/null; then
  if ! python3 -m venv --clear "$venv" 2>/dev/null; then
    # Debian splits venv out of python3.
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
      echo "python3 -m venv failed: install python3-venv" >&2
      exit 1
    fi
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv --clear "$venv"
  fi
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$VALIDATOR"
fi
for version in $KUBE_VERSIONS; do
  if "$venv/bin/python" -m kubernetes_validate --strict --quiet -k "$version" manifests/*.yaml "$tmp"/variants/*.yaml; then
    echo "ok: manifests/*.yaml and the variants are valid Kubernetes $version"
  else
    echo "FAIL: invalid against Kubernetes $version" >&2
    status=1
  fi
done
[ "$status" -eq 0 ] && echo "check-manifests: all good"
exit "$status"
