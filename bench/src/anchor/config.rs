//! The anchor's configuration files, written as the kubeadm HA guide writes them
//! ("keepalived and haproxy" option, both on every control-plane node): keepalived's VRRP
//! instance with a track script, and haproxy in TCP mode on a frontend port of its own in
//! front of the API servers' :6443.
use std::net::Ipv4Addr;
use std::path::Path;

use crate::{API_PORT, VIP4};

/// The frontend port haproxy listens on (`APISERVER_DEST_PORT` in the guide: the API
/// servers already hold :6443 on the same nodes).
pub const HAPROXY_PORT: u16 = 8443;
/// haproxy's statistics page (`/stats`, `/stats;csv`), as in the on-premises guide.
pub const STATS_PORT: u16 = 9000;
/// `virtual_router_id` of the VRRP instance.
pub const ROUTER_ID: u8 = 51;

/// The guide's priorities: higher on the first ("MASTER") node than on the backups.
pub fn priority(node: usize) -> u8 {
    if node == 0 {
        101
    } else {
        100
    }
}

/// The guide's `check_apiserver.sh`, pointed at the local API server's `/readyz`.
pub fn check_script() -> String {
    format!(
        "#!/bin/sh\n\
         # vip-lab anchor: keepalived's track script (kubeadm HA guide's check_apiserver.sh)\n\
         errorExit() {{\n    echo \"*** $*\" 1>&2\n    exit 1\n}}\n\
         curl -sfk --max-time 1 https://127.0.0.1:{API_PORT}/readyz -o /dev/null || \
         errorExit \"Error GET https://127.0.0.1:{API_PORT}/readyz\"\n"
    )
}

/// `keepalived.conf` of node `node`; `script` is the path of [`check_script`]. Tuned:
/// VRRPv3 with `advert_int 0.1` (the shortest VRRPv3 allows with this keepalived) and the
/// track script every second with `fall 1`, as far as keepalived goes.
pub fn keepalived_conf(node: usize, interface: &str, script: &Path, tuned: bool) -> String {
    let state = if node == 0 { "MASTER" } else { "BACKUP" };
    let priority = priority(node);
    let script = script.display();
    let (version, advert, check, auth) = match tuned {
        false => (
            "",
            "1",
            "interval 3\n    weight -2\n    fall 10\n    rise 2",
            "    authentication {\n        auth_type PASS\n        auth_pass 42\n    }\n",
        ),
        // VRRPv3 has no authentication.
        true => (
            "    vrrp_version 3\n",
            "0.1",
            "interval 1\n    weight -2\n    fall 1\n    rise 1",
            "",
        ),
    };
    let flavour = if tuned {
        "tuned as far as it goes"
    } else {
        "as the kubeadm HA guide configures it"
    };
    format!(
        "! vip-lab anchor, node {n}: keepalived {flavour}\n\
         global_defs {{\n    router_id LVS_DEVEL\n    script_user root\n{version}}}\n\
         vrrp_script check_apiserver {{\n    script \"{script}\"\n    {check}\n}}\n\n\
         vrrp_instance VI_1 {{\n    state {state}\n    interface {interface}\n    \
         virtual_router_id {ROUTER_ID}\n    priority {priority}\n    advert_int {advert}\n\
         {auth}    \
         virtual_ipaddress {{\n        {VIP4}\n    }}\n    \
         track_script {{\n        check_apiserver\n    }}\n}}\n",
        n = node + 1
    )
}

/// `haproxy.cfg` for API servers at `backends` (name, address): the guide's defaults, a
/// TCP frontend on [`HAPROXY_PORT`], round robin over the API servers with an HTTPS check
/// of `/readyz` every second (`fall 2 rise 2`; tuned: every 200 ms), and the statistics
/// page.
pub fn haproxy_cfg(backends: &[(String, Ipv4Addr)], tuned: bool) -> String {
    let inter = if tuned { "200ms" } else { "1s" };
    let mut cfg = format!(
        "# vip-lab anchor: haproxy as the kubeadm HA guide configures it\n\
         global\n    log stdout format raw local0 notice\n\n\
         defaults\n    mode                    http\n    log                     global\n    \
         option                  httplog\n    option                  dontlognull\n    \
         option http-server-close\n    option forwardfor       except 127.0.0.0/8\n    \
         option                  redispatch\n    retries                 1\n    \
         timeout http-request    10s\n    timeout queue           20s\n    \
         timeout connect         5s\n    timeout client          20s\n    \
         timeout server          20s\n    timeout http-keep-alive 10s\n    \
         timeout check           10s\n\n\
         frontend stats\n    bind *:{STATS_PORT}\n    mode http\n    stats enable\n    \
         stats uri /stats\n\n\
         frontend apiserver\n    bind *:{HAPROXY_PORT}\n    mode tcp\n    option tcplog\n    \
         default_backend apiserverbackend\n\n\
         backend apiserverbackend\n    option httpchk\n    http-check connect ssl\n    \
         http-check send meth GET uri /readyz\n    http-check expect status 200\n    \
         mode tcp\n    balance roundrobin\n"
    );
    for (name, addr) in backends {
        cfg += &format!(
            "    server {name} {addr}:{API_PORT} check verify none inter {inter} fall 2 rise 2\n"
        );
    }
    cfg
}

/// The status haproxy's CSV statistics give each server of `apiserverbackend`
/// (`UP`, `DOWN`, `UP 1/2`, …), by server name.
pub fn server_states(csv: &str) -> Vec<(String, String)> {
    csv.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            let (proxy, server) = (*fields.first()?, *fields.get(1)?);
            let status = *fields.get(17)?;
            (proxy == "apiserverbackend" && server != "BACKEND" && server != "FRONTEND")
                .then(|| (server.to_owned(), status.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalived_master_and_backups() {
        let conf = keepalived_conf(0, "eth0", Path::new("/x/check.sh"), false);
        assert!(conf.contains("state MASTER") && conf.contains("priority 101"));
        assert!(conf.contains("advert_int 1") && conf.contains("script \"/x/check.sh\""));
        let conf = keepalived_conf(2, "eth0", Path::new("/x/check.sh"), false);
        assert!(conf.contains("state BACKUP") && conf.contains("priority 100"));
        assert!(conf.contains("10.77.0.100"));
    }

    #[test]
    fn haproxy_servers_and_stats() {
        let cfg = haproxy_cfg(&[("n1".into(), Ipv4Addr::new(10, 77, 0, 1))], false);
        assert!(cfg.contains("bind *:8443"));
        assert!(cfg.contains("server n1 10.77.0.1:6443 check verify none inter 1s fall 2 rise 2"));
        let csv = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status\n\
                   apiserverbackend,n1,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP\n\
                   apiserverbackend,n2,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN\n\
                   apiserverbackend,BACKEND,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP\n";
        assert_eq!(
            server_states(csv),
            [("n1".into(), "UP".into()), ("n2".into(), "DOWN".into())]
        );
    }
}
