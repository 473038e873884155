//! The client probe of a trial: a request on a new connection every 10 ms with a 100 ms
//! timeout (as [`crate::probe::probe_loop`]), but each sample is handed over the moment
//! it ends, so that the trial can watch the outage while it happens.
use std::sync::mpsc;
use std::time::Duration;

use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::netns::NetnsRuntime;
use crate::probe::{probe_once, ProbeSpec, Sample};

pub struct Prober {
    stop: CancellationToken,
    samples: mpsc::Receiver<Sample>,
    received: Vec<Sample>,
}

impl Prober {
    /// Starts probing `spec` from `client`; it stops by itself after `max`.
    pub fn start(client: &NetnsRuntime, spec: ProbeSpec, max: Duration) -> Self {
        let stop = CancellationToken::new();
        let (tx, samples) = mpsc::channel();
        let token = stop.clone();
        client.spawn(async move {
            let mut tick = tokio::time::interval(spec.interval);
            tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
            let until = Instant::now() + max;
            let mut in_flight = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    () = token.cancelled() => break,
                    () = tokio::time::sleep_until(until) => break,
                    _ = tick.tick() => {}
                }
                let (spec, tx) = (spec.clone(), tx.clone());
                in_flight.spawn(async move {
                    let sent = Instant::now();
                    let outcome = probe_once(&spec).await;
                    let _ = tx.send(Sample {
                        sent,
                        done: Instant::now(),
                        outcome,
                    });
                });
                // Reap the finished ones so the set stays small.
                while in_flight.try_join_next().is_some() {}
            }
            // Probes in flight end within their timeout; the channel closes after them.
            while in_flight.join_next().await.is_some() {}
        });
        Self {
            stop,
            samples,
            received: Vec::new(),
        }
    }

    /// Takes in what has ended so far; the samples received until now.
    pub fn poll(&mut self) -> &[Sample] {
        self.received.extend(self.samples.try_iter());
        &self.received
    }

    /// Stops sending, waits for the probes in flight and returns every sample in sending
    /// order.
    pub fn finish(mut self) -> Vec<Sample> {
        self.stop.cancel();
        // The sender side closes once the last probe in flight has ended (≤ its timeout).
        while let Ok(sample) = self.samples.recv_timeout(Duration::from_secs(5)) {
            self.received.push(sample);
        }
        let mut samples = std::mem::take(&mut self.received);
        samples.sort_by_key(|s| s.sent);
        samples
    }
}

impl Drop for Prober {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
