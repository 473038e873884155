//! What the maps should hold: the output of reconcile, the input of `Dataplane::apply`.
use std::collections::{BTreeMap, BTreeSet};

use vip_common::{Backend, IpKey, ServiceKey, Settings};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DesiredState {
    pub settings: Settings,
    pub vips: BTreeSet<IpKey>,
    /// Each service's Maglev table (`settings.ring_size` backend ids).
    pub services: BTreeMap<ServiceKey, Vec<u32>>,
    /// Backend slots by id; inactive ones stay allocated so their id keeps its meaning.
    pub backends: BTreeMap<u32, Backend>,
    /// MACs of the other nodes: frames from them were already balanced.
    pub peer_macs: BTreeSet<[u8; 6]>,
}
