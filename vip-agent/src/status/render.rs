//! Human (ipvsadm-like) and JSON renderings of `Status`.
use std::fmt::Write as _;

use super::Status;

pub fn json(status: &Status) -> String {
    serde_json::to_string_pretty(status).expect("status serializes")
}

pub fn text(status: &Status) -> String {
    let mut out = String::new();
    let leader = if !status.announcing {
        "no (follower)".to_owned()
    } else if status.announce_deadline_in_s < 0.0 {
        format!(
            "no: announce deadline lapsed {:.1}s ago (agent not refreshing)",
            -status.announce_deadline_in_s
        )
    } else {
        "yes".to_owned()
    };
    let _ = writeln!(out, "Data plane   {}", status.pin_dir.display());
    let _ = writeln!(
        out,
        "Announcing   {leader} (ifindex {}, MAC {})",
        status.ifindex, status.mac
    );
    let vips: Vec<String> = status.vips.iter().map(ToString::to_string).collect();
    let _ = writeln!(out, "VIPs         {}", vips.join(", "));
    let _ = writeln!(out, "Maglev M     {}", status.ring_size);
    for svc in &status.services {
        let _ = writeln!(
            out,
            "\n{} {}:{}",
            svc.protocol.to_uppercase(),
            svc.vip,
            svc.port
        );
        let _ = writeln!(
            out,
            "  {:<4} {:<40} {:<17} {:<6} {:<8} {:>7} {:>12} {:>14}",
            "id", "backend", "mac", "local", "state", "share", "packets", "bytes"
        );
        for b in &svc.backends {
            let share = 100.0 * f64::from(b.slots) / f64::from(status.ring_size.max(1));
            let _ = writeln!(
                out,
                "  {:<4} {:<40} {:<17} {:<6} {:<8} {:>6.1}% {:>12} {:>14}",
                b.id,
                b.address,
                b.mac,
                if b.local { "yes" } else { "" },
                if b.active { "active" } else { "down" },
                share,
                b.packets,
                b.bytes
            );
        }
    }
    if let Some(election) = &status.election {
        out.push('\n');
        out.push_str(&crate::peers::status::text(election));
    }
    let _ = writeln!(out, "\nXDP verdicts {:>29} {:>14}", "packets", "bytes");
    for v in &status.verdicts {
        let _ = writeln!(out, "  {:<32} {:>9} {:>14}", v.reason, v.packets, v.bytes);
    }
    out
}
