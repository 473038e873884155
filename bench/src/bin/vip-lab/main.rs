//! `vip-lab up | down | demo`: a three-node vip-agent lab in network namespaces.
fn main() {}
