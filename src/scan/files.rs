//! Scanning files: each regular file the walk meets is opened safely
//! ([`hostfs::open_regular`]), read in chunks through the matcher, and its
//! matches paired with the file at hand for structure.

use std::io::Read;
use std::path::Path;
use std::sync::Mutex;

use crate::coverage::{Coverage, GapReason, SkipReason};
use crate::escape;
use crate::hostfs::{self, OpenError};
use crate::location::Location;
use crate::matcher::Matcher;
use crate::scan::pair::{self, Context, Sighting};
use crate::scan::{ChunkScanner, LocatedMatch, MAX_MATCHES_PER_INPUT, PAIR_LINES, ScanOptions};
use crate::sources::walk::{self, FileEntry, FileVisitor, Root, WalkOptions};

/// What scanning files came to.
#[derive(Debug, Default)]
pub struct FilesScanned {
    pub sightings: Vec<Sighting>,
    pub coverage: Coverage,
    /// The deadline passed before every file was read.
    pub timed_out: bool,
}

/// Walks `roots` and scans every regular file under them.
pub fn scan(roots: &[Root], walk: &WalkOptions, opts: &ScanOptions, matcher: &Matcher) -> FilesScanned {
    let found: Mutex<FilesScanned> = Mutex::default();
    let make = || -> Box<dyn FileVisitor + '_> { Box::new(Scanner::new(opts, matcher, &found)) };
    let outcome = walk::walk(roots, walk, &make);
    let mut result = found.into_inner().unwrap_or_else(|p| p.into_inner());
    result.coverage.merge(outcome.coverage);
    result.coverage.roots = std::mem::take(&mut result.coverage.roots);
    result.timed_out |= outcome.timed_out;
    result
}

/// One walker thread's scanner: its buffer, its matches and what it found,
/// handed over when the thread is done.
struct Scanner<'s> {
    opts: &'s ScanOptions,
    chunks: ChunkScanner<'s>,
    matches: Vec<LocatedMatch>,
    mine: FilesScanned,
    into: &'s Mutex<FilesScanned>,
}

impl<'s> Scanner<'s> {
    fn new(opts: &'s ScanOptions, matcher: &'s Matcher, into: &'s Mutex<FilesScanned>) -> Scanner<'s> {
        Scanner {
            opts,
            chunks: ChunkScanner::new(matcher, opts.chunk_size).with_deadline(opts.deadline),
            matches: Vec::new(),
            mine: FilesScanned::default(),
            into,
        }
    }
}

impl FileVisitor for Scanner<'_> {
    fn visit(&mut self, entry: FileEntry<'_>, coverage: &mut Coverage) {
        let path = entry.path;
        let opened = match entry.untrusted_cap {
            Some(cap) => hostfs::open_untrusted(path, cap),
            None => hostfs::open_regular(path),
        };
        let opened = match opened {
            Ok(o) => o,
            Err(OpenError::NotRegular) => return coverage.skip(SkipReason::SpecialFile, None),
            // Replaced by a symlink (or put under one) after it was listed.
            Err(OpenError::Symlink) => return coverage.skip(SkipReason::Symlink, Some(escape::path(path))),
            Err(OpenError::PseudoFilesystem) => {
                return coverage.skip(SkipReason::PseudoFilesystem, Some(escape::path(path)));
            }
            Err(e @ OpenError::TooLarge { .. }) => return coverage.gap(escape::path(path), GapReason::TooLarge, e),
            Err(OpenError::Io(e)) => return coverage.gap(escape::path(path), GapReason::of(&e), e),
        };
        // Read what was there at open; a file that keeps growing (a busy
        // log) must not keep the scan going forever.
        let limit = opened.size.saturating_add(self.opts.chunk_size as u64);
        tracing::trace!(path = %escape::path(path), size = opened.size, "scanning file");
        let stats = self.chunks.scan((&opened.file).take(limit), b'\n', &mut self.matches);
        coverage.files_scanned += 1;
        coverage.bytes_scanned += stats.bytes;
        coverage.ignored.add(stats.ignored);
        if let Some(p) = &self.opts.progress {
            p.add(stats.bytes);
        }
        if let Some(e) = stats.error {
            coverage.gap(escape::path(path), GapReason::of(&e), e);
        }
        if stats.timed_out {
            self.mine.timed_out = true;
            coverage.gap(
                escape::path(path),
                GapReason::TimeLimit,
                format!("stopped after {} bytes: --max-seconds reached", stats.bytes),
            );
        }
        if stats.dropped_matches > 0 {
            let detail = format!("{} matches past the first {MAX_MATCHES_PER_INPUT} not kept", stats.dropped_matches);
            coverage.gap(escape::path(path), GapReason::TooManyMatches, detail);
        }
        if !self.matches.is_empty() {
            let shown = hostfs::host_view(&self.opts.host_root, path);
            let locate = |m: &LocatedMatch| Location::File { path: shown.clone(), line: m.line, column: m.column };
            let context = Context::File { file: &opened.file, size: opened.size };
            let (sightings, unpaired_tokens) = pair::pair(&self.matches, PAIR_LINES, context, &locate);
            coverage.ignored.unpaired_tokens += unpaired_tokens;
            self.mine.sightings.extend(sightings);
            self.matches.clear();
        }
    }
}

impl Drop for Scanner<'_> {
    fn drop(&mut self) {
        let mine = std::mem::take(&mut self.mine);
        let mut all = self.into.lock().unwrap_or_else(|p| p.into_inner());
        all.sightings.extend(mine.sightings);
        all.coverage.merge(mine.coverage);
        all.timed_out |= mine.timed_out;
    }
}

/// Scans one file that is not part of a walk (a fixture, a rule example), as the walk would.
pub fn scan_one(path: &Path, opts: &ScanOptions, matcher: &Matcher) -> FilesScanned {
    let found: Mutex<FilesScanned> = Mutex::default();
    let mut coverage = Coverage::default();
    Scanner::new(opts, matcher, &found).visit(FileEntry { path, untrusted_cap: None }, &mut coverage);
    let mut result = found.into_inner().unwrap_or_else(|p| p.into_inner());
    result.coverage.merge(coverage);
    result
}
