//! Issue 10 item 7: a data plane pinned with another layout (another `--maglev-size`,
//! or a release with other maps) is taken over through its link, never detached, and
//! its pins retired; links whose interface is gone are stale, not fatal. Runs in a
//! throwaway network namespace; needs root and BPF. Run under `flock /tmp/vip-lab.lock`.
mod support;

use std::path::Path;

use aya::programs::XdpMode;
use support::agent::{xdp_program_id, Bpffs};
use support::netns::{in_netns, ip, Lab};
use vip_agent::dataplane::{layouts::PinnedDataplane, Attachment, Dataplane, LoadOptions};

const MAC: [u8; 6] = [0x02, 0x67, 0, 0, 0, 0x01];

fn options(ring_size: u32) -> LoadOptions {
    LoadOptions {
        ring_size,
        max_flows: 1024,
    }
}

fn ifindex(netns: &str) -> u32 {
    in_netns(netns, || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime
            .block_on(async { vip_agent::host::Netlink::connect()?.interface("eth0").await })
            .expect("eth0")
            .index
    })
}

/// Loads with pins below `base` and attaches as the agent does; the process "exits"
/// (the `Dataplane` is dropped) with the link left pinned, as --keep-forwarding-on-exit.
fn start(netns: &str, base: &Path, ring_size: u32) -> (Dataplane, Attachment) {
    let index = ifindex(netns);
    in_netns(netns, || {
        let mut dataplane =
            Dataplane::load_pinned(options(ring_size), Some(base)).expect("load (needs root)");
        let attachment = dataplane
            .attach_pinned("eth0", index, XdpMode::Skb)
            .expect("attach_pinned");
        (dataplane, attachment)
    })
}

fn layout_dir(ring_size: u32) -> String {
    format!(
        "v{}-m{ring_size}-f1024",
        vip_agent::dataplane::PIN_LAYOUT_VERSION
    )
}

#[test]
fn pin_layout_migration_takes_over_the_running_link() {
    let mut lab = Lab::new();
    let node = lab.port("node", MAC);
    let bpffs = Bpffs::mount();
    let base = bpffs.path().join("agent");

    let (old, attachment) = start(&node, &base, 251);
    assert_eq!(attachment, Attachment::Attached);
    drop(old);
    let old_program = xdp_program_id(&node, "eth0").expect("the old program forwards");

    let (mut new, attachment) = start(&node, &base, 257);
    let predecessor = PinnedDataplane {
        dir: base.join(layout_dir(251)),
        layout: Some(vip_agent::dataplane::PIN_LAYOUT_VERSION),
    };
    assert_eq!(attachment, Attachment::Pending(predecessor.clone()));
    assert_eq!(
        xdp_program_id(&node, "eth0"),
        Some(old_program),
        "the old program keeps forwarding until the new maps are filled"
    );

    in_netns(&node, || new.take_over(&predecessor)).expect("take over");
    let new_program = xdp_program_id(&node, "eth0").expect("a program on eth0");
    assert_ne!(new_program, old_program, "the link runs the new program");
    let layouts: Vec<String> = bpffs
        .contents()
        .into_iter()
        .filter(|path| path.starts_with("agent/") && path.matches('/').count() == 1)
        .collect();
    assert_eq!(layouts, vec![format!("agent/{}", layout_dir(257))]);
    assert!(!predecessor.dir.exists(), "old pins retired");
    assert!(
        base.join(layout_dir(257)).join("link").exists(),
        "link pinned in the new layout"
    );
    drop(new);
    assert_eq!(
        xdp_program_id(&node, "eth0"),
        Some(new_program),
        "the pinned link outlives the process"
    );
}

#[test]
fn pin_layout_stale_link_of_a_gone_interface_is_replaced() {
    let mut lab = Lab::new();
    let node = lab.port("node", MAC);
    let bpffs = Bpffs::mount();
    let base = bpffs.path().join("agent");
    let (old, _) = start(&node, &base, 251);
    drop(old);

    // The NIC is re-plugged: eth0 is deleted and created again with a new index.
    let before = ifindex(&node);
    ip(&format!("-n {node} link del eth0"));
    ip(&format!("-n {node} link add eth0 type veth peer name eth1"));
    ip(&format!("-n {node} link set eth0 up"));
    assert_ne!(ifindex(&node), before);

    // Same layout: the stale link pin is replaced, the maps kept.
    let (same, attachment) = start(&node, &base, 251);
    assert_eq!(attachment, Attachment::Attached);
    assert!(xdp_program_id(&node, "eth0").is_some());
    drop(same);

    // Gone again, then another layout starts: the stale pins of the old layout go.
    ip(&format!("-n {node} link del eth0"));
    ip(&format!("-n {node} link add eth0 type veth peer name eth1"));
    ip(&format!("-n {node} link set eth0 up"));
    let (other, attachment) = start(&node, &base, 257);
    assert_eq!(attachment, Attachment::Attached);
    assert!(!base.join(layout_dir(251)).exists(), "stale layout removed");
    assert!(xdp_program_id(&node, "eth0").is_some());
    drop(other);
}
