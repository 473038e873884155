//! What a failed round says about leadership: fail-static only while the API cannot
//! be reached; an API that answers and refuses means this node cannot prove it holds
//! the Lease.

use std::time::Duration;

use super::ElectionError;

/// How the elector treats a failed round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FailureKind {
    /// Connection errors, timeouts without any refusal, 5xx: keep the current role.
    Unreachable,
    /// 4xx (including losing every write race): a leader steps down.
    Refused,
    /// 429: keep the role until `retry_after` has passed, then treat a refusal as one.
    Throttled { retry_after: Duration },
}

impl ElectionError {
    pub(super) fn kind(&self) -> FailureKind {
        match self {
            Self::LeaseRequest {
                source: kube::Error::Api(status),
                ..
            } => match status.code {
                429 => FailureKind::Throttled {
                    retry_after: Duration::from_secs(u64::from(
                        status
                            .details
                            .as_ref()
                            .map_or(0, |details| details.retry_after_seconds)
                            .max(1),
                    )),
                },
                400..=499 => FailureKind::Refused,
                _ => FailureKind::Unreachable,
            },
            // The client could not authenticate (token file, exec plugin): it cannot prove
            // anything to the API either.
            Self::LeaseRequest {
                source: kube::Error::Auth(_),
                ..
            } => FailureKind::Refused,
            Self::RoundTimeout { refused: true, .. } | Self::Contended { .. } => {
                FailureKind::Refused
            }
            _ => FailureKind::Unreachable,
        }
    }
}
