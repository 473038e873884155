#[derive(Debug, thiserror::Error)]
pub enum DataplaneError {
    #[error("this vip-agent was built without its XDP object (AYA_BUILD_SKIP was set)")]
    ObjectMissing,
    #[error("loading the XDP object failed: {0}")]
    Load(#[from] aya::EbpfError),
    #[error("XDP program {name}: {source}")]
    Program {
        name: &'static str,
        source: aya::programs::ProgramError,
    },
    #[error("map {name} is missing from the XDP object")]
    MapMissing { name: &'static str },
    #[error("map {name}: {source}")]
    Map {
        name: &'static str,
        source: aya::maps::MapError,
    },
    #[error("ring size {size} is not a prime between 3 and {max}")]
    RingSize { size: u32, max: u32 },
    #[error("{what}: {count} exceeds the limit of {limit}")]
    TooMany {
        what: &'static str,
        count: usize,
        limit: u32,
    },
    #[error("ring of service {port}/{proto} has {len} entries, expected {expected}")]
    RingLength {
        port: u16,
        proto: u8,
        len: usize,
        expected: u32,
    },
    #[error("pinning {path}: {source}")]
    Pin {
        path: std::path::PathBuf,
        source: aya::pin::PinError,
    },
    #[error("removing pin {path}: {source}")]
    Unpin {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("creating pin directory {path}: {source}")]
    PinDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("pinned XDP link {path}: {source}")]
    Link {
        path: std::path::PathBuf,
        source: aya::programs::links::LinkError,
    },
    #[error("pinned XDP link {path}: {reason}")]
    LinkInfo {
        path: std::path::PathBuf,
        reason: String,
    },
    #[error("the data plane was loaded without a pin directory")]
    NotPinned,
    #[error("backend id {id} is out of range (limit {limit})")]
    BackendId { id: u32, limit: u32 },
}

pub type Result<T, E = DataplaneError> = std::result::Result<T, E>;

pub(crate) fn map_err(name: &'static str) -> impl FnOnce(aya::maps::MapError) -> DataplaneError {
    move |source| DataplaneError::Map { name, source }
}
