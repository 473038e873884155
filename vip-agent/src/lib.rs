//! vip-agent: drives the XDP data plane of the control-plane VIP.
pub mod announce;
pub mod config;
pub mod dataplane;
pub mod health;
pub mod host;
pub mod http;
pub mod maglev;
pub mod testing;
