//! Streams one input through the matcher in fixed-size chunks that overlap,
//! so memory stays bounded and a match across a chunk boundary is found once,
//! with its line and column. Examples and placeholders are dropped here,
//! before the per-input cap, so that no number of them can hide a real key.

use std::io::{self, Read};

use crate::coverage::Ignored;
use crate::credential::{self, Screen, Secret};
use crate::matcher::{Matcher, RawMatch, Scratch};
use crate::rules::Capture;

/// Default bytes read per chunk.
pub const DEFAULT_CHUNK_SIZE: usize = 256 * 1024;

/// Matches kept per input (after examples and placeholders are dropped);
/// past this, matches are counted, not kept, and the input is a coverage gap.
pub const MAX_MATCHES_PER_INPUT: usize = 10_000;
/// Documentation example secrets kept per input (outside that cap).
const EXAMPLES_KEPT: usize = 16;

/// A match placed in its input.
#[derive(Debug)]
pub struct LocatedMatch {
    pub rule: usize,
    pub capture: Capture,
    /// The captured bytes; treated as secret until classified.
    pub value: Secret,
    /// Byte offset of the capture in the input.
    pub offset: u64,
    /// 1-based line (or record, for NUL-separated input).
    pub line: u64,
    /// 1-based column in bytes; a leading UTF-8 BOM is not counted.
    pub column: u64,
    /// An AWS documentation example secret: never a credential, kept (a
    /// few per input) only so that a key ID beside it can say so.
    pub example: bool,
}

/// What reading one input came to.
#[derive(Debug, Default)]
pub struct InputStats {
    pub bytes: u64,
    /// Matches found beyond [`MAX_MATCHES_PER_INPUT`] and not kept.
    pub dropped_matches: u64,
    /// Examples and placeholders seen and dropped.
    pub ignored: Ignored,
    /// A read error that ended the input early; what was read before it was scanned.
    pub error: Option<io::Error>,
    /// The deadline passed before the end of the input; what was read was scanned.
    pub timed_out: bool,
}

/// Tracks the line and line start of one position as it moves forward.
struct LineCursor {
    separator: u8,
    pos: u64,
    line: u64,
    line_start: u64,
}

impl LineCursor {
    /// Moves to absolute offset `to`, counting separators in `buf`, which
    /// starts at absolute offset `base`.
    fn advance(&mut self, buf: &[u8], base: u64, to: u64) {
        if to <= self.pos {
            return;
        }
        let span = &buf[(self.pos - base) as usize..(to - base) as usize];
        let n = memchr::memchr_iter(self.separator, span).count() as u64;
        if n > 0 {
            self.line += n;
            let last = memchr::memrchr(self.separator, span).unwrap() as u64;
            self.line_start = self.pos + last + 1;
        }
        self.pos = to;
    }
}

/// Reads into `buf` until it is full or the input ends (or fails: what was
/// read before the error is kept): the bytes read, and the error.
fn fill(reader: &mut impl Read, buf: &mut [u8]) -> (usize, Option<io::Error>) {
    let mut len = 0;
    while len < buf.len() {
        match reader.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (len, Some(e)),
        }
    }
    (len, None)
}

/// One thread's reader: a buffer of `chunk + 2 × overlap` bytes and the
/// matcher's scratch space, reused for every input it scans.
pub struct ChunkScanner<'m> {
    matcher: &'m Matcher,
    scratch: Scratch,
    buf: Vec<u8>,
    raw: Vec<RawMatch>,
    deadline: Option<std::time::Instant>,
}

impl<'m> ChunkScanner<'m> {
    /// Stops reading any input once `deadline` passes (between chunks, so a
    /// huge file cannot hold a time-limited scan).
    pub fn with_deadline(mut self, deadline: Option<std::time::Instant>) -> ChunkScanner<'m> {
        self.deadline = deadline;
        self
    }

    pub fn new(matcher: &'m Matcher, chunk: usize) -> ChunkScanner<'m> {
        let chunk = chunk.max(1);
        ChunkScanner {
            matcher,
            scratch: matcher.scratch(),
            buf: vec![0; chunk + 2 * matcher.overlap()],
            raw: Vec::new(),
            deadline: None,
        }
    }

    /// Bytes of buffer this scanner holds, whatever the input size.
    pub fn buffer_len(&self) -> usize {
        self.buf.len()
    }

    /// Scans `reader` to its end, appending matches to `out` in offset order.
    /// `separator` ends a line: `\n` for files, NUL for environments.
    ///
    /// Each round reads up to `chunk` new bytes after the `2 × overlap`
    /// kept from the last round, and reports only matches that start in
    /// `[lo, hi)`: `lo` is where the last round stopped and `hi` is
    /// `overlap` bytes short of the buffer's end (unless at end of input),
    /// so every reported match has its context on both sides in the buffer
    /// and none is reported twice.
    pub fn scan(&mut self, reader: impl Read, separator: u8, out: &mut Vec<LocatedMatch>) -> InputStats {
        self.scan_lines(reader, separator, out, true)
    }

    /// [`scan`](Self::scan) without counting lines: the matches' `line` and
    /// `column` are 0 until [`number_lines`](Self::number_lines) reads the
    /// same input again. For an input that can be read twice, most hold no
    /// match, and counting their lines would cost more than the rest of
    /// their scan but the keyword search.
    pub fn scan_uncounted(&mut self, reader: impl Read, separator: u8, out: &mut Vec<LocatedMatch>) -> InputStats {
        self.scan_lines(reader, separator, out, false)
    }

    /// Gives `matches` (one input's, in offset order, from
    /// [`scan_uncounted`](Self::scan_uncounted)) their lines and columns,
    /// reading `reader`, the same input again, only as far as the last of
    /// them. Where the input now ends before a match (rewritten meanwhile),
    /// that match is put on line 0, column 1.
    pub fn number_lines(&mut self, mut reader: impl Read, separator: u8, matches: &mut [LocatedMatch]) {
        let mut lines = LineCursor { separator, pos: 0, line: 1, line_start: 0 };
        let mut base = 0u64;
        let mut next = 0;
        while next < matches.len() {
            let (len, _) = fill(&mut reader, &mut self.buf);
            if len == 0 {
                break;
            }
            if base == 0 && self.buf[..len].starts_with(b"\xEF\xBB\xBF") {
                lines.line_start = 3;
            }
            let end = base + len as u64;
            while let Some(m) = matches.get_mut(next).filter(|m| m.offset < end) {
                lines.advance(&self.buf[..len], base, m.offset);
                m.line = lines.line;
                m.column = (m.offset - lines.line_start.min(m.offset)) + 1;
                next += 1;
            }
            lines.advance(&self.buf[..len], base, end);
            self.buf[..len].fill(0);
            base = end;
        }
        for m in &mut matches[next..] {
            (m.line, m.column) = (0, 1);
        }
    }

    fn scan_lines(
        &mut self,
        mut reader: impl Read,
        separator: u8,
        out: &mut Vec<LocatedMatch>,
        count_lines: bool,
    ) -> InputStats {
        let overlap = self.matcher.overlap();
        let mut stats = InputStats::default();
        let mut len = 0usize;
        let mut base = 0u64;
        let mut lo = 0u64;
        let mut lines = LineCursor { separator, pos: 0, line: 1, line_start: 0 };
        let mut first = true;
        let mut kept = 0usize;
        let mut examples_kept = 0usize;
        loop {
            let (got, error) = fill(&mut reader, &mut self.buf[len..]);
            let eof = len + got < self.buf.len();
            len += got;
            if error.is_some() {
                stats.error = error;
            }
            if first && self.buf[..len].starts_with(b"\xEF\xBB\xBF") {
                lines.line_start = 3;
            }
            first = false;
            let hi = if eof { base + len as u64 } else { base + (len - overlap) as u64 };
            self.raw.clear();
            self.matcher.find(&self.buf[..len], &mut self.scratch, &mut self.raw);
            self.raw.sort_unstable_by_key(|m| (m.start, m.capture, m.rule));
            let mut previous: Option<(usize, Capture)> = None;
            for m in &self.raw {
                let at = base + m.start as u64;
                if at < lo || at >= hi {
                    continue;
                }
                // Two rules may capture the same value at the same place.
                if previous.replace((m.start, m.capture)) == Some((m.start, m.capture)) {
                    continue;
                }
                let value = &self.buf[m.start..m.end];
                let screen = match m.capture {
                    Capture::KeyId => credential::screen_key_id(value),
                    Capture::Secret => credential::screen_secret(value),
                    Capture::SessionToken => credential::screen_token(value),
                };
                // Example secrets are kept (a few, outside the cap) only so that a key ID beside one can say so.
                let example = match screen {
                    Screen::Example => {
                        stats.ignored.examples += 1;
                        if m.capture != Capture::Secret || examples_kept >= EXAMPLES_KEPT {
                            continue;
                        }
                        examples_kept += 1;
                        true
                    }
                    Screen::Placeholder => {
                        stats.ignored.placeholders += 1;
                        continue;
                    }
                    Screen::Keep if kept >= MAX_MATCHES_PER_INPUT => {
                        stats.dropped_matches += 1;
                        continue;
                    }
                    Screen::Keep => {
                        kept += 1;
                        false
                    }
                };
                if count_lines {
                    lines.advance(&self.buf[..len], base, at);
                }
                out.push(LocatedMatch {
                    rule: m.rule,
                    capture: m.capture,
                    value: Secret::new(value),
                    offset: at,
                    line: if count_lines { lines.line } else { 0 },
                    column: if count_lines { (at - lines.line_start.min(at)) + 1 } else { 0 },
                    example,
                });
            }
            if eof {
                stats.bytes = base + len as u64;
                // Leave no copy of the input behind in the buffer.
                self.buf[..len].fill(0);
                return stats;
            }
            if self.deadline.is_some_and(|d| std::time::Instant::now() >= d) {
                stats.bytes = hi;
                stats.timed_out = true;
                self.buf[..len].fill(0);
                return stats;
            }
            if count_lines {
                lines.advance(&self.buf[..len], base, hi);
            }
            let keep_from = len - 2 * overlap;
            self.buf.copy_within(keep_from..len, 0);
            len -= keep_from;
            base += keep_from as u64;
            lo = hi;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleSet;

    const TEXT: &str = "line one\r\n\u{feff}x\nAKIA2OGYBAH6STMMNXNN\n  aws_secret_access_key = 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\n";

    fn run(data: &[u8], chunk: usize) -> Vec<(u64, u64, u64, Capture)> {
        let set = RuleSet::embedded().unwrap();
        let m = Matcher::new(&set).unwrap();
        let mut s = ChunkScanner::new(&m, chunk);
        let mut out = Vec::new();
        let stats = s.scan(data, b'\n', &mut out);
        assert_eq!(stats.bytes, data.len() as u64);
        out.iter().map(|m| (m.offset, m.line, m.column, m.capture)).collect()
    }

    #[test]
    fn every_chunk_size_gives_the_same_matches() {
        let mut data = vec![b'.'; 5000];
        data.extend_from_slice(TEXT.as_bytes());
        data.extend(std::iter::repeat_n(b'\n', 3000));
        data.extend_from_slice(TEXT.as_bytes());
        let whole = run(&data, data.len() + 1);
        assert_eq!(whole.len(), 4);
        assert_eq!(whole[0].1, 3);
        for chunk in [1, 2, 7, 64, 100, 4095, 4096, 4097, 5003, 5020, 9000] {
            assert_eq!(run(&data, chunk), whole, "chunk {chunk}");
        }
    }

    #[test]
    fn lines_numbered_on_a_second_read_are_the_lines_counted_on_the_first() {
        let set = RuleSet::embedded().unwrap();
        let m = Matcher::new(&set).unwrap();
        let mut data = b"\xEF\xBB\xBF".to_vec();
        data.extend_from_slice(TEXT.as_bytes());
        data.extend(std::iter::repeat_n(b'\n', 3000));
        data.extend(vec![b'.'; 5000]);
        data.extend_from_slice(TEXT.as_bytes());
        let shape = |out: &[LocatedMatch]| out.iter().map(|m| (m.offset, m.line, m.column)).collect::<Vec<_>>();
        for chunk in [1, 7, 100, 4096, 5003, data.len() + 1] {
            let mut s = ChunkScanner::new(&m, chunk);
            let (mut counted, mut numbered) = (Vec::new(), Vec::new());
            s.scan(&data[..], b'\n', &mut counted);
            s.scan_uncounted(&data[..], b'\n', &mut numbered);
            assert!(numbered.iter().all(|m| m.line == 0), "no lines counted on the first read");
            s.number_lines(&data[..], b'\n', &mut numbered);
            assert_eq!(shape(&numbered), shape(&counted), "chunk {chunk}");
            assert_eq!(counted.len(), 4);
        }
        // Cut short on the second read: the match past its end is put on line 0.
        let mut s = ChunkScanner::new(&m, 4096);
        let mut numbered = Vec::new();
        s.scan_uncounted(&data[..], b'\n', &mut numbered);
        s.number_lines(&data[..200], b'\n', &mut numbered);
        assert_eq!((numbered[0].line, numbered[3].line, numbered[3].column), (3, 0, 1));
    }

    /// A reader that fails (or ends) after `good` bytes, like a file
    /// truncated or an I/O error in the middle of a read.
    struct Failing {
        data: Vec<u8>,
        pos: usize,
        good: usize,
        error: bool,
    }

    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.pos >= self.good {
                return if self.error { Err(io::Error::other("EIO, as a failing disk says")) } else { Ok(0) };
            }
            let n = buf.len().min(self.good - self.pos).min(1000);
            buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    #[test]
    fn a_read_error_keeps_what_was_read() {
        let set = RuleSet::embedded().unwrap();
        let m = Matcher::new(&set).unwrap();
        let mut data = b"AWS_ACCESS_KEY_ID=AKIA2OGYBAH6STMMNXNN\n".to_vec();
        data.extend(vec![b'.'; 100_000]);
        data.extend_from_slice(b"\nAWS_ACCESS_KEY_ID=AKIALALEMEL33243OLIB\n");
        for error in [true, false] {
            let mut s = ChunkScanner::new(&m, 4096);
            let mut out = Vec::new();
            let stats = s.scan(Failing { data: data.clone(), pos: 0, good: 50_000, error }, b'\n', &mut out);
            assert_eq!(out.len(), 1, "the key before the failure is found, nothing after");
            assert_eq!(stats.error.is_some(), error);
            assert_eq!(stats.bytes, 50_000);
        }
    }

    #[test]
    fn bom_is_not_a_column() {
        let found = run(b"\xEF\xBB\xBFAKIA2OGYBAH6STMMNXNN", 1024);
        assert_eq!(found, vec![(3, 1, 1, Capture::KeyId)]);
    }
}
