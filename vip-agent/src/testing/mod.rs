//! Support shared by the packet tests and `cargo xtask bench-xdp`: frame builders and a
//! small data-plane fixture. Not used by the daemon.
pub mod fixture;
pub mod frames;
