//! Lease API failures sorted the way an operator alerts on them, and the observer that
//! the elector reports them and its fail-static state to (the agent's metrics).

use super::ElectionError;

/// How a request to the API failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiErrorClass {
    /// The API answered 4xx: this node's request or credentials are wrong.
    ClientError,
    /// The API answered 5xx.
    ServerError,
    /// No answer within the request time limit.
    Timeout,
    /// No HTTP answer at all: connection refused, TLS, DNS and the like.
    Transport,
}

impl ApiErrorClass {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientError => "4xx",
            Self::ServerError => "5xx",
            Self::Timeout => "timeout",
            Self::Transport => "transport",
        }
    }
}

/// One failed request: what it tried and how it failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiFailure {
    /// `read`, `create`, `update` or `release`.
    pub operation: &'static str,
    pub class: ApiErrorClass,
}

impl ElectionError {
    /// The failure if this error came from a Lease request, `None` for setup errors.
    pub fn api_failure(&self) -> Option<ApiFailure> {
        let (operation, class) = match self {
            Self::LeaseRequest {
                operation,
                source: kube::Error::Api(status),
                ..
            } => match status.code {
                400..=499 => (*operation, ApiErrorClass::ClientError),
                500..=599 => (*operation, ApiErrorClass::ServerError),
                _ => (*operation, ApiErrorClass::Transport),
            },
            Self::LeaseRequest { operation, .. } => (*operation, ApiErrorClass::Transport),
            Self::LeaseRequestTimeout { operation, .. } => (*operation, ApiErrorClass::Timeout),
            _ => return None,
        };
        Some(ApiFailure { operation, class })
    }
}

/// Told about every failed Lease request and every change of the fail-static state.
pub trait ElectionObserver: Send + Sync {
    fn api_failed(&self, failure: &ApiFailure);
    /// `true` when the elector starts keeping its role without the API, `false` when
    /// the API answers again.
    fn fail_static(&self, active: bool);
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn api_error(code: u16) -> ElectionError {
        ElectionError::LeaseRequest {
            operation: "update",
            lease: "kube-system/vip".into(),
            source: kube::Error::Api(
                kube::core::Status::failure("test", "Test")
                    .with_code(code)
                    .boxed(),
            ),
        }
    }

    #[test]
    fn status_codes_map_to_classes() {
        let class = |error: ElectionError| error.api_failure().map(|f| f.class.as_str());
        assert_eq!(class(api_error(403)), Some("4xx"));
        assert_eq!(class(api_error(429)), Some("4xx"));
        assert_eq!(class(api_error(503)), Some("5xx"));
        let timeout = ElectionError::LeaseRequestTimeout {
            operation: "read",
            lease: "kube-system/vip".into(),
            timeout: Duration::from_secs(1),
        };
        assert_eq!(
            timeout.api_failure(),
            Some(ApiFailure {
                operation: "read",
                class: ApiErrorClass::Timeout
            })
        );
        let setup = ElectionError::InvalidDuration { input: "x".into() };
        assert_eq!(setup.api_failure(), None);
    }
}
