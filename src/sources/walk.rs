//! The file walk: a parallel, read-only traversal of the chosen roots that
//! never follows symlinks, never yields special files, never walks a
//! file-only root as a directory, and stays on one filesystem unless asked.
//! What is done with each file is the caller's visitor (the scan).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use ignore::{DirEntry, ParallelVisitor, ParallelVisitorBuilder, WalkBuilder, WalkState};

use crate::coverage::{Coverage, GapReason, SkipReason};
use crate::escape;
use crate::hostfs::{self, MAX_CONFIG_BYTES};

/// How to walk.
#[derive(Clone, Debug)]
pub struct WalkOptions {
    /// Directories never entered, wherever the walk meets them.
    pub prune: Vec<PathBuf>,
    /// Path prefixes never scanned (`--exclude`, configuration).
    pub exclude: Vec<PathBuf>,
    pub one_file_system: bool,
    pub threads: usize,
    /// Stop when this instant passes; what was found so far is kept.
    pub deadline: Option<Instant>,
}

/// What a root is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RootKind {
    /// Named by the user: its absence is an error, it may be a symlink (it
    /// was asked for by name), and it may not be a pseudo filesystem.
    Named,
    /// A default location: absent is fine, and a symlink is not followed.
    Default,
    /// A file that something on the host names (an SDK variable, a unit's
    /// `EnvironmentFile=`, a user's symlinked credentials), already resolved
    /// inside the host root: read only if it is a regular file no larger
    /// than [`MAX_CONFIG_BYTES`] on a real filesystem, never walked as a directory.
    NamedByHost,
}

/// A place to start walking.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Root {
    pub path: PathBuf,
    pub kind: RootKind,
}

/// A regular file the walk met, and how it may be read.
pub struct FileEntry<'a> {
    pub path: &'a Path,
    /// For a file named by the host: the size cap, and the pseudo-filesystem check.
    pub untrusted_cap: Option<u64>,
}

/// One walker thread's handler of the files it meets. It is dropped when its
/// thread is done, which is where it hands over what it found.
pub trait FileVisitor: Send {
    fn visit(&mut self, file: FileEntry<'_>, coverage: &mut Coverage);
}

/// What a walk came to, apart from what its visitors did.
#[derive(Debug, Default)]
pub struct WalkOutcome {
    pub coverage: Coverage,
    /// The deadline passed before the walk finished.
    pub timed_out: bool,
}

/// Walks `roots` and hands every regular file to a visitor made by `make`,
/// The walker settings every host walk uses (and the read-ceiling bench):
/// no ignore file of any kind, hidden files included, symlinks not followed.
pub fn read_everything(builder: &mut WalkBuilder) -> &mut WalkBuilder {
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
}

/// one per thread.
pub fn walk<'v>(
    roots: &[Root],
    opts: &WalkOptions,
    make: &(dyn Fn() -> Box<dyn FileVisitor + 'v> + Sync),
) -> WalkOutcome {
    let mut outcome = WalkOutcome::default();
    let mut dirs: Vec<(PathBuf, u64)> = Vec::new();
    let mut files: Vec<(PathBuf, RootKind)> = Vec::new();
    for Root { path: root, kind } in roots {
        if opts.exclude.iter().any(|x| root.starts_with(x)) {
            outcome.coverage.skip(SkipReason::Excluded, None);
            continue;
        }
        let named = *kind == RootKind::Named;
        let meta = if named { std::fs::metadata(root) } else { std::fs::symlink_metadata(root) };
        let meta = match meta {
            Ok(m) => m,
            // Files an SDK might read are looked for, not expected.
            Err(e) if *kind == RootKind::NamedByHost && e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) if !named && e.kind() == std::io::ErrorKind::NotFound => {
                outcome.coverage.skip(SkipReason::Absent, None);
                continue;
            }
            Err(e) => {
                outcome.coverage.roots.push(escape::path(root));
                let reason = match e.kind() {
                    std::io::ErrorKind::NotFound if named => GapReason::NotFound,
                    _ => GapReason::of(&e),
                };
                outcome.coverage.gap(escape::path(root), reason, &e);
                continue;
            }
        };
        if *kind != RootKind::NamedByHost {
            outcome.coverage.roots.push(escape::path(root));
        }
        let canonical = if named { std::fs::canonicalize(root).unwrap_or_else(|_| root.clone()) } else { root.clone() };
        if named && opts.prune.iter().any(|p| canonical.starts_with(p)) {
            outcome.coverage.skip(SkipReason::PseudoFilesystem, Some(escape::path(root)));
        } else if meta.file_type().is_symlink() {
            outcome.coverage.skip(SkipReason::Symlink, Some(escape::path(root)));
        } else if meta.is_dir() && *kind == RootKind::NamedByHost {
            // A process's AWS_CONFIG_FILE=/ must not make root walk the disk.
            outcome.coverage.skip(SkipReason::NotAFile, Some(escape::path(root)));
        } else if meta.is_dir() {
            dirs.push((canonical, meta.dev()));
        } else if meta.is_file() {
            files.push((canonical, *kind));
        } else {
            outcome.coverage.skip(SkipReason::SpecialFile, Some(escape::path(root)));
        }
    }

    // Walk each place once: drop roots inside other roots.
    dirs.sort();
    dirs.dedup();
    let outer: Vec<PathBuf> = dirs.iter().map(|(d, _)| d.clone()).collect();
    let inside_another = |p: &Path| outer.iter().any(|d| p != d && p.starts_with(d));
    dirs.retain(|(d, _)| !inside_another(d));
    files.sort();
    files.dedup_by(|a, b| a.0 == b.0);
    // A file inside a walked directory is read there.
    files.retain(|(f, _)| !outer.iter().any(|d| f.starts_with(d)));
    if dirs.is_empty() && files.is_empty() {
        return outcome;
    }

    let untrusted: Vec<PathBuf> =
        files.iter().filter(|(_, k)| *k == RootKind::NamedByHost).map(|(f, _)| f.clone()).collect();
    let all: Vec<&PathBuf> = dirs.iter().map(|(d, _)| d).chain(files.iter().map(|(f, _)| f)).collect();
    let mut builder = WalkBuilder::new(all[0]);
    for p in &all[1..] {
        builder.add(p);
    }
    let skipped: Arc<Mutex<Coverage>> = Arc::default();
    read_everything(&mut builder)
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
    let shared = Shared { opts, untrusted: &untrusted, make, outcome: Mutex::new(WalkOutcome::default()) };
    builder.build_parallel().visit(&mut ThreadBuilder { shared: &shared });
    let walked = shared.outcome.into_inner().unwrap_or_else(|p| p.into_inner());
    outcome.coverage.merge(walked.coverage);
    outcome.coverage.merge(std::mem::take(&mut *skipped.lock().unwrap_or_else(|p| p.into_inner())));
    outcome.timed_out = walked.timed_out;
    outcome
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
        skipped.lock().unwrap_or_else(|p| p.into_inner()).skip(reason, Some(escape::path(path)));
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
        if hostfs::is_pseudo_filesystem(path) {
            return skip(SkipReason::PseudoFilesystem);
        }
        if one_fs {
            return skip(SkipReason::OtherFilesystem);
        }
    }
    true
}

struct Shared<'s, 'v> {
    opts: &'s WalkOptions,
    /// File roots named by the host, held to [`MAX_CONFIG_BYTES`].
    untrusted: &'s [PathBuf],
    make: &'s (dyn Fn() -> Box<dyn FileVisitor + 'v> + Sync),
    outcome: Mutex<WalkOutcome>,
}

struct ThreadBuilder<'s, 'v> {
    shared: &'s Shared<'s, 'v>,
}

impl<'s, 'v> ParallelVisitorBuilder<'s> for ThreadBuilder<'s, 'v>
where
    'v: 's,
{
    fn build(&mut self) -> Box<dyn ParallelVisitor + 's> {
        Box::new(Thread { shared: self.shared, visitor: (self.shared.make)(), outcome: WalkOutcome::default() })
    }
}

/// One walker thread: the caller's visitor and this thread's coverage,
/// merged into the shared outcome when the thread is done.
struct Thread<'s, 'v> {
    shared: &'s Shared<'s, 'v>,
    visitor: Box<dyn FileVisitor + 'v>,
    outcome: WalkOutcome,
}

impl ParallelVisitor for Thread<'_, '_> {
    fn visit(&mut self, entry: Result<DirEntry, ignore::Error>) -> WalkState {
        if self.shared.opts.deadline.is_some_and(|d| Instant::now() >= d) {
            self.outcome.timed_out = true;
            return WalkState::Quit;
        }
        let coverage = &mut self.outcome.coverage;
        match entry {
            Err(err) => {
                let (path, io) = error_parts(&err);
                let reason = io.map_or(GapReason::IoError, GapReason::of);
                coverage.gap(path.map_or_else(|| "?".into(), escape::path), reason, &err);
            }
            Ok(e) => {
                let untrusted = e.depth() == 0 && self.shared.untrusted.iter().any(|u| u == e.path());
                match e.file_type() {
                    // A file root swapped for a directory after it was checked is not walked.
                    Some(t) if t.is_dir() && untrusted => {
                        coverage.skip(SkipReason::NotAFile, Some(escape::path(e.path())));
                        return WalkState::Skip;
                    }
                    Some(t) if t.is_dir() => {}
                    Some(t) if t.is_symlink() => coverage.skip(SkipReason::Symlink, None),
                    Some(t) if t.is_file() => {
                        let cap = untrusted.then_some(MAX_CONFIG_BYTES);
                        self.visitor.visit(FileEntry { path: e.path(), untrusted_cap: cap }, coverage);
                    }
                    _ => coverage.skip(SkipReason::SpecialFile, None),
                }
            }
        }
        WalkState::Continue
    }
}

impl Drop for Thread<'_, '_> {
    fn drop(&mut self) {
        let mine = std::mem::take(&mut self.outcome);
        let mut all = self.shared.outcome.lock().unwrap_or_else(|p| p.into_inner());
        all.coverage.merge(mine.coverage);
        all.timed_out |= mine.timed_out;
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
