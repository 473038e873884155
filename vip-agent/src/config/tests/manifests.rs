//! Real kube-vip manifests' env blocks run unchanged.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use super::parse;
use crate::config::*;

/// The env block of the kube-vip DaemonSet in /work/shared/seeds/kube-vip-on-k3s.md,
/// verbatim; the guide fills the placeholders with sed.
const K3S_GUIDE_DAEMONSET_ENV: &str = r#"
          env:
            - name: vip_arp
              value: "true"
            - name: port
              value: "6443"
            - name: vip_interface
              value: ##VIP_INTERFACE## # 나중에 sed 명령어로 치환됨
            - name: vip_subnet
              value: "32"
            - name: dns_mode
              value: first
            - name: cp_enable
              value: "true"
            - name: cp_namespace
              value: kube-system
            - name: svc_enable
              value: "true"
            - name: vip_leaderelection
              value: "true"
            - name: vip_leasename
              value: plndr-cp-lock
            - name: vip_leaseduration
              value: "5"
            - name: vip_renewdeadline
              value: "3"
            - name: vip_retryperiod
              value: "1"
            - name: address
              value: ##VIP_ADDRESS## # 나중에 sed 명령어로 치환됨
            - name: prometheus_server
              value: :2112
"#;

/// Shaped like `kube-vip manifest pod --controlplane --arp --leaderElection
/// --enableLoadBalancer` output for kubeadm; kubelet resolves the fieldRef.
const KUBEADM_STATIC_POD_ENV: &str = r#"
    env:
    - name: vip_arp
      value: "true"
    - name: port
      value: "6443"
    - name: vip_nodename
      valueFrom:
        fieldRef:
          fieldPath: spec.nodeName
    - name: vip_interface
      value: ens192
    - name: vip_cidr
      value: "32"
    - name: dns_mode
      value: first
    - name: cp_enable
      value: "true"
    - name: cp_namespace
      value: kube-system
    - name: vip_leaderelection
      value: "true"
    - name: vip_leasename
      value: plndr-cp-lock
    - name: vip_leaseduration
      value: "15"
    - name: vip_renewdeadline
      value: "10"
    - name: vip_retryperiod
      value: "2"
    - name: lb_enable
      value: "true"
    - name: lb_port
      value: "8443"
    - name: lb_fwdmethod
      value: local
    - name: address
      value: 192.168.0.40
    - name: prometheus_server
      value: :2112
"#;

/// The `name`/`value` pairs of a YAML env list (entries with `valueFrom` are skipped).
fn env_block(yaml: &str) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    let mut pending_name = None;
    for line in yaml.lines().map(str::trim) {
        let line = line.split(" #").next().unwrap_or_default().trim_end();
        if let Some(name) = line.strip_prefix("- name: ") {
            pending_name = Some(name.trim().to_owned());
        } else if let Some(value) = line.strip_prefix("value: ") {
            let name = pending_name.take().expect("value follows a name");
            env.insert(name, value.trim().trim_matches('"').to_owned());
        } else if line.starts_with("valueFrom:") {
            pending_name = None;
        }
    }
    env
}

fn kube_vip_warning(variable: &str, value: &str) -> ConfigWarning {
    let entry = entry_for(variable).expect("variable is in the table");
    let reason = match entry.rule {
        Rule::Expect { warning, .. } | Rule::Unsupported { warning } => warning,
        other => panic!("{variable} never warns: {other:?}"),
    };
    ConfigWarning::KubeVip(KubeVipEnvWarning {
        variable: variable.into(),
        value: value.into(),
        reason,
    })
}

#[test]
fn k3s_guide_daemonset_runs_unchanged() {
    let yaml = K3S_GUIDE_DAEMONSET_ENV
        .replace("##VIP_ADDRESS##", "192.168.0.100")
        .replace("##VIP_INTERFACE##", "eno3");
    let env = env_block(&yaml);
    assert_eq!(env.len(), 15);
    let parsed = parse(&["run"], &env).unwrap();
    assert_eq!(
        parsed.warnings,
        vec![kube_vip_warning("svc_enable", "true")]
    );
    let CliCommand::Run(args) = parsed.cli.command else {
        panic!("not run")
    };
    let config = args
        .to_run_config_with(|| Ok("k3s-server-1".into()))
        .unwrap();
    assert_eq!(config.interface, "eno3");
    assert_eq!(
        config.vips,
        vec!["192.168.0.100".parse::<std::net::IpAddr>().unwrap()]
    );
    assert_eq!(
        (config.service_ports.as_slice(), config.backend_port),
        (&[6443][..], 6443)
    );
    assert_eq!(config.backends, BackendSource::DiscoverControlPlaneNodes);
    assert_eq!(
        config.election,
        Election::Lease(LeaseConfig {
            name: "plndr-cp-lock".into(),
            namespace: "kube-system".into(),
            lease_duration: Duration::from_secs(5),
            renew_deadline: Duration::from_secs(3),
            retry_period: Duration::from_secs(1),
            take_over_foreign: false,
        })
    );
    assert_eq!(
        config.metrics_addr,
        Some("0.0.0.0:2112".parse::<SocketAddr>().unwrap())
    );
    assert_eq!(config.node_name, "k3s-server-1");
}

#[test]
fn kubeadm_static_pod_runs_without_warnings() {
    let mut env = env_block(KUBEADM_STATIC_POD_ENV);
    env.insert("vip_nodename".into(), "cp-2".into());
    env.insert("KUBERNETES_SERVICE_HOST".into(), "127.0.0.1".into());
    let parsed = parse(&["run"], &env).unwrap();
    assert_eq!(parsed.warnings, vec![]);
    let CliCommand::Run(args) = parsed.cli.command else {
        panic!("not run")
    };
    let config = args
        .to_run_config_with(|| panic!("vip_nodename is set"))
        .unwrap();
    assert_eq!(config.node_name, "cp-2");
    assert_eq!(config.interface, "ens192");
    // lb_port is what clients use on the VIP; port is where the API servers listen.
    assert_eq!(
        (config.service_ports, config.backend_port),
        (vec![8443], 6443)
    );
    let Election::Lease(lease) = config.election else {
        panic!("lease election")
    };
    assert_eq!(lease.lease_duration, Duration::from_secs(15));
    assert_eq!(lease.renew_deadline, Duration::from_secs(10));
    assert_eq!(lease.retry_period, Duration::from_secs(2));
}
