//! What a scan covered and what it could not: counts, skips with their
//! reasons, and gaps (unreadable, vanished) with their paths.

use std::collections::BTreeMap;
use std::fmt;
use std::io;

use serde::Serialize;

/// Gaps listed by path in a report; past this only the counts grow.
pub const MAX_LISTED_GAPS: usize = 200;

/// Why something was deliberately not scanned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SkipReason {
    /// Symbolic links are never followed (their targets are scanned where they live).
    Symlink,
    /// FIFOs, sockets and devices are never opened.
    SpecialFile,
    /// `/proc`, `/sys`, `/dev`, `/run` and the like.
    PseudoFilesystem,
    /// A directory on another filesystem than the one its walk started on.
    OtherFilesystem,
    /// Matched an `--exclude` pattern or the configuration's exclusions.
    Excluded,
    /// A path that was asked for but does not exist on this host.
    Absent,
    /// A file named by the host (an SDK variable, a unit) that is a directory: never walked.
    NotAFile,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SkipReason::Symlink => "symbolic links (not followed)",
            SkipReason::SpecialFile => "FIFOs, sockets and devices (never opened)",
            SkipReason::PseudoFilesystem => "pseudo filesystems (/proc, /sys, /dev, /run)",
            SkipReason::OtherFilesystem => "directories on other filesystems",
            SkipReason::Excluded => "excluded by configuration",
            SkipReason::Absent => "default locations absent on this host",
            SkipReason::NotAFile => "directories named where a file was expected (not walked)",
        })
    }
}

/// Why something that should have been scanned was not, or not fully.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum GapReason {
    PermissionDenied,
    /// Gone between being listed and being read.
    Vanished,
    /// A path named on the command line that does not exist.
    NotFound,
    /// Any other I/O error; the detail says which.
    IoError,
    /// More matches than are kept for one input.
    TooManyMatches,
    /// Not read to the end: `--max-seconds` was reached.
    TimeLimit,
    /// Larger than the cap for its kind: a file named by the host (16 MiB),
    /// a process environment or command line (4 MiB), a gzip stream's output.
    TooLarge,
    /// A credential source a process or user signs from that could not be
    /// checked: a metadata endpoint not asked or not answering, more cached
    /// sign-ins than are read.
    Unverified,
}

impl GapReason {
    /// Whether a gap of this kind means something that could hold a live
    /// credential was not (fully) read. A file that vanished can no longer
    /// be loaded by anything, so it alone does not.
    pub fn leaves_scan_incomplete(self) -> bool {
        !matches!(self, GapReason::Vanished)
    }

    pub fn of(e: &io::Error) -> GapReason {
        match e.kind() {
            io::ErrorKind::PermissionDenied => GapReason::PermissionDenied,
            io::ErrorKind::NotFound => GapReason::Vanished,
            _ => GapReason::IoError,
        }
    }
}

impl fmt::Display for GapReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GapReason::PermissionDenied => "permission denied",
            GapReason::Vanished => "vanished while scanning",
            GapReason::NotFound => "not found",
            GapReason::IoError => "I/O error",
            GapReason::TooManyMatches => "too many matches (extra matches not kept)",
            GapReason::TimeLimit => "time limit reached",
            GapReason::TooLarge => "larger than its cap (not read to the end)",
            GapReason::Unverified => "credential source not checked",
        })
    }
}

/// One place that could not be (fully) scanned.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
pub struct Gap {
    /// The path, or `pid N` for a process.
    pub target: String,
    pub reason: GapReason,
    pub detail: String,
}

/// Values seen but not reported, and why.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Ignored {
    /// AWS documentation example keys and secrets.
    pub examples: u64,
    /// Fillers and values that cannot be real keys (`AKIAXXXXXXXXXXXXXXXX`, hex).
    pub placeholders: u64,
    /// Session tokens with no temporary key ID near them.
    pub unpaired_tokens: u64,
    /// Key IDs alone whose body is a word (`ASIAPACIFICSOUTHEAST`, a Java constant).
    pub identifiers: u64,
}

impl Ignored {
    pub fn add(&mut self, other: Ignored) {
        self.examples += other.examples;
        self.placeholders += other.placeholders;
        self.unpaired_tokens += other.unpaired_tokens;
        self.identifiers += other.identifiers;
    }
}

/// Everything a report says about how complete the scan was.
#[derive(Clone, Debug, Default, Serialize, schemars::JsonSchema)]
pub struct Coverage {
    /// The paths the walk started from.
    pub roots: Vec<String>,
    pub files_scanned: u64,
    /// Running processes whose environment was read.
    pub processes_scanned: u64,
    pub bytes_scanned: u64,
    /// Things deliberately left alone, by reason.
    pub skipped: BTreeMap<SkipReason, u64>,
    /// A few examples of skipped directories (mount points, pseudo filesystems).
    pub skipped_paths: Vec<String>,
    /// Gaps by reason.
    pub gap_counts: BTreeMap<GapReason, u64>,
    /// The first gaps, sorted; `gap_counts` has the totals.
    pub gaps: Vec<Gap>,
    /// Values that looked like keys but were not reported.
    pub ignored: Ignored,
    /// Key IDs alone in files a package installed and nobody changed since
    /// (vendor examples and test data), by package: not findings.
    pub vendor: BTreeMap<String, u64>,
    /// Wall-clock time of the scan in milliseconds.
    pub elapsed_ms: u64,
    /// False when something that could hold a live credential was not (fully)
    /// read: the time limit, a cap, an unreadable file or process, a path
    /// that was asked for and does not exist. Files that vanished do not count.
    pub complete: bool,
}

impl Coverage {
    pub fn skip(&mut self, reason: SkipReason, path: Option<String>) {
        *self.skipped.entry(reason).or_default() += 1;
        if let Some(p) = path
            && self.skipped_paths.len() < MAX_LISTED_GAPS
        {
            self.skipped_paths.push(p);
        }
    }

    pub fn gap(&mut self, target: String, reason: GapReason, detail: impl fmt::Display) {
        *self.gap_counts.entry(reason).or_default() += 1;
        if self.gaps.len() < MAX_LISTED_GAPS {
            self.gaps.push(Gap { target, reason, detail: detail.to_string() });
        }
    }

    pub fn gaps_total(&self) -> u64 {
        self.gap_counts.values().sum()
    }

    /// Whether anything that could hold a live credential went unread.
    pub fn has_unread(&self) -> bool {
        self.gap_counts.keys().any(|r| r.leaves_scan_incomplete())
    }

    /// What was not read, by reason: "time limit reached: 1, permission denied: 3".
    pub fn incompleteness(&self) -> String {
        let parts: Vec<String> = self
            .gap_counts
            .iter()
            .filter(|(r, _)| r.leaves_scan_incomplete())
            .map(|(r, n)| format!("{r}: {n}"))
            .collect();
        if parts.is_empty() { "the time limit was reached".to_string() } else { parts.join(", ") }
    }

    /// Folds another thread's coverage into this one.
    pub fn merge(&mut self, other: Coverage) {
        self.files_scanned += other.files_scanned;
        self.bytes_scanned += other.bytes_scanned;
        for (k, v) in other.skipped {
            *self.skipped.entry(k).or_default() += v;
        }
        for p in other.skipped_paths {
            if self.skipped_paths.len() < MAX_LISTED_GAPS {
                self.skipped_paths.push(p);
            }
        }
        for (k, v) in other.gap_counts {
            *self.gap_counts.entry(k).or_default() += v;
        }
        for g in other.gaps {
            if self.gaps.len() < MAX_LISTED_GAPS {
                self.gaps.push(g);
            }
        }
        self.ignored.add(other.ignored);
        for (k, v) in other.vendor {
            *self.vendor.entry(k).or_default() += v;
        }
    }

    /// Sorts the listed paths so that reports do not depend on thread timing.
    pub fn finish(&mut self) {
        self.gaps.sort();
        self.skipped_paths.sort();
        self.skipped_paths.dedup();
    }
}
