//! vip-agent: drives the XDP data plane of the control-plane VIP.
pub mod dataplane;
pub mod maglev;
pub mod testing;
