//! What the generator's own defaults and kube-vip's flags mean for the settings: the
//! manifests keep forwarding across restarts unless told otherwise, kube-vip's `--vip`
//! is `--address`, its no-op flags are accepted, and `--services` is refused.
use super::ManifestError;
use crate::config::ManifestArgs;

/// `args` with the manifest defaults and kube-vip's flags folded into the run settings.
pub fn effective(args: &ManifestArgs) -> Result<ManifestArgs, ManifestError> {
    if args.kube_vip.services {
        return Err(ManifestError::Unsupported {
            flag: "--services",
            reason: "vip-agent serves the control-plane VIP only; it does not load-balance \
                     Services of type LoadBalancer (keep kube-vip or MetalLB for those)",
        });
    }
    let mut args = args.clone();
    args.run.keep_forwarding_on_exit = !args.no_keep_forwarding_on_exit;
    let vips = std::mem::take(&mut args.kube_vip.vip);
    args.run.address.extend(vips);
    Ok(args)
}
