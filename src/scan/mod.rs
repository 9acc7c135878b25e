//! Bytes to sightings: every input (a file, a process's environment or
//! command line) is read through the matcher in bounded chunks, and what it
//! holds is paired into sightings of credentials, located where they were seen.

pub mod chunk;
pub mod decode;
pub mod files;
pub mod pair;
pub mod process;
pub mod sparse;
pub mod userdata;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

pub use chunk::{ChunkScanner, DEFAULT_CHUNK_SIZE, InputStats, LocatedMatch, MAX_MATCHES_PER_INPUT};
pub use pair::{PairedBy, Sighting};

/// Lines within which a key ID and a labelled secret in one file count as a
/// pair (`~/.aws/credentials` puts them on consecutive lines; some files put
/// a comment or a region between them).
pub const PAIR_LINES: u64 = 5;

/// How to read inputs.
#[derive(Clone, Debug)]
pub struct ScanOptions {
    /// The host's root (`--root`): findings name paths as the host sees them.
    pub host_root: PathBuf,
    /// Bytes read per chunk.
    pub chunk_size: usize,
    /// Stop reading when this instant passes; what was read is kept.
    pub deadline: Option<Instant>,
    /// Bumped for every file read, for a progress line.
    pub progress: Option<Arc<crate::progress::Counters>>,
}
