//! The announce deadline, refreshed by its own task. The control loop writes the whole
//! `Settings` after the tables; a slow table rewrite must not let the deadline it computed
//! beforehand lapse and pause ARP. The keeper extends the deadline of the settings last
//! written, under the same lock, while this node leads; when leadership or the runtime
//! stops, the deadline lapses and the XDP program stops answering by itself.
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use aya::maps::{Array, MapData};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::warn;
use vip_common::{map_names as names, Settings, ANNOUNCE_ON};

use super::{error::map_err, Result};

/// The `SETTINGS` map and the value last written to it.
pub(super) struct SettingsSlot {
    map: Array<MapData, Settings>,
    last: Option<Settings>,
}

pub(super) type SharedSettings = Arc<Mutex<SettingsSlot>>;

pub(super) fn shared(map: Array<MapData, Settings>) -> SharedSettings {
    Arc::new(Mutex::new(SettingsSlot { map, last: None }))
}

pub(super) fn lock(settings: &SharedSettings) -> MutexGuard<'_, SettingsSlot> {
    // A panic while holding the lock leaves a valid value behind: keep going.
    settings
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl SettingsSlot {
    pub(super) fn write(&mut self, settings: Settings) -> Result<()> {
        self.map
            .set(0, settings, 0)
            .map_err(map_err(names::SETTINGS))?;
        self.last = Some(settings);
        Ok(())
    }
}

/// Extends the announce deadline of the last written settings.
#[derive(Clone)]
pub struct DeadlineKeeper {
    settings: SharedSettings,
}

impl DeadlineKeeper {
    pub(super) fn new(settings: SharedSettings) -> Self {
        Self { settings }
    }

    /// Sets the deadline to `deadline_ns` if the last written settings announce; returns
    /// whether it wrote.
    pub fn extend_to(&self, deadline_ns: u64) -> Result<bool> {
        let mut slot = lock(&self.settings);
        match slot.last {
            Some(mut settings) if settings.announcing == ANNOUNCE_ON => {
                settings.announce_deadline_ns = deadline_ns;
                slot.write(settings)?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Every `period` while `leader` is true, moves the deadline to now + `lease`.
    pub async fn run(
        self,
        leader: watch::Receiver<bool>,
        lease: Duration,
        period: Duration,
        now_ns: fn() -> u64,
        shutdown: CancellationToken,
    ) {
        let mut tick = tokio::time::interval(period);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            if !*leader.borrow() {
                continue;
            }
            if let Err(e) = self.extend_to(now_ns() + lease.as_nanos() as u64) {
                warn!(error = %e, "refreshing the announce deadline failed");
            }
        }
    }
}
