//! The matcher, chunked reader and pairing on arbitrary bytes: no panic,
//! and the same matches (offsets, lines, columns) whatever the chunk size.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use rolecall::finding;
use rolecall::location::Location;
use rolecall::matcher::Matcher;
use rolecall::rules::RuleSet;
use rolecall::scan::pair::{self, Context};
use rolecall::scan::{ChunkScanner, LocatedMatch};

static RULES: LazyLock<RuleSet> = LazyLock::new(|| RuleSet::embedded().unwrap());
static MATCHER: LazyLock<Matcher> = LazyLock::new(|| Matcher::new(&RULES).unwrap());

fn scan(data: &[u8], chunk: usize) -> Vec<(u64, u64, u64)> {
    let mut s = ChunkScanner::new(&MATCHER, chunk);
    let mut out = Vec::new();
    let stats = s.scan(data, b'\n', &mut out);
    assert_eq!(stats.bytes, data.len() as u64);
    let locate = |m: &LocatedMatch| Location::File { path: "f".into(), line: m.line, column: m.column };
    let (sightings, _) = pair::pair(&out, 5, Context::Bytes(data), &locate);
    let _ = finding::from_sightings(sightings, &RULES);
    out.iter().map(|m| (m.offset, m.line, m.column)).collect()
}

fuzz_target!(|data: &[u8]| {
    let whole = scan(data, data.len() + 1);
    for chunk in [1, 7, 64, 4096] {
        assert_eq!(scan(data, chunk), whole, "chunk {chunk}");
    }
});
