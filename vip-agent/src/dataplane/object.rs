//! The XDP object, built by build.rs from vip-ebpf and embedded in the agent.

/// The ELF object of vip-ebpf, or `None` when the agent was built with AYA_BUILD_SKIP.
#[cfg(not(vip_ebpf_skipped))]
pub fn bytes() -> Option<&'static [u8]> {
    Some(aya::include_bytes_aligned!(concat!(
        env!("OUT_DIR"),
        "/vip-ebpf"
    )))
}

#[cfg(vip_ebpf_skipped)]
pub fn bytes() -> Option<&'static [u8]> {
    None
}
