//! The file walk: a parallel, read-only traversal of the chosen paths that
//! never follows symlinks, never opens special files, stays on one
//! filesystem unless asked, and scans each regular file in chunks.

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use ignore::{DirEntry, ParallelVisitor, ParallelVisitorBuilder, WalkBuilder, WalkState};

use crate::coverage::{Coverage, GapReason, SkipReason};
use crate::escape;
use crate::finding::{self, Finding, Location, Pairing};
use crate::matcher::Matcher;
use crate::rules::RuleSet;
use crate::scan::{self, ChunkScanner, LocatedMatch, OpenError};

/// Lines within which a key ID and a secret in one file count as a pair
/// (`~/.aws/credentials` puts them on consecutive lines; some files put a
/// comment or a region between them).
pub const PAIR_LINES: u64 = 5;

/// How to walk.
#[derive(Clone, Debug)]
pub struct WalkOptions {
    /// The host's root (`--root`): findings name paths as the host sees them.
    pub host_root: PathBuf,
    /// Directories never entered, wherever the walk meets them.
    pub prune: Vec<PathBuf>,
    /// Path prefixes never scanned (`--exclude`, configuration).
    pub exclude: Vec<PathBuf>,
    pub one_file_system: bool,
    pub threads: usize,
    /// Bytes read per chunk.
    pub chunk_size: usize,
    /// Stop when this instant passes; what was found so far is kept.
    pub deadline: Option<Instant>,
    /// Bumped for every file read, for a progress line.
    pub progress: Option<Arc<crate::progress::Counters>>,
}

/// A place to start walking.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Root {
    pub path: PathBuf,
    /// Named by the user: its absence is an error, and it may not be a
    /// pseudo filesystem. Default locations that are absent are just skipped.
    pub named: bool,
}

/// Findings and coverage from a walk.
#[derive(Debug, Default)]
pub struct WalkResult {
    pub findings: Vec<Finding>,
    pub coverage: Coverage,
    /// The deadline passed before the walk finished.
    pub timed_out: bool,
}

/// Pseudo filesystems that hold no files worth scanning and can block or
/// explode a reader (statfs magic numbers, linux/magic.h).
const PSEUDO_FS: &[u64] = &[
    0x9fa0,      // proc
    0x6265_6572, // sysfs
    0x1373,      // devfs
    0x1cd1,      // devpts
    0x2762_8e55, // cgroup
    0x6367_7270, // cgroup2
    0x6462_6720, // debugfs
    0x7472_6163, // tracefs
    0x7363_6673, // securityfs
    0xcafe_4a11, // bpf
    0x6165_676c, // pstore
    0x6265_6570, // configfs
    0x6573_5546, // fusectl
    0x1980_0202, // mqueue
    0x9584_58f6, // hugetlbfs
    0x4249_4e4d, // binfmt_misc
    0xde5e_81e4, // efivarfs
    0xf97c_ff8c, // selinuxfs
    0x6e73_6673, // nsfs
    0x0187,      // autofs
];

fn is_pseudo_filesystem(path: &Path) -> bool {
    nix::sys::statfs::statfs(path).is_ok_and(|s| PSEUDO_FS.contains(&(s.filesystem_type().0 as u64)))
}

/// Walks `roots` and scans every regular file under them.
pub fn scan_paths(roots: &[Root], opts: &WalkOptions, rules: &RuleSet, matcher: &Matcher) -> WalkResult {
    let mut result = WalkResult::default();
    let mut dirs: Vec<(PathBuf, u64)> = Vec::new();
    let mut files: Vec<PathBuf> = Vec::new();
    for Root { path: root, named } in roots {
        // A named root is followed if it is a symlink: it was asked for by
        // name. Default locations come resolved inside the host root, and a
        // symlink there is not followed (it could lead out of a mounted image).
        let meta = if *named { std::fs::metadata(root) } else { std::fs::symlink_metadata(root) };
        let meta = match meta {
            Ok(m) => m,
            Err(e) if !named && e.kind() == std::io::ErrorKind::NotFound => {
                result.coverage.skip(SkipReason::Absent, None);
                continue;
            }
            Err(e) => {
                result.coverage.roots.push(escape::path(root));
                let reason = match e.kind() {
                    std::io::ErrorKind::NotFound => GapReason::NotFound,
                    _ => GapReason::of(&e),
                };
                result.coverage.gap(escape::path(root), reason, &e);
                continue;
            }
        };
        result.coverage.roots.push(escape::path(root));
        let canonical =
            if *named { std::fs::canonicalize(root).unwrap_or_else(|_| root.clone()) } else { root.clone() };
        if *named && opts.prune.iter().any(|p| canonical.starts_with(p)) {
            result.coverage.skip(SkipReason::PseudoFilesystem, Some(escape::path(root)));
        } else if meta.file_type().is_symlink() {
            result.coverage.skip(SkipReason::Symlink, Some(escape::path(root)));
        } else if meta.is_dir() {
            dirs.push((canonical, meta.dev()));
        } else if meta.is_file() {
            files.push(canonical);
        } else {
            result.coverage.skip(SkipReason::SpecialFile, Some(escape::path(root)));
        }
    }

    // Walk each place once: drop roots inside other roots.
    dirs.sort();
    dirs.dedup();
    let outer: Vec<PathBuf> = dirs.iter().map(|(d, _)| d.clone()).collect();
    let inside_another = |p: &Path| outer.iter().any(|d| p != d && p.starts_with(d));
    dirs.retain(|(d, _)| !inside_another(d));
    files.sort();
    files.dedup();
    files.retain(|f| !outer.iter().any(|d| f.starts_with(d)));

    let shared = Shared { rules, matcher, opts, results: Mutex::new(WalkResult::default()) };
    if !files.is_empty() {
        let mut worker = Worker::new(&shared);
        for f in &files {
            worker.scan_file(f);
        }
    }
    if !dirs.is_empty() {
        let skipped: Arc<Mutex<Coverage>> = Arc::default();
        let mut builder = WalkBuilder::new(&dirs[0].0);
        for (d, _) in &dirs[1..] {
            builder.add(d);
        }
        builder
            .standard_filters(false)
            .hidden(false)
            .parents(false)
            .ignore(false)
            .git_ignore(false)
            .git_global(false)
            .git_exclude(false)
            .require_git(false)
            .follow_links(false)
            // Checked in the filter below, so that what was left out is reported.
            .same_file_system(false)
            .threads(opts.threads.max(1))
            .filter_entry({
                let skipped = Arc::clone(&skipped);
                let prune = opts.prune.clone();
                let exclude = opts.exclude.clone();
                let one_fs = opts.one_file_system;
                let roots = dirs.clone();
                move |e| keep_entry(e, &prune, &exclude, one_fs, &roots, &skipped)
            });
        builder.build_parallel().visit(&mut WorkerBuilder { shared: &shared });
        let skipped = std::mem::take(&mut *skipped.lock().unwrap());
        shared.results.lock().unwrap().coverage.merge(skipped);
    }
    let walked = shared.results.into_inner().unwrap();
    result.findings.extend(walked.findings);
    result.coverage.merge(walked.coverage);
    result.timed_out = walked.timed_out;
    result
}

/// Decides whether the walk yields (and, for a directory, enters) an entry.
fn keep_entry(
    e: &DirEntry,
    prune: &[PathBuf],
    exclude: &[PathBuf],
    one_fs: bool,
    roots: &[(PathBuf, u64)],
    skipped: &Mutex<Coverage>,
) -> bool {
    let path = e.path();
    let skip = |reason| {
        skipped.lock().unwrap().skip(reason, Some(escape::path(path)));
        false
    };
    if exclude.iter().any(|x| path.starts_with(x)) {
        return skip(SkipReason::Excluded);
    }
    let is_dir = e.file_type().is_some_and(|t| t.is_dir());
    if !is_dir || e.depth() == 0 {
        return true;
    }
    if prune.iter().any(|p| path == p) {
        return skip(SkipReason::PseudoFilesystem);
    }
    let Ok(meta) = e.metadata() else { return true };
    // The root this entry was reached from: the longest one that is its prefix.
    let root_dev = roots.iter().filter(|(r, _)| path.starts_with(r)).max_by_key(|(r, _)| r.as_os_str().len());
    if root_dev.is_some_and(|(_, dev)| meta.dev() != *dev) {
        if is_pseudo_filesystem(path) {
            return skip(SkipReason::PseudoFilesystem);
        }
        if one_fs {
            return skip(SkipReason::OtherFilesystem);
        }
    }
    true
}

struct Shared<'s> {
    rules: &'s RuleSet,
    matcher: &'s Matcher,
    opts: &'s WalkOptions,
    results: Mutex<WalkResult>,
}

struct WorkerBuilder<'s> {
    shared: &'s Shared<'s>,
}

impl<'s> ParallelVisitorBuilder<'s> for WorkerBuilder<'s> {
    fn build(&mut self) -> Box<dyn ParallelVisitor + 's> {
        Box::new(Worker::new(self.shared))
    }
}

/// One walker thread: its own scanner, buffer and results, merged into the
/// shared results when the thread is done.
struct Worker<'s> {
    shared: &'s Shared<'s>,
    scanner: ChunkScanner<'s>,
    matches: Vec<LocatedMatch>,
    result: WalkResult,
}

impl<'s> Worker<'s> {
    fn new(shared: &'s Shared<'s>) -> Worker<'s> {
        Worker {
            shared,
            scanner: ChunkScanner::new(shared.matcher, shared.opts.chunk_size).with_deadline(shared.opts.deadline),
            matches: Vec::new(),
            result: WalkResult::default(),
        }
    }

    fn scan_file(&mut self, path: &Path) {
        let coverage = &mut self.result.coverage;
        let (file, size) = match scan::open_regular(path) {
            Ok(f) => f,
            Err(OpenError::NotRegular) => return coverage.skip(SkipReason::SpecialFile, None),
            Err(OpenError::Io(e)) if e.raw_os_error() == Some(libc::ELOOP) => {
                // Replaced by a symlink after it was listed.
                return coverage.skip(SkipReason::Symlink, None);
            }
            Err(OpenError::Io(e)) => return coverage.gap(escape::path(path), GapReason::of(&e), e),
        };
        // Read what was there at open; a file that keeps growing (a busy
        // log) must not keep the scan going forever.
        let limit = size.saturating_add(self.shared.opts.chunk_size as u64);
        tracing::trace!(path = %escape::path(path), size, "scanning file");
        let stats = self.scanner.scan(file.take(limit), b'\n', &mut self.matches);
        coverage.files_scanned += 1;
        coverage.bytes_scanned += stats.bytes;
        if let Some(p) = &self.shared.opts.progress {
            p.add(stats.bytes);
        }
        if let Some(e) = stats.error {
            coverage.gap(escape::path(path), GapReason::of(&e), e);
        }
        if stats.timed_out {
            self.result.timed_out = true;
            coverage.gap(
                escape::path(path),
                GapReason::TimeLimit,
                format!("stopped after {} bytes: --max-seconds reached", stats.bytes),
            );
        }
        if stats.dropped_matches > 0 {
            let detail =
                format!("{} matches past the first {} not kept", stats.dropped_matches, scan::MAX_MATCHES_PER_INPUT);
            coverage.gap(escape::path(path), GapReason::TooManyMatches, detail);
        }
        if !self.matches.is_empty() {
            let shown = host_view(&self.shared.opts.host_root, path);
            let locate = |m: &LocatedMatch| Location::File { path: shown.clone(), line: m.line, column: m.column };
            let (found, ignored) =
                finding::assemble(&self.matches, self.shared.rules, Pairing::Lines(PAIR_LINES), locate);
            coverage.ignored.add(ignored);
            self.result.findings.extend(found);
            self.matches.clear();
        }
    }
}

impl ParallelVisitor for Worker<'_> {
    fn visit(&mut self, entry: Result<DirEntry, ignore::Error>) -> WalkState {
        if self.shared.opts.deadline.is_some_and(|d| Instant::now() >= d) {
            self.result.timed_out = true;
            return WalkState::Quit;
        }
        match entry {
            Err(err) => {
                let (path, io) = error_parts(&err);
                let reason = io.map_or(GapReason::IoError, GapReason::of);
                self.result.coverage.gap(path.map_or_else(|| "?".into(), escape::path), reason, &err);
            }
            Ok(e) => match e.file_type() {
                Some(t) if t.is_dir() => {}
                Some(t) if t.is_symlink() => self.result.coverage.skip(SkipReason::Symlink, None),
                Some(t) if t.is_file() => self.scan_file(e.path()),
                _ => self.result.coverage.skip(SkipReason::SpecialFile, None),
            },
        }
        WalkState::Continue
    }
}

impl Drop for Worker<'_> {
    fn drop(&mut self) {
        let mine = std::mem::take(&mut self.result);
        let mut all = self.shared.results.lock().unwrap_or_else(|p| p.into_inner());
        all.findings.extend(mine.findings);
        all.coverage.merge(mine.coverage);
        all.timed_out |= mine.timed_out;
    }
}

/// `path` (inside `root`) as the host sees it: `/etc/x` for `ROOT/etc/x`.
pub fn host_view(root: &Path, path: &Path) -> PathBuf {
    match path.strip_prefix(root) {
        Ok(rest) if root != Path::new("/") => Path::new("/").join(rest),
        _ => path.to_path_buf(),
    }
}

/// The path and I/O error inside a walker error, where it has them.
fn error_parts(err: &ignore::Error) -> (Option<&Path>, Option<&std::io::Error>) {
    match err {
        ignore::Error::WithPath { path, err } => (Some(path), error_parts(err).1),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => error_parts(err),
        ignore::Error::Loop { child, .. } => (Some(child), None),
        ignore::Error::Io(e) => (None, Some(e)),
        _ => (None, None),
    }
}
