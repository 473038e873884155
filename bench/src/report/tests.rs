//! The report renders from synthetic trials: tables, goals and a PNG with text.
use super::*;
use crate::failover::{ConnKind, ConnResult, Point};

fn trial(kind: Kind, index: usize, outage: f64) -> Trial {
    let timeline = (0..300)
        .map(|i| {
            let at = -300.0 + f64::from(i) * 10.0;
            let failed = at >= 0.0 && at < outage;
            Point {
                at_ms: at,
                latency_ms: if failed { 100.0 } else { 3.0 },
                node: (!failed).then(|| format!("n{}", i % 3 + 1)),
            }
        })
        .collect();
    Trial {
        stack: "vip-agent".into(),
        kind,
        index,
        victim: "n1".into(),
        new_leader: Some("n2".into()),
        outage_ms: Some(outage),
        first_back_ms: Some(outage),
        handover_ms: Some(outage + 20.0),
        probes: 270,
        failed: (outage / 10.0) as usize,
        conns: vec![ConnResult {
            kind: ConnKind::Stream,
            node: "n2".into(),
            eligible: true,
            survived: true,
            stall_ms: Some(300.0),
            error: None,
            client_port: 40000,
        }],
        timeline,
    }
}

/// Removes the directory when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn writes_tables_json_and_timelines() {
    let dir = TempDir(std::env::temp_dir().join(format!("vip-lab-report-{}", std::process::id())));
    let trials = (0..5)
        .flat_map(|i| Kind::ALL.map(|k| trial(k, i, 900.0 + 20.0 * i as f64)))
        .collect();
    let run = BenchRun {
        command: "vip-lab bench".into(),
        source: "commit 0000000".into(),
        machine: Machine::here(),
        settings: vec!["synthetic".into()],
        trials_per_kind: 5,
        deadline_ms: 15_000.0,
        stacks: vec![StackRun {
            name: "vip-agent".into(),
            events: vec![(Kind::Crash, "crash".into())],
            rebuilds: 0,
            trials,
            datapath: Vec::new(),
        }],
        wall_seconds: 1.0,
    };
    let nodes: Vec<String> = ["n1", "n2", "n3"].map(String::from).to_vec();
    let written = run.write(&dir.0.join("RESULTS.md"), &nodes).unwrap();
    assert_eq!(written.len(), 5, "{written:?}");
    let md = std::fs::read_to_string(dir.0.join("RESULTS.md")).unwrap();
    assert!(
        md.contains("| vip-agent | crash | 5 | 940 | 980 | 980 | 980 |"),
        "{md}"
    );
    assert!(md.contains("p50 940 ms, p99 980 ms | **no**"), "{md}");
    let png = std::fs::read(dir.0.join("results/failover-crash.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    if let Some(keep) = std::env::var_os("VIP_LAB_KEEP_PLOT") {
        std::fs::write(keep, &png).unwrap();
    }
}
