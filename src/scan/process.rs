//! Scanning running processes: each one's environment block and command
//! line through the matcher, paired across the whole block, and located by
//! variable name or argument index.

use crate::coverage::{Coverage, GapReason};
use crate::location::Location;
use crate::matcher::Matcher;
use crate::scan::pair::{self, Context, Sighting};
use crate::scan::{ChunkScanner, LocatedMatch, MAX_MATCHES_PER_INPUT};
use crate::sources::procenv::Process;

/// Scans every process's environment and command line.
pub fn scan(processes: &[Process], matcher: &Matcher, chunk_size: usize, coverage: &mut Coverage) -> Vec<Sighting> {
    let mut scanner = ChunkScanner::new(matcher, chunk_size);
    let mut matches: Vec<LocatedMatch> = Vec::new();
    let mut out = Vec::new();
    for p in processes {
        // The environment: records are NUL-separated, one variable each.
        scan_block(&mut scanner, &mut matches, p.environ.raw(), coverage, &format!("pid {} environment", p.info.pid));
        if !matches.is_empty() {
            let locate = |m: &LocatedMatch| Location::Process {
                process: p.info.clone(),
                variable: p.environ.name_of_record(m.line).unwrap_or_default(),
            };
            // An environment has no lines worth measuring: pair across all of it.
            let (found, tokens) = pair::pair(&matches, u64::MAX, Context::Bytes(p.environ.raw()), &locate);
            coverage.ignored.unpaired_tokens += tokens;
            out.extend(found);
        }
        // The command line: arguments are NUL-separated; matched with spaces
        // between them, as a shell would have written them
        // (`aws configure set aws_secret_access_key SECRET`).
        let argv = p.argv.raw();
        let spaced: zeroize::Zeroizing<Vec<u8>> =
            zeroize::Zeroizing::new(argv.iter().map(|&b| if b == 0 { b' ' } else { b }).collect());
        scan_block(&mut scanner, &mut matches, &spaced, coverage, &format!("pid {} command line", p.info.pid));
        if !matches.is_empty() {
            let locate = |m: &LocatedMatch| Location::CommandLine {
                process: p.info.clone(),
                argument: memchr::memchr_iter(0, &argv[..m.offset as usize]).count() as u32,
            };
            let (found, tokens) = pair::pair(&matches, u64::MAX, Context::Bytes(&spaced), &locate);
            coverage.ignored.unpaired_tokens += tokens;
            out.extend(found);
        }
    }
    out
}

/// Runs one in-memory block through the scanner into `matches` (cleared first).
fn scan_block(
    scanner: &mut ChunkScanner,
    matches: &mut Vec<LocatedMatch>,
    block: &[u8],
    coverage: &mut Coverage,
    what: &str,
) {
    matches.clear();
    let stats = scanner.scan(block, 0, matches);
    coverage.bytes_scanned += stats.bytes;
    coverage.ignored.add(stats.ignored);
    if stats.dropped_matches > 0 {
        let detail = format!("{} matches past the first {MAX_MATCHES_PER_INPUT} not kept", stats.dropped_matches);
        coverage.gap(what.to_string(), GapReason::TooManyMatches, detail);
    }
}
