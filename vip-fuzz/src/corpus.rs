//! Fixture files: a map state and a frame in a line-based text format, with free comment
//! lines (`#`) that record how the case was found and resolved. The corpus test replays
//! every file against the program and the model.
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::Path;

use vip_common::Reason;
use vip_model::{Action, BackendSlot, Flow, ModelState, Pin, Service};

#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} line {line}: {problem}")]
    Syntax {
        path: String,
        line: usize,
        problem: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fixture {
    /// Comment lines, without the leading `# `.
    pub notes: Vec<String>,
    pub state: ModelState,
    pub frame: Vec<u8>,
    /// A verdict written by hand (`expect <action> <reason>`), checked against the model.
    pub expect: Option<(Action, Reason)>,
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn flag(on: bool) -> u8 {
    u8::from(on)
}

impl Fixture {
    pub fn to_text(&self) -> String {
        let s = &self.state;
        let mut t = String::new();
        for note in &self.notes {
            let _ = writeln!(t, "# {note}");
        }
        let _ = writeln!(t, "configured {}", flag(s.configured));
        let _ = writeln!(t, "announcing {}", flag(s.announcing));
        let _ = writeln!(t, "deadline-passed {}", flag(s.deadline_passed));
        let _ = writeln!(t, "on-announce-interface {}", flag(s.on_announce_interface));
        let _ = writeln!(t, "pin-guard-open {}", flag(s.pin_guard_open));
        let _ = writeln!(t, "mac {}", hex(&s.mac));
        let _ = writeln!(t, "hash-seed {}", s.hash_seed);
        let _ = writeln!(t, "ring-size {}", s.ring_size);
        for vip in &s.vips {
            let _ = writeln!(t, "vip {vip}");
        }
        for (svc, table) in &s.services {
            let ids: Vec<String> = table.iter().map(u32::to_string).collect();
            let _ = writeln!(
                t,
                "service {} {} {} : {}",
                svc.vip,
                svc.port,
                svc.proto,
                ids.join(" ")
            );
        }
        for (id, b) in &s.backends {
            let _ = writeln!(
                t,
                "backend {id} {} {} {} {}",
                b.server,
                hex(&b.mac),
                if b.active { "active" } else { "inactive" },
                if b.local { "local" } else { "remote" }
            );
        }
        for mac in &s.peer_macs {
            let _ = writeln!(t, "peer {}", hex(mac));
        }
        for (f, pin) in &s.flows {
            let svc = f.service;
            let _ = writeln!(
                t,
                "flow {} {} {} {} {} : {} {} {}",
                f.client,
                f.client_port,
                svc.vip,
                svc.port,
                svc.proto,
                pin.backend_id,
                pin.server,
                if pin.idle { "idle" } else { "fresh" }
            );
        }
        for name in s.mimic.enabled() {
            let _ = writeln!(t, "mimic {name}");
        }
        if let Some((action, reason)) = self.expect {
            let _ = writeln!(t, "expect {action:?} {}", reason.label());
        }
        let _ = writeln!(t, "frame {}", hex(&self.frame));
        t
    }

    pub fn parse(path: &str, text: &str) -> Result<Fixture, CorpusError> {
        let mut state = ModelState {
            configured: true,
            announcing: false,
            deadline_passed: false,
            on_announce_interface: true,
            pin_guard_open: true,
            mac: [0; 6],
            hash_seed: 0,
            ring_size: 0,
            vips: BTreeSet::new(),
            services: BTreeMap::new(),
            backends: BTreeMap::new(),
            peer_macs: BTreeSet::new(),
            flows: BTreeMap::new(),
            mimic: Default::default(),
        };
        let mut notes = Vec::new();
        let mut frame = None;
        let mut expect = None;
        for (index, line) in text.lines().enumerate() {
            let syntax = |problem: &str| CorpusError::Syntax {
                path: path.into(),
                line: index + 1,
                problem: problem.into(),
            };
            if let Some(note) = line.strip_prefix('#') {
                notes.push(note.trim().to_string());
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            let Some((&key, rest)) = words.split_first() else {
                continue;
            };
            if key == "expect" {
                expect = Some(
                    parse_expect(rest).ok_or_else(|| syntax(&format!("cannot read `{line}`")))?,
                );
                continue;
            }
            let parsed = parse_line(&mut state, key, rest, &mut frame);
            parsed.ok_or_else(|| syntax(&format!("cannot read `{line}`")))?;
        }
        let frame = frame.ok_or_else(|| CorpusError::Syntax {
            path: path.into(),
            line: 0,
            problem: "no frame line".into(),
        })?;
        Ok(Fixture {
            notes,
            state,
            frame,
            expect,
        })
    }
}

fn parse_expect(rest: &[&str]) -> Option<(Action, Reason)> {
    let [action, reason] = rest else {
        return None;
    };
    let action = [Action::Drop, Action::Pass, Action::Tx]
        .into_iter()
        .find(|a| format!("{a:?}") == *action)?;
    let reason = Reason::ALL.iter().find(|r| r.label() == *reason)?;
    Some((action, *reason))
}

fn mac(s: &str) -> Option<[u8; 6]> {
    unhex(s)?.try_into().ok()
}

fn service(vip: &str, port: &str, proto: &str) -> Option<Service> {
    Some(Service {
        vip: vip.parse().ok()?,
        port: port.parse().ok()?,
        proto: proto.parse().ok()?,
    })
}

fn parse_line(
    s: &mut ModelState,
    key: &str,
    rest: &[&str],
    frame: &mut Option<Vec<u8>>,
) -> Option<()> {
    let one = || rest.first().copied();
    match key {
        "configured" => s.configured = one()? == "1",
        "announcing" => s.announcing = one()? == "1",
        "deadline-passed" => s.deadline_passed = one()? == "1",
        "on-announce-interface" => s.on_announce_interface = one()? == "1",
        "pin-guard-open" => s.pin_guard_open = one()? == "1",
        "mac" => s.mac = mac(one()?)?,
        "hash-seed" => s.hash_seed = one()?.parse().ok()?,
        "ring-size" => s.ring_size = one()?.parse().ok()?,
        "vip" => {
            s.vips.insert(one()?.parse::<IpAddr>().ok()?);
        }
        "service" => {
            let [vip, port, proto, ":", ids @ ..] = rest else {
                return None;
            };
            let table = ids
                .iter()
                .map(|i| i.parse().ok())
                .collect::<Option<Vec<u32>>>()?;
            s.services.insert(service(vip, port, proto)?, table);
        }
        "backend" => {
            let [id, server, m, active, local] = rest else {
                return None;
            };
            let slot = BackendSlot {
                server: server.parse().ok()?,
                mac: mac(m)?,
                active: *active == "active",
                local: *local == "local",
            };
            s.backends.insert(id.parse().ok()?, slot);
        }
        "peer" => {
            s.peer_macs.insert(mac(one()?)?);
        }
        "flow" => {
            let [client, client_port, vip, port, proto, ":", id, server, idle] = rest else {
                return None;
            };
            let flow = Flow {
                client: client.parse().ok()?,
                client_port: client_port.parse().ok()?,
                service: service(vip, port, proto)?,
            };
            let pin = Pin {
                backend_id: id.parse().ok()?,
                server: server.parse().ok()?,
                idle: *idle == "idle",
            };
            s.flows.insert(flow, pin);
        }
        "mimic" => {
            if !s.mimic.enable(one()?) {
                return None;
            }
        }
        "frame" => *frame = Some(unhex(one()?)?),
        _ => return None,
    }
    Some(())
}

/// Every `*.fixture` file in `dir`, sorted by name.
pub fn load_dir(dir: &Path) -> Result<Vec<(String, Fixture)>, CorpusError> {
    let io = |source| CorpusError::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "fixture"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let name = p.display().to_string();
            let text = std::fs::read_to_string(&p).map_err(|source| CorpusError::Io {
                path: name.clone(),
                source,
            })?;
            Ok((name.clone(), Fixture::parse(&name, &text)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{gen, rng::Rng};

    #[test]
    fn text_round_trips_random_states() {
        let mut rng = Rng::new(3);
        for _ in 0..200 {
            let state = gen::state::state(&mut rng);
            let frame = gen::frame(&mut rng, &state);
            let fixture = Fixture {
                notes: vec!["found by a test".into()],
                state,
                frame,
                expect: Some((Action::Tx, Reason::NdpAdvertised)),
            };
            assert_eq!(Fixture::parse("t", &fixture.to_text()).unwrap(), fixture);
        }
    }
}
