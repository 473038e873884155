//! The elector reports failed requests by class and its fail-static state.
use std::sync::{Arc, Mutex};

use super::*;
use crate::election::{ApiFailure, ElectionObserver};

#[derive(Clone, Debug, PartialEq, Eq)]
enum Event {
    Failed(&'static str, &'static str),
    FailStatic(bool),
}

#[derive(Default)]
struct Recorder(Mutex<Vec<Event>>);

impl ElectionObserver for Recorder {
    fn api_failed(&self, failure: &ApiFailure) {
        let event = Event::Failed(failure.operation, failure.class.as_str());
        self.0.lock().unwrap().push(event);
    }

    fn fail_static(&self, active: bool) {
        self.0.lock().unwrap().push(Event::FailStatic(active));
    }
}

impl Recorder {
    fn events(&self) -> Vec<Event> {
        self.0.lock().unwrap().clone()
    }

    async fn wait_for(&self, wanted: &Event) {
        let waited = tokio::time::timeout(SOON, async {
            while !self.events().contains(wanted) {
                tokio::time::sleep(RETRY_PERIOD / 4).await;
            }
        })
        .await;
        assert!(waited.is_ok(), "no {wanted:?} in {:?}", self.events());
    }
}

#[tokio::test]
async fn outage_is_reported_as_5xx_and_fail_static_until_the_api_answers() {
    let stand = Stand::start().await;
    let recorder = Arc::new(Recorder::default());
    let elector = LeaderElector::new(stand.client.clone(), config("cp1"))
        .expect("elector")
        .with_observer(recorder.clone());
    let mut leadership = elector.subscribe();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(elector.run(shutdown.clone()));
    tokio::time::timeout(SOON, leadership.wait_for(|l| l.is_leader))
        .await
        .expect("leader in time")
        .expect("elector running");
    assert_eq!(recorder.events(), [], "a healthy API reports nothing");

    stand.server.set_outage(true);
    recorder.wait_for(&Event::FailStatic(true)).await;
    recorder.wait_for(&Event::Failed("read", "5xx")).await;
    stand.server.set_outage(false);
    recorder.wait_for(&Event::FailStatic(false)).await;

    let events = recorder.events();
    let transitions: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(e, Event::FailStatic(_)))
        .collect();
    assert_eq!(
        transitions,
        [&Event::FailStatic(true), &Event::FailStatic(false)]
    );
    assert!(leadership.borrow().is_leader, "fail-static kept the role");
    shutdown.cancel();
    task.await.expect("elector task");
}
