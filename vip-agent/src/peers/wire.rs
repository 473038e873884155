//! The peer channel's datagram format, versioned so later message types (flow-pin
//! replication) and later fields ride on the same socket.
//!
//! ```text
//! 0      4        5     6      8           16        24     32            40
//! | VIPP | version | kind | body length | cluster id | boot id | seq | sent (unix ms) |
//! 40 .. 40+len: body (kind-specific)   then 32 bytes HMAC-SHA256 over everything before
//! ```
//! All integers are big-endian. A receiver reads the fields of a body it knows and ignores
//! any bytes after them, so a minor extension appends fields without a version bump; an
//! authenticated message of an unknown kind is counted and ignored.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const MAGIC: [u8; 4] = *b"VIPP";
pub const VERSION: u8 = 1;
pub const HEADER_LEN: usize = 40;
pub const TAG_LEN: usize = 32;
/// Largest datagram accepted; heartbeats are far smaller, pin batches must fit.
pub const MAX_DATAGRAM: usize = 1400;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    Heartbeat = 1,
    /// The sender is leaving (SIGTERM): treat it as gone now, not after the dead interval.
    Resign = 2,
}

impl Kind {
    fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            1 => Some(Self::Heartbeat),
            2 => Some(Self::Resign),
            _ => None,
        }
    }
}

/// Fields every message carries before its body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub cluster_id: u64,
    /// Random per process start; a restart is a new boot.
    pub boot_id: u64,
    /// Increases by one per message within a boot.
    pub seq: u64,
    /// Sender's wall clock, for the replay window.
    pub sent_unix_ms: u64,
}

/// What a node says about itself and the election, in heartbeats and resignations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claim {
    /// The sender's own node address (must match the datagram's source).
    pub sender: IpAddr,
    pub term: u64,
    /// Whom the sender follows (itself when it leads); `None` while undecided.
    pub leader: Option<IpAddr>,
}

/// Round-trip echo: the sender's monotonic clock, and the receiver's last one echoed back
/// with how long the sender held it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Echo {
    pub sent_mono_ns: u64,
    /// 0: nothing heard from the receiver yet.
    pub echoed_mono_ns: u64,
    pub held_ns: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    Heartbeat { claim: Claim, echo: Echo },
    Resign { claim: Claim },
}

impl Body {
    pub fn kind(&self) -> Kind {
        match self {
            Self::Heartbeat { .. } => Kind::Heartbeat,
            Self::Resign { .. } => Kind::Resign,
        }
    }

    pub fn claim(&self) -> &Claim {
        match self {
            Self::Heartbeat { claim, .. } | Self::Resign { claim } => claim,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("datagram of {len} bytes is shorter than header and tag")]
    Short { len: usize },
    #[error("not a vip-agent peer datagram")]
    BadMagic,
    #[error("protocol version {version} is not the one this agent speaks")]
    Version { version: u8 },
    #[error("body length {declared} does not match the datagram")]
    Length { declared: usize },
    #[error("message kind {kind} is unknown to this version")]
    UnknownKind { kind: u8 },
    #[error("{kind:?} body is truncated")]
    Truncated { kind: Kind },
    #[error("address family byte {family} is invalid")]
    Family { family: u8 },
}

/// A datagram split into its parts, before authentication.
pub struct Framed<'a> {
    pub header: Header,
    pub kind_byte: u8,
    pub body: &'a [u8],
    /// Header and body: what the tag covers.
    pub signed: &'a [u8],
    pub tag: &'a [u8],
}

/// Splits a datagram; checks magic, version and lengths only.
pub fn frame(datagram: &[u8]) -> Result<Framed<'_>, WireError> {
    if datagram.len() < HEADER_LEN + TAG_LEN {
        return Err(WireError::Short {
            len: datagram.len(),
        });
    }
    if datagram[0..4] != MAGIC {
        return Err(WireError::BadMagic);
    }
    if datagram[4] != VERSION {
        return Err(WireError::Version {
            version: datagram[4],
        });
    }
    let declared = usize::from(u16::from_be_bytes([datagram[6], datagram[7]]));
    if HEADER_LEN + declared + TAG_LEN != datagram.len() {
        return Err(WireError::Length { declared });
    }
    let u64_at = |at: usize| u64::from_be_bytes(datagram[at..at + 8].try_into().expect("8 bytes"));
    let signed_len = HEADER_LEN + declared;
    Ok(Framed {
        header: Header {
            cluster_id: u64_at(8),
            boot_id: u64_at(16),
            seq: u64_at(24),
            sent_unix_ms: u64_at(32),
        },
        kind_byte: datagram[5],
        body: &datagram[HEADER_LEN..signed_len],
        signed: &datagram[..signed_len],
        tag: &datagram[signed_len..],
    })
}

/// Decodes the body of an authenticated frame.
pub fn decode_body(framed: &Framed<'_>) -> Result<Body, WireError> {
    let kind = Kind::from_byte(framed.kind_byte).ok_or(WireError::UnknownKind {
        kind: framed.kind_byte,
    })?;
    let mut reader = Reader {
        bytes: framed.body,
        kind,
    };
    let claim = Claim {
        sender: reader.address()?.ok_or(WireError::Family { family: 0 })?,
        term: reader.u64()?,
        leader: reader.address()?,
    };
    Ok(match kind {
        Kind::Resign => Body::Resign { claim },
        Kind::Heartbeat => Body::Heartbeat {
            claim,
            echo: Echo {
                sent_mono_ns: reader.u64()?,
                echoed_mono_ns: reader.u64()?,
                held_ns: reader.u64()?,
            },
        },
    })
}

/// Header and body, without the tag (the caller signs and appends it).
pub fn encode_unsigned(header: &Header, body: &Body) -> Vec<u8> {
    let mut payload = Vec::with_capacity(80);
    let claim = body.claim();
    put_address(&mut payload, Some(claim.sender));
    payload.extend_from_slice(&claim.term.to_be_bytes());
    put_address(&mut payload, claim.leader);
    if let Body::Heartbeat { echo, .. } = body {
        for field in [echo.sent_mono_ns, echo.echoed_mono_ns, echo.held_ns] {
            payload.extend_from_slice(&field.to_be_bytes());
        }
    }
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len() + TAG_LEN);
    out.extend_from_slice(&MAGIC);
    out.push(VERSION);
    out.push(body.kind() as u8);
    out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    for field in [
        header.cluster_id,
        header.boot_id,
        header.seq,
        header.sent_unix_ms,
    ] {
        out.extend_from_slice(&field.to_be_bytes());
    }
    out.extend_from_slice(&payload);
    out
}

fn put_address(out: &mut Vec<u8>, address: Option<IpAddr>) {
    match address {
        None => out.extend_from_slice(&[0; 17]),
        Some(IpAddr::V4(v4)) => {
            out.push(4);
            out.extend_from_slice(&v4.octets());
            out.extend_from_slice(&[0; 12]);
        }
        Some(IpAddr::V6(v6)) => {
            out.push(6);
            out.extend_from_slice(&v6.octets());
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    kind: Kind,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], WireError> {
        if self.bytes.len() < n {
            return Err(WireError::Truncated { kind: self.kind });
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn u64(&mut self) -> Result<u64, WireError> {
        Ok(u64::from_be_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    fn address(&mut self) -> Result<Option<IpAddr>, WireError> {
        let raw = self.take(17)?;
        match raw[0] {
            0 => Ok(None),
            4 => Ok(Some(IpAddr::V4(Ipv4Addr::new(
                raw[1], raw[2], raw[3], raw[4],
            )))),
            6 => {
                let octets: [u8; 16] = raw[1..17].try_into().expect("16 bytes");
                Ok(Some(IpAddr::V6(Ipv6Addr::from(octets))))
            }
            family => Err(WireError::Family { family }),
        }
    }
}
