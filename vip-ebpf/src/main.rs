//! XDP program of the control-plane VIP: answers ARP/NDP for the VIPs on the announcing
//! node and spreads TCP/UDP to configured VIP ports across healthy API servers (Maglev +
//! LRU flow table, L2 direct server return). Everything else passes untouched. Every
//! verdict is counted per CPU under a named reason.
#![cfg_attr(target_arch = "bpf", no_std)]
#![cfg_attr(target_arch = "bpf", no_main)]

#[cfg(target_arch = "bpf")]
mod announce;
#[cfg(target_arch = "bpf")]
mod arp;
#[cfg(target_arch = "bpf")]
mod balance;
#[cfg(target_arch = "bpf")]
mod count;
#[cfg(target_arch = "bpf")]
mod ipv4;
#[cfg(target_arch = "bpf")]
mod ipv6;
#[cfg(target_arch = "bpf")]
mod maps;
#[cfg(target_arch = "bpf")]
mod ndp;
#[cfg(target_arch = "bpf")]
mod packet;
#[cfg(target_arch = "bpf")]
mod report;
#[cfg(target_arch = "bpf")]
mod verdict;

#[cfg(target_arch = "bpf")]
mod program {
    use aya_ebpf::{macros::xdp, programs::XdpContext};
    use vip_common::Reason;

    use crate::{
        arp, count, ipv4, ipv6,
        maps::SETTINGS,
        packet::{
            at, be16, len, EthHdr, ETH_P_8021AD, ETH_P_8021Q, ETH_P_ARP, ETH_P_IPV4, ETH_P_IPV6,
        },
        verdict::{pass, Verdict},
    };

    #[xdp]
    pub fn vip_xdp(ctx: XdpContext) -> u32 {
        let bytes = len(&ctx) as u64;
        let verdict = try_vip_xdp(&ctx);
        count::verdict(&verdict, bytes);
        verdict.action
    }

    #[inline(always)]
    fn try_vip_xdp(ctx: &XdpContext) -> Verdict {
        let Some(settings) = SETTINGS.get(0) else {
            return pass(Reason::NotConfigured);
        };
        // The agent writes a non-zero ring size when it configures the program.
        if settings.ring_size == 0 {
            return pass(Reason::NotConfigured);
        }
        let Some(eth) = at::<EthHdr>(ctx, 0) else {
            return pass(Reason::EthTruncated);
        };
        // SAFETY: `at` checked the bounds.
        let eth = unsafe { &mut *eth };
        match be16(eth.ethertype) {
            ETH_P_ARP => arp::handle(ctx, eth, settings),
            ETH_P_IPV4 => ipv4::handle(ctx, eth, settings),
            ETH_P_IPV6 => ipv6::handle(ctx, eth, settings),
            // Tagged frames belong to VLAN interfaces this program is not attached to.
            ETH_P_8021Q | ETH_P_8021AD => pass(Reason::VlanTagged),
            _ => pass(Reason::OtherEtherType),
        }
    }

    /// An empty program, loaded only as the baseline of `cargo xtask bench-xdp`.
    #[xdp]
    pub fn vip_empty(_ctx: XdpContext) -> u32 {
        aya_ebpf::bindings::xdp_action::XDP_PASS
    }

    #[panic_handler]
    fn panic(_info: &core::panic::PanicInfo) -> ! {
        loop {}
    }

    #[unsafe(link_section = "license")]
    #[unsafe(no_mangle)]
    static LICENSE: [u8; 4] = *b"GPL\0";
}

/// Host builds (clippy, `cargo check --workspace`) compile only this.
#[cfg(not(target_arch = "bpf"))]
fn main() {}
