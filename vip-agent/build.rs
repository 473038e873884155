//! Builds the XDP object (vip-ebpf) with the nightly toolchain on every `cargo build` whose
//! inputs changed, so the agent can never embed a stale object. Setting AYA_BUILD_SKIP=1
//! builds an agent without the object (for editors); it then refuses to load at runtime.
fn main() -> anyhow::Result<()> {
    // aya-build watches vip-ebpf; the shared types change the object too.
    println!("cargo:rerun-if-changed=../vip-common/src");
    println!("cargo:rustc-check-cfg=cfg(vip_ebpf_skipped)");
    if matches!(
        std::env::var("AYA_BUILD_SKIP").as_deref(),
        Ok("1") | Ok("true")
    ) {
        println!("cargo:rustc-cfg=vip_ebpf_skipped");
    }
    aya_build::build_ebpf(
        [aya_build::Package {
            name: "vip-ebpf",
            root_dir: "../vip-ebpf",
            ..Default::default()
        }],
        aya_build::Toolchain::default(),
    )
}
