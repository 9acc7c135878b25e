//! Scanning running processes: each one's environment block and command
//! line through the matcher, paired across the whole block, and located by
//! variable name or argument index. Processes with the same environment and
//! command line (forked workers) are matched once.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

use crate::coverage::{Coverage, GapReason};
use crate::environ::Environ;
use crate::location::{Location, ProcessInfo};
use crate::matcher::Matcher;
use crate::scan::pair::{self, Context, Sighting};
use crate::scan::{ChunkScanner, LocatedMatch, MAX_MATCHES_PER_INPUT};

/// Matches processes one at a time, remembering what each distinct
/// (environment, command line) held.
pub struct ProcessScanner<'m> {
    chunks: ChunkScanner<'m>,
    matches: Vec<LocatedMatch>,
    /// Keyed with a per-run random key, so that no one can make two
    /// different environments look the same.
    hasher: std::collections::hash_map::RandomState,
    seen: HashMap<u64, Vec<Sighting>>,
    pub coverage: Coverage,
}

impl<'m> ProcessScanner<'m> {
    pub fn new(matcher: &'m Matcher, chunk_size: usize) -> ProcessScanner<'m> {
        ProcessScanner {
            chunks: ChunkScanner::new(matcher, chunk_size),
            matches: Vec::new(),
            hasher: std::collections::hash_map::RandomState::new(),
            seen: HashMap::new(),
            coverage: Coverage::default(),
        }
    }

    /// The sightings in one process's environment and command line.
    pub fn scan(&mut self, process: &ProcessInfo, environ: &Environ, argv: &Environ) -> Vec<Sighting> {
        let mut h = self.hasher.build_hasher();
        h.write(environ.raw());
        h.write_u8(0xff);
        h.write(argv.raw());
        let key = h.finish();
        if let Some(known) = self.seen.get(&key) {
            return known.iter().map(|s| s.for_process(process)).collect();
        }
        let mut out = self.scan_environment(process, environ);
        out.extend(self.scan_command_line(process, argv));
        self.seen.insert(key, out.iter().map(|s| s.for_process(process)).collect());
        out
    }

    /// The environment: records are NUL-separated, one variable each,
    /// paired across the whole block.
    fn scan_environment(&mut self, process: &ProcessInfo, environ: &Environ) -> Vec<Sighting> {
        self.scan_block(environ.raw(), &format!("pid {} environment", process.pid));
        if self.matches.is_empty() {
            return Vec::new();
        }
        let locate = |m: &LocatedMatch| Location::Process {
            process: process.clone(),
            variable: environ.name_of_record(m.line).unwrap_or_default(),
        };
        let (found, tokens) = pair::pair(&self.matches, u64::MAX, Context::Bytes(environ.raw()), &locate);
        self.coverage.ignored.unpaired_tokens += tokens;
        found
    }

    /// The command line: arguments are NUL-separated; matched with spaces
    /// between them, as a shell would have written them (`aws configure
    /// set aws_secret_access_key SECRET`).
    fn scan_command_line(&mut self, process: &ProcessInfo, argv: &Environ) -> Vec<Sighting> {
        let argv = argv.raw();
        let spaced = zeroize::Zeroizing::new(argv.iter().map(|&b| if b == 0 { b' ' } else { b }).collect::<Vec<u8>>());
        self.scan_block(&spaced, &format!("pid {} command line", process.pid));
        if self.matches.is_empty() {
            return Vec::new();
        }
        let locate = |m: &LocatedMatch| Location::CommandLine {
            process: process.clone(),
            argument: memchr::memchr_iter(0, &argv[..m.offset as usize]).count() as u32,
        };
        let (found, tokens) = pair::pair(&self.matches, u64::MAX, Context::Bytes(&spaced), &locate);
        self.coverage.ignored.unpaired_tokens += tokens;
        found
    }

    /// Runs one in-memory block through the scanner into `self.matches`.
    fn scan_block(&mut self, block: &[u8], what: &str) {
        self.matches.clear();
        let stats = self.chunks.scan(block, 0, &mut self.matches);
        self.coverage.bytes_scanned += stats.bytes;
        self.coverage.ignored.add(stats.ignored);
        if stats.dropped_matches > 0 {
            let detail = format!("{} matches past the first {MAX_MATCHES_PER_INPUT} not kept", stats.dropped_matches);
            self.coverage.gap(what.to_string(), GapReason::TooManyMatches, detail);
        }
    }
}
