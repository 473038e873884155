//! The peer key: HMAC-SHA256 over every datagram, keyed by HKDF-SHA256 over secret
//! material every control-plane node already holds (the cluster CA key), so no new
//! distribution step exists. A cluster id derived from the same secret tells a foreign
//! cluster's datagram (another key) from a forged one.
use std::path::{Path, PathBuf};

use ring::{hkdf, hmac};

/// Tried in order when no `--peer-key-file` is given.
pub const CLUSTER_CA_KEYS: &[&str] = &[
    // kubeadm (and kubespray, which runs kubeadm)
    "/etc/kubernetes/pki/ca.key",
    // k3s
    "/var/lib/rancher/k3s/server/tls/server-ca.key",
    // RKE2
    "/var/lib/rancher/rke2/server/tls/server-ca.key",
];
/// Shortest secret accepted from a key file.
const MIN_SECRET_LEN: usize = 16;
const SALT: &[u8] = b"vip-agent peer election v1";

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("reading peer key file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("peer key file {} holds {len} bytes of secret; at least 16 are needed", path.display())]
    TooShort { path: PathBuf, len: usize },
    #[error(
        "no peer key: none of {candidates:?} exists; pass --peer-key-file (the same secret on every \
         control-plane node) or --peer-insecure"
    )]
    NoKey { candidates: Vec<PathBuf> },
}

/// Where the secret comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    File(PathBuf),
    /// The first of these that exists (the cluster CA key of kubeadm, k3s, RKE2).
    FirstOf(Vec<PathBuf>),
    /// A fixed, public key: integrity only, anyone on the segment can forge.
    Insecure,
}

impl KeySource {
    pub fn cluster_ca_keys() -> Self {
        Self::FirstOf(CLUSTER_CA_KEYS.iter().map(PathBuf::from).collect())
    }
}

pub struct PeerKey {
    mac: hmac::Key,
    pub cluster_id: u64,
    /// Where the secret came from, for the startup log.
    pub origin: String,
}

impl std::fmt::Debug for PeerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerKey")
            .field("cluster_id", &format_args!("{:016x}", self.cluster_id))
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

impl PeerKey {
    pub fn load(source: &KeySource) -> Result<Self, AuthError> {
        match source {
            KeySource::Insecure => Ok(Self::derive(b"", "--peer-insecure (no secret)")),
            KeySource::File(path) => Self::from_file(path),
            KeySource::FirstOf(candidates) => match candidates.iter().find(|p| p.exists()) {
                Some(path) => Self::from_file(path),
                None => Err(AuthError::NoKey {
                    candidates: candidates.clone(),
                }),
            },
        }
    }

    fn from_file(path: &Path) -> Result<Self, AuthError> {
        let bytes = std::fs::read(path).map_err(|source| AuthError::Read {
            path: path.to_owned(),
            source,
        })?;
        let secret = normalized_secret(&bytes);
        if secret.len() < MIN_SECRET_LEN {
            return Err(AuthError::TooShort {
                path: path.to_owned(),
                len: secret.len(),
            });
        }
        Ok(Self::derive(&secret, &path.display().to_string()))
    }

    /// HKDF-SHA256(salt, secret): one output keys the HMAC, another names the cluster.
    pub fn derive(secret: &[u8], origin: &str) -> Self {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, SALT).extract(secret);
        let mac = hmac::Key::from(
            prk.expand(&[b"hmac-sha256".as_slice()], hmac::HMAC_SHA256)
                .expect("32 bytes is a valid HKDF-SHA256 length"),
        );
        let mut id = [0u8; 8];
        prk.expand(&[b"cluster-id".as_slice()], Len(8))
            .and_then(|okm| okm.fill(&mut id))
            .expect("8 bytes is a valid HKDF-SHA256 length");
        Self {
            mac,
            cluster_id: u64::from_be_bytes(id),
            origin: origin.to_owned(),
        }
    }

    pub fn tag(&self, signed: &[u8]) -> [u8; 32] {
        let tag = hmac::sign(&self.mac, signed);
        tag.as_ref().try_into().expect("HMAC-SHA256 is 32 bytes")
    }

    /// Constant-time comparison.
    pub fn verify(&self, signed: &[u8], tag: &[u8]) -> bool {
        hmac::verify(&self.mac, signed, tag).is_ok()
    }
}

/// The secret of a key file: for PEM, the base64 body without armour, line ends or
/// whitespace, so copies that differ only in layout (CRLF, final newline) agree.
pub fn normalized_secret(bytes: &[u8]) -> Vec<u8> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return bytes.to_vec();
    };
    if !text.contains("-----BEGIN") {
        return bytes.to_vec();
    }
    text.lines()
        .map(str::trim)
        .filter(|line| !line.starts_with("-----") && !line.contains(':'))
        .flat_map(|line| line.bytes())
        .filter(|b| !b.is_ascii_whitespace())
        .collect()
}

/// Random per process start (boot id).
pub fn random_u64() -> u64 {
    use ring::rand::{generate, SystemRandom};
    let bytes: [u8; 8] = generate(&SystemRandom::new())
        .expect("the system random source is available")
        .expose();
    u64::from_be_bytes(bytes)
}
