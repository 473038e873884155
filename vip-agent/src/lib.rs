//! vip-agent: drives the XDP data plane of the control-plane VIP.
pub mod agent;
pub mod announce;
pub mod build_info;
pub mod config;
pub mod dataplane;
pub mod election;
pub mod health;
pub mod host;
pub mod http;
pub mod lease_test_server;
pub mod maglev;
pub mod manifest;
pub mod peers;
pub mod reconcile;
pub mod status;
pub mod testing;
