//! Injected refusals and latency, to test how the elector treats each kind of answer.

use std::time::Duration;

use hyper::{Method, StatusCode};

/// Answer matching requests with `status` instead of serving them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InjectedFailure {
    /// Only requests with this method; `None` for every method.
    pub method: Option<Method>,
    pub status: StatusCode,
    /// Fail one matching request in `every` (1: all of them), starting with the first.
    pub every: usize,
    /// Sent as `details.retryAfterSeconds` and the `Retry-After` header (429, 503).
    pub retry_after_seconds: Option<u32>,
}

impl InjectedFailure {
    /// Every request, whatever its method, is answered with `status`.
    pub fn always(status: StatusCode) -> Self {
        Self {
            method: None,
            status,
            every: 1,
            retry_after_seconds: None,
        }
    }

    pub fn on(self, method: Method) -> Self {
        Self {
            method: Some(method),
            ..self
        }
    }

    pub fn every(self, every: usize) -> Self {
        Self { every, ..self }
    }

    pub fn retry_after(self, seconds: u32) -> Self {
        Self {
            retry_after_seconds: Some(seconds),
            ..self
        }
    }
}

/// The injected failures in force and how many requests each has seen.
#[derive(Default)]
pub(super) struct Faults {
    failures: Vec<(InjectedFailure, usize)>,
    pub(super) latency: Duration,
}

impl Faults {
    pub(super) fn set(&mut self, failures: Vec<InjectedFailure>) {
        self.failures = failures.into_iter().map(|failure| (failure, 0)).collect();
    }

    /// The failure that answers this request, if any.
    pub(super) fn answer_for(&mut self, method: &Method) -> Option<InjectedFailure> {
        for (failure, seen) in &mut self.failures {
            if failure.method.as_ref().is_some_and(|only| only != method) {
                continue;
            }
            let fails = *seen % failure.every.max(1) == 0;
            *seen += 1;
            if fails {
                return Some(failure.clone());
            }
        }
        None
    }
}
