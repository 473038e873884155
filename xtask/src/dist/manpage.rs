//! vip-agent(8) in roff, made from the binary's own `--help` texts, so the man page
//! lists exactly the flags and VIP_* variables the packaged binary accepts.
use std::{path::Path, process::Command};

use anyhow::Result;

use super::Release;
use crate::tools::stdout;

const SUBCOMMANDS: [&str; 4] = ["run", "status", "manifest", "cleanup"];

pub fn render(release: &Release, binary: &Path, date: &str) -> Result<String> {
    let help = |args: &[&str]| stdout(Command::new(binary).args(args).env_clear());
    let mut page = format!(
        ".TH VIP-AGENT 8 \"{date}\" \"vip-agent {}\" \"System Administration\"\n",
        release.version
    );
    page += ".SH NAME\nvip-agent \\- XDP virtual IP and load balancer for Kubernetes API servers\n";
    page += ".SH SYNOPSIS\n.B vip-agent\n.RI { run | status | manifest | cleanup } [ options ]\n";
    page += ".SH DESCRIPTION\n";
    page += "vip-agent answers ARP and NDP for the virtual IP on the elected leader and \
             spreads TCP connections to it across every healthy API server in XDP.\n\
             As a service it reads its settings from\n.I /etc/default/vip-agent\n\
             (VIP_* variables, one per flag below).\n";
    page += &section("OVERVIEW", &help(&["--help"])?);
    for sub in SUBCOMMANDS {
        page += &section(
            &format!("{} OPTIONS", sub.to_uppercase()),
            &help(&[sub, "--help"])?,
        );
    }
    page += ".SH FILES\n.TP\n.I /etc/default/vip-agent\nsettings of vip-agent.service\n\
             .TP\n.I /sys/fs/bpf/vip-agent\npinned XDP link and maps\n\
             .TP\n.I /run/vip-agent\nrecord of the host changes, for cleanup\n";
    page += ".SH SEE ALSO\n.BR systemctl (1),\n.BR ip (8)\n";
    Ok(page)
}

/// `text` verbatim under a heading, escaped for roff.
fn section(heading: &str, text: &str) -> String {
    let body: String = text
        .lines()
        .map(|line| {
            let escaped = line.replace('\\', "\\e");
            // A leading dot or quote would be read as a roff request.
            if escaped.starts_with(['.', '\'']) {
                format!("\\&{escaped}\n")
            } else {
                format!("{escaped}\n")
            }
        })
        .collect();
    format!(".SH {heading}\n.nf\n{body}.fi\n")
}

#[cfg(test)]
mod tests {
    use super::section;

    #[test]
    fn sections_escape_roff_requests_and_backslashes() {
        assert_eq!(
            section("RUN OPTIONS", ".hidden\nC:\\path\n  --flag"),
            ".SH RUN OPTIONS\n.nf\n\\&.hidden\nC:\\epath\n  --flag\n.fi\n"
        );
    }
}
