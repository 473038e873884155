//! Issue 10 items 1 and 4: which failed renewals keep leadership (fail-static) and
//! which end it, and how long one renew round may take.

use std::time::{Duration, Instant};

use hyper::{Method, StatusCode};

use super::{states_during, Stand, RENEW_DEADLINE, RETRY_PERIOD, SOON};
use crate::lease_test_server::InjectedFailure;

/// Starts a leader, injects `failures`, and returns how long it kept leading after.
async fn time_to_step_down(failures: Vec<InjectedFailure>, within: Duration) -> Duration {
    let stand = Stand::start().await;
    let mut leader = stand.candidate("node-a");
    leader.wait_leader().await;
    stand.server.inject_failures(failures);
    let refused_from = Instant::now();
    let stepped_down = leader
        .wait_until("stepped down", within, |state| !state.is_leader)
        .await;
    stepped_down.since.saturating_duration_since(refused_from)
}

#[tokio::test]
async fn lease_4xx_steps_down() {
    // One retry period until the next round, plus the round itself, plus load margin.
    let bound = RETRY_PERIOD + RENEW_DEADLINE + Duration::from_millis(500);
    let cases = [
        (
            "401 on every request",
            InjectedFailure::always(StatusCode::UNAUTHORIZED),
        ),
        (
            "403 on every request",
            InjectedFailure::always(StatusCode::FORBIDDEN),
        ),
        (
            "404 on every update",
            InjectedFailure::always(StatusCode::NOT_FOUND).on(Method::PUT),
        ),
        (
            "422 on every update",
            InjectedFailure::always(StatusCode::UNPROCESSABLE_ENTITY).on(Method::PUT),
        ),
    ];
    for (case, failure) in cases {
        let kept = time_to_step_down(vec![failure], SOON).await;
        assert!(
            kept <= bound,
            "{case}: kept leading {kept:?}, bound {bound:?}"
        );
    }
}

#[tokio::test]
async fn lease_429_steps_down_after_retry_after() {
    let retry_after = Duration::from_secs(2);
    let failure = InjectedFailure::always(StatusCode::TOO_MANY_REQUESTS).retry_after(2);
    let kept = time_to_step_down(vec![failure], SOON + retry_after).await;
    // Leadership lasts through the Retry-After the server asked for...
    assert!(
        kept >= retry_after - Duration::from_millis(100),
        "stepped down early: {kept:?}"
    );
    // ...and ends with the first refused round after it.
    let bound = retry_after + RENEW_DEADLINE + Duration::from_millis(500);
    assert!(kept <= bound, "kept leading {kept:?}, bound {bound:?}");
}

#[tokio::test]
async fn lease_5xx_and_timeouts_keep_leadership() {
    let stand = Stand::start().await;
    let mut leader = stand.candidate("node-a");
    leader.wait_leader().await;
    stand.server.inject_failures(vec![
        InjectedFailure::always(StatusCode::INTERNAL_SERVER_ERROR).on(Method::GET),
        InjectedFailure::always(StatusCode::GATEWAY_TIMEOUT).on(Method::PUT),
    ]);
    let states = states_during(&mut leader.leadership, Duration::from_millis(1500)).await;
    assert!(states.iter().all(|state| state.is_leader), "{states:?}");
    stand.server.inject_failures(Vec::new());
    stand.server.black_hole_for(Duration::from_millis(1500));
    let states = states_during(&mut leader.leadership, Duration::from_millis(2000)).await;
    assert!(states.iter().all(|state| state.is_leader), "{states:?}");
}

#[tokio::test]
async fn lease_renew_round_bounded_by_renew_deadline() {
    // Every answer takes 0.2 s, below the 0.5 s renew deadline, and every update is
    // refused as a conflict: a read, a losing write, a re-read and a second losing
    // write take 0.8 s. The round ends at the 0.5 s renew deadline, and having been
    // refused the leader steps down there, as --renew-deadline says.
    let stand = Stand::start().await;
    let mut leader = stand.candidate("node-a");
    leader.wait_leader().await;
    stand.server.set_latency(Duration::from_millis(200));
    stand.server.inject_failures(vec![
        InjectedFailure::always(StatusCode::CONFLICT).on(Method::PUT)
    ]);
    let refused_from = Instant::now();
    let stepped_down = leader
        .wait_until("stepped down", SOON, |state| !state.is_leader)
        .await;
    let kept = stepped_down.since.saturating_duration_since(refused_from);
    // A round already under way ends within one renew deadline, then one retry period,
    // then the refused round ends at its renew deadline: 1.2 s, plus load margin. An
    // unbounded round would end at 0.8 s each: up to 1.8 s.
    let bound = RETRY_PERIOD + 2 * RENEW_DEADLINE + Duration::from_millis(300);
    assert!(kept <= bound, "kept leading {kept:?}, bound {bound:?}");
}
