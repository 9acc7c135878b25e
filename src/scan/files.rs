//! Scanning files: each regular file the walk meets is opened safely
//! ([`hostfs::open_regular`]), read in chunks through the matcher, and its
//! matches paired with the file at hand for structure.

use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::coverage::{Coverage, GapReason, SkipReason};
use crate::escape;
use crate::hostfs::{self, OpenError};
use crate::location::Location;
use crate::matcher::Matcher;
use crate::scan::decode::{self, Decoding};
use crate::scan::pair::{self, Context, Sighting};
use crate::scan::sparse::DataExtents;
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
        tracing::trace!(path = %escape::shown(path), size = opened.size, "scanning file");
        coverage.files_scanned += 1;
        // The first bytes tell what the file holds; they are read once and
        // handed on to whatever reads the rest. A file smaller than that is
        // read in one call, no second one to see it end.
        let small = opened.size > 0 && opened.size < decode::SNIFF as u64;
        let mut first = [0u8; decode::SNIFF];
        let n = read_up_to(&opened.file, &mut first[..if small { opened.size as usize } else { decode::SNIFF }]);
        // Read what was there at open, and a chunk more (a size of 0 may be
        // a file system's way of not knowing); a file that keeps growing (a
        // busy log) must not keep the scan going forever.
        let limit = if small && n as u64 == opened.size {
            n as u64
        } else {
            opened.size.saturating_add(self.opts.chunk_size as u64)
        };
        let head = &first[..n];
        let rest = || std::io::Cursor::new(head).chain((&opened.file).take(limit.saturating_sub(n as u64)));
        let shown = hostfs::host_view(&self.opts.host_root, path);
        if decode::is_gzip(head) {
            let cut = Arc::new(AtomicBool::new(false));
            let gz = decode::gunzip(rest(), opened.size, cut.clone());
            let again = || {
                rewind(&opened.file);
                let gz = decode::gunzip((&opened.file).take(limit), opened.size, Arc::default());
                small_enough(gz)
            };
            let decoding = Decoding { gzip: true, utf16: None };
            if let Some(e) = self.scan_input(gz, Context::Decoded(&again), decoding, &shown, Lines::Counted, coverage) {
                // Not gzip after all, or damaged: its bytes are read as they
                // are too (what decoded was matched; past the damage no
                // program can read it either, so that is no gap).
                tracing::debug!(path = %escape::shown(path), error = %e, "not decodable as gzip; read as it is");
                rewind(&opened.file);
                let context = Context::File { file: &opened.file, size: opened.size };
                let plain = (&opened.file).take(limit);
                self.scan_input(plain, context, Decoding::default(), &shown, Lines::Counted, coverage);
            }
            if cut.load(Ordering::Relaxed) {
                let limit = decode::gzip_limit(opened.size);
                let detail = format!("gzip content cut at {} MiB", limit >> 20);
                coverage.gap(escape::path(path), GapReason::TooLarge, detail);
            }
        } else {
            let context = Context::File { file: &opened.file, size: opened.size };
            // Past the first bytes, by data extents: a hole costs a few NULs, not its size.
            let extents = std::cell::RefCell::new(DataExtents::new(&opened.file, n as u64, limit, HOLE_GAP));
            let reader = std::io::Cursor::new(head).chain(SharedReader(&extents));
            let again = || -> Box<dyn Read + '_> {
                Box::new(std::io::Cursor::new(head).chain(DataExtents::new(&opened.file, n as u64, limit, HOLE_GAP)))
            };
            let lines = Lines::Reread { again: &again, extents: &extents };
            if let Some(e) = self.scan_input(reader, context, Decoding::default(), &shown, lines, coverage) {
                coverage.gap(escape::path(path), GapReason::of(&e), e);
            }
            if let Some(order) = decode::utf16(head) {
                rewind(&opened.file);
                let text = decode::from_utf16((&opened.file).take(limit), order);
                let again = || {
                    rewind(&opened.file);
                    small_enough(decode::from_utf16((&opened.file).take(limit), order))
                };
                let decoding = Decoding { gzip: false, utf16: Some(order) };
                self.scan_input(text, Context::Decoded(&again), decoding, &shown, Lines::Counted, coverage);
            }
        }
    }
}

/// How the lines of an input's matches are found.
enum Lines<'a, 'f> {
    /// Counted as the input is read (a decoded stream, read once).
    Counted,
    /// For a plain file, most of which hold no match: counted only if there
    /// is one, by reading the same bytes `again` (a file rewritten meanwhile
    /// can give a wrong line, never a missed key), then moved past the holes
    /// the first read skipped.
    Reread { again: &'a dyn Fn() -> Box<dyn Read + 'a>, extents: &'a std::cell::RefCell<DataExtents<'f>> },
}

/// NULs that stand in for a hole: more than any match's context, so none spans it.
const HOLE_GAP: usize = 4096;

/// A reader shared with whoever needs it after the scan (to place matches).
struct SharedReader<'a, 'f>(&'a std::cell::RefCell<DataExtents<'f>>);

impl Read for SharedReader<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().read(buf)
    }
}

/// Decoded streams up to this size are decoded again, whole, when pairing
/// needs to see their structure.
const DECODED_IN_MEMORY: usize = 1024 * 1024;

/// `reader` read whole, if it holds at most [`DECODED_IN_MEMORY`] bytes.
fn small_enough(reader: Box<dyn Read + '_>) -> Option<zeroize::Zeroizing<Vec<u8>>> {
    let mut whole = zeroize::Zeroizing::new(Vec::new());
    reader.take(DECODED_IN_MEMORY as u64 + 1).read_to_end(&mut whole).ok()?;
    (whole.len() <= DECODED_IN_MEMORY).then_some(whole)
}

/// Reads until `buf` is full or the file ends; what was read (errors end it
/// early, and the reader after it sees them again).
fn read_up_to(mut file: &std::fs::File, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(got) => n += got,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    n
}

/// Back to the start of a file read once already (its reads share one offset).
fn rewind(mut file: &std::fs::File) {
    use std::io::Seek;
    let _ = file.seek(std::io::SeekFrom::Start(0));
}

impl Scanner<'_> {
    /// Matches one input of a file and pairs what it holds. Returns the
    /// read error that ended it early, if any, for the caller to weigh.
    fn scan_input(
        &mut self,
        reader: impl Read,
        context: Context,
        decoding: Decoding,
        shown: &Path,
        lines: Lines,
        coverage: &mut Coverage,
    ) -> Option<std::io::Error> {
        let stats = match lines {
            Lines::Counted => self.chunks.scan(reader, b'\n', &mut self.matches),
            Lines::Reread { again, extents } => {
                let stats = self.chunks.scan_uncounted(reader, b'\n', &mut self.matches);
                if !self.matches.is_empty() {
                    self.chunks.number_lines(again(), b'\n', &mut self.matches);
                    extents.borrow().place(&mut self.matches);
                }
                stats
            }
        };
        coverage.bytes_scanned += stats.bytes;
        coverage.ignored.add(stats.ignored);
        if let Some(p) = &self.opts.progress {
            p.add(stats.bytes);
        }
        let target = || escape::path(shown);
        if stats.timed_out {
            self.mine.timed_out = true;
            let detail = format!("stopped after {} bytes: --max-seconds reached", stats.bytes);
            coverage.gap(target(), GapReason::TimeLimit, detail);
        }
        if stats.dropped_matches > 0 {
            let detail = format!("{} matches past the first {MAX_MATCHES_PER_INPUT} not kept", stats.dropped_matches);
            coverage.gap(target(), GapReason::TooManyMatches, detail);
        }
        if !self.matches.is_empty() {
            let locate =
                |m: &LocatedMatch| Location::File { path: shown.to_path_buf(), line: m.line, column: m.column };
            let (mut sightings, unpaired_tokens) = pair::pair(&self.matches, PAIR_LINES, context, &locate);
            coverage.ignored.unpaired_tokens += unpaired_tokens;
            for s in &mut sightings {
                s.decoding = decoding;
            }
            self.mine.sightings.extend(sightings);
            self.matches.clear();
        }
        stats.error
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
