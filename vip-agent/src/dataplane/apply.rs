//! Writing a `DesiredState` into the maps in an order that never points the data path at
//! something that is not there yet: backends before the rings that use them, rings before
//! the settings write that flips the services to them, that write before anything is
//! retired.
use std::collections::BTreeSet;

use vip_common::{
    backend_tag, map_names as names, ring_chunks, Backend, IpKey, MacKey, RingChunk, ServiceInfo,
    ServiceKey, ServiceSlot, VipInfo, BACKEND_ACTIVE, MAX_BACKENDS, MAX_SERVICES, MAX_VIP4,
    MAX_VIPS, RING_CHUNK_SLOTS, SERVICE_RING_B,
};

use super::{deadline, error::map_err, Dataplane, DataplaneError, DesiredState, Result};

impl Dataplane {
    pub fn apply(&mut self, desired: &DesiredState) -> Result<()> {
        check_limits(desired, self.ring_size)?;
        let unchanged = self.applied.as_ref().is_some_and(|prev| {
            prev.vips == desired.vips
                && prev.services == desired.services
                && prev.backends == desired.backends
                && prev.peer_macs == desired.peer_macs
        });
        if !unchanged {
            self.applied = None;
            self.write_tables(desired)?;
        }
        self.write_settings(desired)?;
        self.applied = Some(desired.clone());
        Ok(())
    }

    /// Settings, with the services' active ring halves and the peer MACs inline. Written
    /// once the rings are in place: this write is what flips every changed service to
    /// its new table, and a first apply turns the program on only here.
    fn write_settings(&mut self, desired: &DesiredState) -> Result<()> {
        let mut settings = desired.settings;
        settings.ring_size = self.ring_size;
        settings.ring_chunks = ring_chunks(self.ring_size);
        let vip4: Vec<[u8; 4]> = desired.vips.iter().filter_map(IpKey::as_v4).collect();
        settings.vip4 = Default::default();
        settings.vip4[..vip4.len()].copy_from_slice(&vip4);
        settings.vip4_count = vip4.len() as u16;
        settings.services = Default::default();
        for (slot, (key, (info, _))) in settings.services.iter_mut().zip(&self.published) {
            *slot = ServiceSlot {
                key: *key,
                info: *info,
            };
        }
        settings.service_count = self.published.len().min(MAX_SERVICES as usize) as u32;
        settings.peer_macs = Default::default();
        for (slot, mac) in settings.peer_macs.iter_mut().zip(&desired.peer_macs) {
            *slot = *mac;
        }
        settings.peer_count = desired.peer_macs.len() as u32;
        deadline::lock(&self.settings).write(settings)
    }

    /// Rewrites the last state with announcing off; forwarding is unchanged.
    pub fn stop_announcing(&mut self) -> Result<()> {
        match self.applied.clone() {
            Some(mut last) => {
                last.settings.announcing = 0;
                self.apply(&last)
            }
            None => Ok(()),
        }
    }

    fn write_tables(&mut self, desired: &DesiredState) -> Result<()> {
        for (&id, backend) in desired
            .backends
            .iter()
            .filter(|(_, b)| b.flags & BACKEND_ACTIVE != 0)
        {
            self.backends
                .set(id, tagged(backend), 0)
                .map_err(map_err(names::BACKENDS))?;
        }
        self.sync_peer_macs(&desired.peer_macs)?;
        self.sync_vips(&desired.vips)?;
        for (key, table) in &desired.services {
            self.publish_ring(key, table)?;
        }
        // Flip every changed service before anything it used is retired.
        self.write_settings(desired)?;
        let retired: Vec<ServiceKey> = self
            .published
            .keys()
            .filter(|k| !desired.services.contains_key(k))
            .copied()
            .collect();
        for key in retired {
            self.services
                .remove(&key)
                .map_err(map_err(names::SERVICES))?;
            self.published.remove(&key);
        }
        for id in 0..MAX_BACKENDS {
            let wanted = desired.backends.get(&id).copied().unwrap_or_default();
            if wanted.flags & BACKEND_ACTIVE == 0 {
                self.backends
                    .set(id, tagged(&wanted), 0)
                    .map_err(map_err(names::BACKENDS))?;
            }
        }
        Ok(())
    }

    /// Fills the standby half of the service's ring pair, then flips to it.
    fn publish_ring(&mut self, key: &ServiceKey, table: &[u32]) -> Result<()> {
        let (info, standby_base) = match self.published.get(key) {
            Some((_, current)) if current == table => return Ok(()),
            Some((info, _)) => {
                let flipped = ServiceInfo {
                    id: info.id,
                    flags: info.flags ^ SERVICE_RING_B,
                };
                (flipped, flipped.ring_base(ring_chunks(self.ring_size)))
            }
            None => {
                let id = self.free_service_id();
                let info = ServiceInfo { id, flags: 0 };
                (info, info.ring_base(ring_chunks(self.ring_size)))
            }
        };
        // One map update per chunk of RING_CHUNK_SLOTS slots.
        for (index, slots) in table.chunks(RING_CHUNK_SLOTS as usize).enumerate() {
            let mut chunk = RingChunk::default();
            chunk.slots[..slots.len()].copy_from_slice(slots);
            self.ring
                .set(standby_base + index as u32, chunk, 0)
                .map_err(map_err(names::RING))?;
        }
        self.services
            .insert(key, info, 0)
            .map_err(map_err(names::SERVICES))?;
        self.published.insert(*key, (info, table.to_vec()));
        Ok(())
    }

    fn free_service_id(&self) -> u32 {
        let used: BTreeSet<u32> = self.published.values().map(|(info, _)| info.id).collect();
        (0..MAX_SERVICES).find(|id| !used.contains(id)).unwrap_or(0)
    }

    fn sync_vips(&mut self, wanted: &BTreeSet<vip_common::IpKey>) -> Result<()> {
        let present: Vec<_> = self.vips.keys().filter_map(|k| k.ok()).collect();
        for vip in wanted {
            self.vips
                .insert(vip, VipInfo::default(), 0)
                .map_err(map_err(names::VIPS))?;
        }
        for vip in present.iter().filter(|v| !wanted.contains(v)) {
            self.vips.remove(vip).map_err(map_err(names::VIPS))?;
        }
        Ok(())
    }

    fn sync_peer_macs(&mut self, wanted: &BTreeSet<[u8; 6]>) -> Result<()> {
        let present: Vec<_> = self.peer_macs.keys().filter_map(|k| k.ok()).collect();
        for mac in wanted {
            let key = MacKey {
                mac: *mac,
                ..Default::default()
            };
            self.peer_macs
                .insert(key, 1, 0)
                .map_err(map_err(names::PEER_MACS))?;
        }
        for key in present.iter().filter(|k| !wanted.contains(&k.mac)) {
            self.peer_macs
                .remove(key)
                .map_err(map_err(names::PEER_MACS))?;
        }
        Ok(())
    }
}

/// The slot as the data path needs it: the tag always matches the address, whoever
/// built the desired state.
fn tagged(backend: &Backend) -> Backend {
    Backend {
        tag: backend_tag(&backend.addr),
        ..*backend
    }
}

fn check_limits(desired: &DesiredState, ring_size: u32) -> Result<()> {
    let vip4 = desired.vips.iter().filter(|v| v.as_v4().is_some()).count();
    if vip4 > MAX_VIP4 {
        return Err(DataplaneError::TooMany {
            what: "IPv4 VIPs",
            count: vip4,
            limit: MAX_VIP4 as u32,
        });
    }
    let limits = [
        ("VIPs", desired.vips.len(), MAX_VIPS),
        ("services", desired.services.len(), MAX_SERVICES),
        ("peer MACs", desired.peer_macs.len(), MAX_BACKENDS),
    ];
    for (what, count, limit) in limits {
        if count > limit as usize {
            return Err(DataplaneError::TooMany { what, count, limit });
        }
    }
    if let Some(&id) = desired.backends.keys().find(|&&id| id >= MAX_BACKENDS) {
        return Err(DataplaneError::BackendId {
            id,
            limit: MAX_BACKENDS,
        });
    }
    for (key, table) in &desired.services {
        if table.len() != ring_size as usize {
            return Err(DataplaneError::RingLength {
                port: key.port,
                proto: key.proto,
                len: table.len(),
                expected: ring_size,
            });
        }
    }
    Ok(())
}
