//! `RunArgs` → `RunConfig`: every check that needs no access to the host.

use std::io;
use std::net::IpAddr;
use std::time::Duration;

use super::cli::{ElectionMode, RunArgs};
use super::error::ConfigError;
use super::field_checks::{addresses, duration, kubernetes_name, number, port, ports};
use super::run_config::*;
use super::settings as s;
use super::values;

/// Where the default node name comes from on a real host.
pub const HOSTNAME_FILE: &str = "/proc/sys/kernel/hostname";

/// The kernel's hostname, which kubelet also uses as node name by default.
pub fn system_hostname() -> io::Result<String> {
    std::fs::read_to_string(HOSTNAME_FILE)
}

impl RunArgs {
    /// Validates with the host's hostname as default node name.
    pub fn to_run_config(&self) -> Result<RunConfig, ConfigError> {
        self.to_run_config_with(system_hostname)
    }

    /// Validates; `hostname` is called only when no node name is set.
    pub fn to_run_config_with(
        &self,
        hostname: impl FnOnce() -> io::Result<String>,
    ) -> Result<RunConfig, ConfigError> {
        let interface = self.interface.clone().ok_or(ConfigError::Missing {
            setting: s::INTERFACE,
        })?;
        if let Some(reason) = values::interface_name_problem(&interface) {
            return Err(ConfigError::InvalidInterfaceName {
                setting: s::INTERFACE,
                value: interface,
                reason,
            });
        }
        let vips = addresses(s::ADDRESS, &self.address)?;
        if vips.is_empty() {
            return Err(ConfigError::Missing {
                setting: s::ADDRESS,
            });
        }
        let service_ports = ports(s::PORT, &self.port)?;
        let services = vips.len() * service_ports.len();
        if services > MAX_SERVICES {
            return Err(ConfigError::TooManyServices {
                addresses: s::ADDRESS,
                port_setting: s::PORT,
                vips: vips.len(),
                ports: service_ports.len(),
                services,
                max: MAX_SERVICES,
            });
        }
        let backend_port = port(s::BACKEND_PORT, &self.backend_port)?;
        let backends = self.backend_source(&vips)?;
        let health = self.health_config()?;
        let node_name = match &self.node_name {
            Some(name) => name.trim().to_owned(),
            None => hostname()
                .map_err(|source| ConfigError::HostnameUnavailable {
                    setting: s::NODE_NAME,
                    source,
                })?
                .trim()
                .to_ascii_lowercase(),
        };
        kubernetes_name(s::NODE_NAME, &node_name, values::dns_subdomain_problem)?;
        let metrics_addr = values::parse_listen_addr(&self.metrics_addr).map_err(|reason| {
            ConfigError::InvalidListenAddr {
                setting: s::METRICS_ADDR,
                value: self.metrics_addr.clone(),
                reason,
            }
        })?;
        let maglev_size = number(
            s::MAGLEV_SIZE,
            &self.maglev_size,
            MAGLEV_SIZE_MIN,
            MAGLEV_SIZE_MAX,
        )?;
        if !values::is_prime(maglev_size) {
            return Err(ConfigError::NotPrime {
                setting: s::MAGLEV_SIZE,
                value: maglev_size,
            });
        }
        let hash_seed = number(s::HASH_SEED, &self.hash_seed, 0, u32::MAX)?;
        if !self.bpffs_dir.is_absolute() {
            return Err(ConfigError::RelativePath {
                setting: s::BPFFS_DIR,
                value: self.bpffs_dir.clone(),
            });
        }
        let garp_interval = duration(s::GARP_INTERVAL, &self.garp_interval, GARP_INTERVAL_MIN)?;
        Ok(RunConfig {
            interface,
            vips,
            service_ports,
            backend_port,
            backends,
            election: self.election()?,
            kubeconfig: self.kubeconfig.clone(),
            node_name,
            metrics_addr,
            xdp_mode: self.xdp_mode,
            health,
            maglev_size,
            hash_seed,
            bpffs_dir: self.bpffs_dir.clone(),
            keep_forwarding_on_exit: self.keep_forwarding_on_exit,
            garp_interval,
            log_format: self.log.log_format,
            log_level: self.log.log_level,
        })
    }

    fn backend_source(&self, vips: &[IpAddr]) -> Result<BackendSource, ConfigError> {
        match (self.backends.is_empty(), self.discover_backends) {
            (true, false) => Err(ConfigError::NoBackendSource {
                static_list: s::BACKENDS,
                discovery: s::DISCOVER_BACKENDS,
            }),
            (false, true) => Err(ConfigError::Conflict {
                first: s::BACKENDS,
                second: s::DISCOVER_BACKENDS,
                reason: "backends come from exactly one source",
            }),
            (true, true) => Ok(BackendSource::DiscoverControlPlaneNodes),
            (false, false) => {
                let backends = addresses(s::BACKENDS, &self.backends)?;
                if backends.len() > MAX_BACKENDS {
                    return Err(ConfigError::TooManyBackends {
                        setting: s::BACKENDS,
                        count: backends.len(),
                        max: MAX_BACKENDS,
                    });
                }
                if let Some(&address) = backends.iter().find(|backend| vips.contains(backend)) {
                    return Err(ConfigError::BackendIsVip {
                        setting: s::BACKENDS,
                        address,
                    });
                }
                Ok(BackendSource::Static(backends))
            }
        }
    }

    fn election(&self) -> Result<Election, ConfigError> {
        if self.election == ElectionMode::None {
            return Ok(Election::None);
        }
        kubernetes_name(
            s::LEASE_NAME,
            &self.lease_name,
            values::dns_subdomain_problem,
        )?;
        kubernetes_name(
            s::LEASE_NAMESPACE,
            &self.lease_namespace,
            values::dns_label_problem,
        )?;
        let lease_duration = duration(s::LEASE_DURATION, &self.lease_duration, Duration::ZERO)?;
        let renew_deadline = duration(s::RENEW_DEADLINE, &self.renew_deadline, Duration::ZERO)?;
        let retry_period = duration(s::RETRY_PERIOD, &self.retry_period, Duration::ZERO)?;
        if lease_duration <= renew_deadline {
            return Err(ConfigError::LeaseDurationNotAboveRenewDeadline {
                lease: s::LEASE_DURATION,
                lease_duration,
                renew: s::RENEW_DEADLINE,
                renew_deadline,
            });
        }
        if renew_deadline <= retry_period.mul_f64(CLIENT_GO_JITTER_FACTOR) {
            return Err(ConfigError::RenewDeadlineNotAboveRetryPeriod {
                renew: s::RENEW_DEADLINE,
                renew_deadline,
                retry: s::RETRY_PERIOD,
                retry_period,
            });
        }
        let lease = LeaseConfig {
            name: self.lease_name.clone(),
            namespace: self.lease_namespace.clone(),
            lease_duration,
            renew_deadline,
            retry_period,
            take_over_foreign: self.lease_take_over_foreign,
        };
        match self.election {
            ElectionMode::Peers => self.peer_config(lease).map(Election::Peers),
            _ => Ok(Election::Lease(lease)),
        }
    }

    fn peer_config(&self, mirror: LeaseConfig) -> Result<PeerConfig, ConfigError> {
        let peers = &self.peers;
        let key = match (&peers.peer_key_file, peers.peer_insecure) {
            (Some(_), true) => {
                return Err(ConfigError::Conflict {
                    first: s::PEER_KEY_FILE,
                    second: s::PEER_INSECURE,
                    reason: "a key file is pointless when heartbeats are not authenticated",
                })
            }
            (Some(path), false) => crate::peers::KeySource::File(path.clone()),
            (None, true) => crate::peers::KeySource::Insecure,
            (None, false) => crate::peers::KeySource::cluster_ca_keys(),
        };
        let address = match &peers.peer_address {
            None => None,
            Some(text) => addresses(s::PEER_ADDRESS, std::slice::from_ref(text))?
                .first()
                .copied(),
        };
        Ok(PeerConfig {
            port: port(s::PEER_PORT, &peers.peer_port)?,
            interval: duration(
                s::PEER_INTERVAL,
                &peers.peer_interval,
                Duration::from_millis(s::PEER_INTERVAL_MIN_MS),
            )?,
            dead_after_intervals: number(s::PEER_DEAD_AFTER, &peers.peer_dead_after, 2, 100)?,
            key,
            address,
            mirror,
        })
    }

    fn health_config(&self) -> Result<HealthCheckConfig, ConfigError> {
        let health = &self.health;
        if let Some(reason) = values::http_path_problem(&health.health_path) {
            return Err(ConfigError::InvalidHttpPath {
                setting: s::HEALTH_PATH,
                value: health.health_path.clone(),
                reason,
            });
        }
        if health.health_insecure && health.health_ca_file.is_some() {
            return Err(ConfigError::Conflict {
                first: s::HEALTH_CA_FILE,
                second: s::HEALTH_INSECURE,
                reason: "a CA is pointless when certificates are not verified",
            });
        }
        let timeout = duration(s::HEALTH_TIMEOUT, &health.health_timeout, Duration::ZERO)?;
        let interval = duration(s::HEALTH_INTERVAL, &health.health_interval, Duration::ZERO)?;
        if timeout >= interval {
            return Err(ConfigError::HealthTimeoutNotBelowInterval {
                timeout_setting: s::HEALTH_TIMEOUT,
                timeout,
                interval_setting: s::HEALTH_INTERVAL,
                interval,
            });
        }
        Ok(HealthCheckConfig {
            path: health.health_path.clone(),
            ca_file: health.health_ca_file.clone(),
            insecure: health.health_insecure,
            timeout,
            interval,
            rise: number(s::HEALTH_RISE, &health.health_rise, 1, HEALTH_THRESHOLD_MAX)?,
            fall: number(s::HEALTH_FALL, &health.health_fall, 1, HEALTH_THRESHOLD_MAX)?,
        })
    }
}
