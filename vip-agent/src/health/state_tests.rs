//! Rise/fall state machine and settings validation, without network.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use super::*;

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn timeout_error() -> ProbeError {
    ProbeError::Timeout {
        timeout: Duration::from_secs(1),
    }
}

#[test]
fn rises_after_exactly_rise_successes_and_falls_after_fall_failures() {
    let start = Instant::now();
    let mut health = BackendHealth::new(HealthState::Unhealthy, start);
    let latency = Duration::from_millis(3);
    for _ in 0..2 {
        let effect = health.record(None, latency, 3, 2, Instant::now());
        assert!(!effect.is_meaningful());
        assert_eq!(health.state, HealthState::Unhealthy);
    }
    let became_healthy_at = Instant::now();
    let effect = health.record(None, latency, 3, 2, became_healthy_at);
    assert!(effect.state_changed);
    assert_eq!(health.state, HealthState::Healthy);
    assert_eq!(health.last_change, became_healthy_at);
    assert_eq!(health.consecutive_successes, 3);

    let effect = health.record(Some(&timeout_error()), latency, 3, 2, Instant::now());
    assert_eq!(
        effect,
        ProbeEffect {
            state_changed: false,
            error_changed: true
        }
    );
    assert_eq!(health.state, HealthState::Healthy);
    assert_eq!(health.consecutive_successes, 0);
    let effect = health.record(Some(&timeout_error()), latency, 3, 2, Instant::now());
    assert!(effect.state_changed && !effect.error_changed);
    assert_eq!(health.state, HealthState::Unhealthy);
    assert_eq!(health.consecutive_failures, 2);
    assert_eq!(health.last_error.as_deref(), Some("timed out after 1s"));
    assert_eq!(health.probes_total, 5);
    assert_eq!(health.last_latency, Some(latency));
}

#[test]
fn a_success_between_failures_restarts_the_fall_count() {
    let mut health = BackendHealth::new(HealthState::Healthy, Instant::now());
    let latency = Duration::from_millis(1);
    health.record(Some(&timeout_error()), latency, 2, 2, Instant::now());
    let effect = health.record(None, latency, 2, 2, Instant::now());
    assert!(effect.error_changed, "clearing the error must be published");
    assert_eq!(health.last_error, None);
    health.record(Some(&timeout_error()), latency, 2, 2, Instant::now());
    assert_eq!(health.state, HealthState::Healthy);
    assert_eq!(
        healthy_backends(&HealthMap::from([(LOCALHOST, health)])),
        [LOCALHOST].into()
    );
}

#[test]
fn invalid_settings_are_rejected() {
    let insecure = HealthSettings {
        tls: TlsVerification::InsecureSkipVerify,
        ..HealthSettings::default()
    };
    let cases = [
        HealthSettings {
            rise: 0,
            ..insecure.clone()
        },
        HealthSettings {
            interval: Duration::ZERO,
            ..insecure.clone()
        },
        HealthSettings {
            path: "readyz".into(),
            ..insecure.clone()
        },
        HealthSettings {
            tls: TlsVerification::CaFile("/nonexistent/vt-ca.crt".into()),
            ..insecure.clone()
        },
    ];
    let errors: Vec<String> = cases
        .into_iter()
        .map(|settings| {
            HealthChecker::new(settings)
                .err()
                .expect("must fail")
                .to_string()
        })
        .collect();
    assert!(errors[0].contains("rise=0"), "{errors:?}");
    assert!(errors[1].contains("interval=0ns"), "{errors:?}");
    assert!(errors[2].contains("\"readyz\""), "{errors:?}");
    assert!(errors[3].contains("/nonexistent/vt-ca.crt"), "{errors:?}");

    let dir = tempfile::tempdir().expect("temp dir");
    let empty = dir.path().join("empty.crt");
    std::fs::write(&empty, "").expect("write empty CA file");
    let result = HealthChecker::new(HealthSettings {
        tls: TlsVerification::CaFile(empty),
        ..insecure
    });
    assert!(matches!(result, Err(HealthError::NoCaCertificates { .. })));
}
