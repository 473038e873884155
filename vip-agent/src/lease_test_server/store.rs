//! The in-memory lease store and the apiserver's answers to each request.

use std::collections::BTreeMap;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Method, Response, StatusCode};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use serde_json::json;
use tokio::time::Instant;

use super::faults::{Faults, InjectedFailure};

const NAMESPACES_PATH: &str = "/apis/coordination.k8s.io/v1/namespaces/";

pub(super) type Reply = Response<Full<Bytes>>;

#[derive(Default)]
pub(super) struct Store {
    /// Keyed by (namespace, name).
    pub(super) leases: BTreeMap<(String, String), Lease>,
    /// Like etcd's revision: one counter for every write.
    revision: u64,
    pub(super) unavailable: bool,
    pub(super) black_hole_until: Option<Instant>,
    /// Writes waiting for `LeaseTestServer::resume_writes`.
    pub(super) held_writes: usize,
    /// Answers sent, by HTTP status code.
    pub(super) answers: BTreeMap<u16, usize>,
    /// Nodes listed by `GET /api/v1/nodes`.
    pub(super) nodes: Vec<k8s_openapi::api::core::v1::Node>,
    pub(super) faults: Faults,
}

impl Store {
    /// Answers one request the way the apiserver would, and counts it.
    pub(super) fn answer(
        &mut self,
        method: &Method,
        path: &str,
        query: Option<&str>,
        body: &[u8],
    ) -> Reply {
        let reply = if let Some(failure) = self.faults.answer_for(method) {
            injected(&failure)
        } else if !self.unavailable && method == Method::GET && path == super::nodes::NODES_PATH {
            json_reply(
                StatusCode::OK,
                super::nodes::list(&self.nodes, query)
                    .to_string()
                    .into_bytes(),
            )
        } else {
            self.route(method, path, body)
        };
        *self.answers.entry(reply.status().as_u16()).or_default() += 1;
        reply
    }

    fn route(&mut self, method: &Method, path: &str, body: &[u8]) -> Reply {
        if self.unavailable {
            return status(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "the server is currently unable to handle the request (test outage)",
                "",
            );
        }
        let segments: Vec<&str> = match path.strip_prefix(NAMESPACES_PATH) {
            Some(rest) => rest.split('/').collect(),
            None => Vec::new(),
        };
        match (method, segments.as_slice()) {
            (&Method::POST, [namespace, "leases"]) => self
                .create(namespace, body)
                .unwrap_or_else(Failure::into_reply),
            (&Method::GET, [namespace, "leases", name]) => {
                match self.leases.get(&key(namespace, name)) {
                    Some(lease) => object(StatusCode::OK, lease),
                    None => not_found(name),
                }
            }
            (&Method::PUT, [namespace, "leases", name]) => self
                .replace(namespace, name, body)
                .unwrap_or_else(Failure::into_reply),
            (&Method::DELETE, [namespace, "leases", name]) => {
                match self.leases.remove(&key(namespace, name)) {
                    Some(lease) => object(StatusCode::OK, &lease),
                    None => not_found(name),
                }
            }
            (_, [_, "leases", ..]) => status(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
                "",
            ),
            _ => status(
                StatusCode::NOT_FOUND,
                "NotFound",
                "the server could not find the requested resource",
                "",
            ),
        }
    }

    /// Assigns the next resourceVersion, plus uid and creation time if new.
    pub(super) fn stamp(&mut self, lease: &mut Lease) {
        self.revision += 1;
        let metadata = &mut lease.metadata;
        metadata.resource_version = Some(self.revision.to_string());
        metadata
            .uid
            .get_or_insert_with(|| format!("00000000-0000-4000-8000-{:012x}", self.revision));
        metadata
            .creation_timestamp
            .get_or_insert_with(|| Time(Timestamp::now()));
    }

    fn create(&mut self, namespace: &str, body: &[u8]) -> Result<Reply, Failure> {
        let mut lease = parse(namespace, body)?;
        let Some(name) = lease.metadata.name.clone().filter(|name| !name.is_empty()) else {
            let message = "metadata.name: Required value: name or generateName is required";
            return Err(Failure::invalid(message, ""));
        };
        if lease.metadata.resource_version.is_some() {
            return Err(Failure {
                code: StatusCode::INTERNAL_SERVER_ERROR,
                reason: "InternalError",
                message: "resourceVersion should not be set on objects to be created".into(),
                name,
            });
        }
        if self.leases.contains_key(&key(namespace, &name)) {
            return Err(Failure {
                code: StatusCode::CONFLICT,
                reason: "AlreadyExists",
                message: format!("leases.coordination.k8s.io \"{name}\" already exists"),
                name,
            });
        }
        lease.metadata.uid = None;
        lease.metadata.creation_timestamp = None;
        self.stamp(&mut lease);
        self.leases.insert(key(namespace, &name), lease.clone());
        Ok(object(StatusCode::CREATED, &lease))
    }

    fn replace(&mut self, namespace: &str, name: &str, body: &[u8]) -> Result<Reply, Failure> {
        let mut lease = parse(namespace, body)?;
        if lease.metadata.name.as_deref() != Some(name) {
            let message = "the name of the object does not match the name on the URL";
            return Err(Failure::bad_request(message, name));
        }
        let Some(stored) = self.leases.get(&key(namespace, name)) else {
            // Leases allow create-on-update (their AllowCreateOnUpdate is true).
            lease.metadata.resource_version = None;
            self.stamp(&mut lease);
            self.leases.insert(key(namespace, name), lease.clone());
            return Ok(object(StatusCode::CREATED, &lease));
        };
        match lease.metadata.resource_version.as_deref() {
            // Leases forbid unconditional updates (AllowUnconditionalUpdate is false).
            None | Some("") => {
                let message =
                    "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update";
                return Err(Failure::invalid(message, name));
            }
            Some(sent) if Some(sent) != stored.metadata.resource_version.as_deref() => {
                return Err(Failure {
                    code: StatusCode::CONFLICT,
                    reason: "Conflict",
                    message: format!(
                        "Operation cannot be fulfilled on leases.coordination.k8s.io \"{name}\": \
                         the object has been modified; please apply your changes to the latest \
                         version and try again"
                    ),
                    name: name.to_owned(),
                });
            }
            Some(_) => {}
        }
        // Server-owned metadata survives whatever the client sent.
        lease.metadata.uid = stored.metadata.uid.clone();
        lease.metadata.creation_timestamp = stored.metadata.creation_timestamp.clone();
        self.stamp(&mut lease);
        self.leases.insert(key(namespace, name), lease.clone());
        Ok(object(StatusCode::OK, &lease))
    }
}

/// Decodes a Lease body and checks what the apiserver checks before storage.
fn parse(namespace: &str, body: &[u8]) -> Result<Lease, Failure> {
    let mut lease: Lease = serde_json::from_slice(body)
        .map_err(|error| Failure::bad_request(&format!("invalid Lease: {error}"), ""))?;
    match lease.metadata.namespace.as_deref() {
        Some(sent) if sent != namespace => {
            let message = "the namespace of the provided object does not match \
                           the namespace sent on the request";
            return Err(Failure::bad_request(message, ""));
        }
        _ => lease.metadata.namespace = Some(namespace.to_owned()),
    }
    let spec = lease.spec.clone().unwrap_or_default();
    if spec
        .lease_duration_seconds
        .is_some_and(|seconds| seconds <= 0)
    {
        let message = "spec.leaseDurationSeconds: Invalid value: must be greater than 0";
        return Err(Failure::invalid(message, ""));
    }
    if spec
        .lease_transitions
        .is_some_and(|transitions| transitions < 0)
    {
        let message = "spec.leaseTransitions: Invalid value: must be greater than or equal to 0";
        return Err(Failure::invalid(message, ""));
    }
    Ok(lease)
}

/// A request the apiserver would refuse, answered with a `Status` body.
struct Failure {
    code: StatusCode,
    reason: &'static str,
    message: String,
    name: String,
}

impl Failure {
    fn bad_request(message: &str, name: &str) -> Self {
        Self {
            code: StatusCode::BAD_REQUEST,
            reason: "BadRequest",
            message: message.to_owned(),
            name: name.to_owned(),
        }
    }

    fn invalid(message: &str, name: &str) -> Self {
        Self {
            code: StatusCode::UNPROCESSABLE_ENTITY,
            reason: "Invalid",
            message: message.to_owned(),
            name: name.to_owned(),
        }
    }

    fn into_reply(self) -> Reply {
        status(self.code, self.reason, &self.message, &self.name)
    }
}

pub(super) fn key(namespace: &str, name: &str) -> (String, String) {
    (namespace.to_owned(), name.to_owned())
}

fn object(code: StatusCode, lease: &Lease) -> Reply {
    match serde_json::to_vec(lease) {
        Ok(body) => json_reply(code, body),
        Err(error) => status(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            &error.to_string(),
            "",
        ),
    }
}

fn not_found(name: &str) -> Reply {
    status(
        StatusCode::NOT_FOUND,
        "NotFound",
        &format!("leases.coordination.k8s.io \"{name}\" not found"),
        name,
    )
}

/// The answer an injected failure stands for, with the apiserver's reason for its code.
fn injected(failure: &InjectedFailure) -> Reply {
    let reason = match failure.status.as_u16() {
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        409 => "Conflict",
        422 => "Invalid",
        429 => "TooManyRequests",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "InternalError",
    };
    let message = format!("injected {} answer (test)", failure.status.as_u16());
    let body = status_body(
        failure.status,
        reason,
        &message,
        "",
        failure.retry_after_seconds,
    );
    let mut reply = json_reply(failure.status, body.to_string().into_bytes());
    if let Some(seconds) = failure.retry_after_seconds {
        reply.headers_mut().insert(
            hyper::header::RETRY_AFTER,
            hyper::header::HeaderValue::from(seconds),
        );
    }
    reply
}

/// A `meta.k8s.io/v1` Status failure body, as the apiserver sends.
fn status(code: StatusCode, reason: &str, message: &str, name: &str) -> Reply {
    let body = status_body(code, reason, message, name, None);
    json_reply(code, body.to_string().into_bytes())
}

fn status_body(
    code: StatusCode,
    reason: &str,
    message: &str,
    name: &str,
    retry_after_seconds: Option<u32>,
) -> serde_json::Value {
    let mut details = json!({ "name": name, "group": "coordination.k8s.io", "kind": "leases" });
    if let Some(seconds) = retry_after_seconds {
        details["retryAfterSeconds"] = json!(seconds);
    }
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "details": details,
        "code": code.as_u16(),
    })
}

fn json_reply(code: StatusCode, body: Vec<u8>) -> Reply {
    let mut reply = Response::new(Full::new(Bytes::from(body)));
    *reply.status_mut() = code;
    reply.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    reply
}
