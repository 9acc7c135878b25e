//! Content that is not plain bytes on disk: gzip streams (rotated logs and
//! `.gz` files anywhere, known by their magic number, not their name) and
//! UTF-16 text (PowerShell and Windows exports, known by a byte-order mark
//! or by their NUL pattern) are decoded before matching, within bounds.

use std::fmt;
use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A gzip stream may grow at most this many times its size on disk (a
/// small one to at least [`MIN_GZIP_OUT`], since repetitive JSON and logs
/// compress far better than 64× and cost little to read)...
pub const MAX_GZIP_RATIO: u64 = 64;
pub const MIN_GZIP_OUT: u64 = 64 << 20;
/// ...and to at most this many bytes.
pub const MAX_GZIP_OUT: u64 = 1 << 30;

/// Bytes looked at to tell what a file holds.
pub const SNIFF: usize = 4096;

/// The byte order of UTF-16 text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Utf16 {
    Le,
    Be,
}

/// How a file's content was decoded before it was matched.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Decoding {
    pub gzip: bool,
    pub utf16: Option<Utf16>,
}

impl Decoding {
    pub fn is_plain(self) -> bool {
        self == Decoding::default()
    }
}

impl fmt::Display for Decoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<&str> = [
            self.gzip.then_some("gzip"),
            match self.utf16 {
                Some(Utf16::Le) => Some("utf-16le"),
                Some(Utf16::Be) => Some("utf-16be"),
                None => None,
            },
        ]
        .into_iter()
        .flatten()
        .collect();
        f.write_str(&if parts.is_empty() { "plain".to_string() } else { parts.join("+") })
    }
}

/// Whether `head` (a file's first bytes) starts a gzip member.
pub fn is_gzip(head: &[u8]) -> bool {
    head.starts_with(&[0x1f, 0x8b, 0x08])
}

/// UTF-16 by its byte-order mark, or, without one, by its NUL pattern: in
/// the first bytes, at least 90 % of the bytes at one parity are NUL and at
/// most 10 % at the other (text in the Latin range, as configuration and
/// scripts are; binaries have NULs at both).
pub fn utf16(head: &[u8]) -> Option<Utf16> {
    if head.starts_with(&[0xff, 0xfe]) {
        return Some(Utf16::Le);
    }
    if head.starts_with(&[0xfe, 0xff]) {
        return Some(Utf16::Be);
    }
    let pairs = head.len() / 2;
    // Latin text in UTF-16 is half NULs: without one, it is not that.
    if pairs < 8 || memchr::memchr(0, head).is_none() {
        return None;
    }
    let nul = |parity: usize| head.iter().skip(parity).step_by(2).take(pairs).filter(|b| **b == 0).count();
    let (even, odd) = (nul(0), nul(1));
    let most = |n: usize| n * 10 >= pairs * 9;
    let few = |n: usize| n * 10 <= pairs;
    if most(odd) && few(even) {
        Some(Utf16::Le)
    } else if most(even) && few(odd) {
        Some(Utf16::Be)
    } else {
        None
    }
}

/// A reader that gives at most `limit` bytes and then says (in `cut`)
/// that there was more.
pub struct Bounded<R> {
    inner: R,
    left: u64,
    cut: Arc<AtomicBool>,
}

impl<R: Read> Bounded<R> {
    pub fn new(inner: R, limit: u64, cut: Arc<AtomicBool>) -> Bounded<R> {
        Bounded { inner, left: limit, cut }
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            // One more byte tells whether the limit cut anything.
            let mut probe = [0u8; 1];
            if self.inner.read(&mut probe)? > 0 {
                self.cut.store(true, Ordering::Relaxed);
            }
            return Ok(0);
        }
        let n = buf.len().min(self.left as usize);
        let got = self.inner.read(&mut buf[..n])?;
        self.left -= got as u64;
        Ok(got)
    }
}

/// The most a gzip stream of `size` bytes may decompress to.
pub fn gzip_limit(size: u64) -> u64 {
    size.saturating_mul(MAX_GZIP_RATIO).clamp(MIN_GZIP_OUT, MAX_GZIP_OUT)
}

/// `reader` decompressed, bounded by [`gzip_limit`]; `cut` is set when the
/// bound left something unread.
pub fn gunzip<'a>(reader: impl Read + 'a, size: u64, cut: Arc<AtomicBool>) -> Box<dyn Read + 'a> {
    let limit = gzip_limit(size);
    Box::new(Bounded::new(flate2::read::MultiGzDecoder::new(io::BufReader::new(reader)), limit, cut))
}

/// UTF-16 `reader` as UTF-8 (a byte-order mark is dropped, malformed units
/// become U+FFFD).
pub fn from_utf16<'a>(reader: impl Read + 'a, order: Utf16) -> Box<dyn Read + 'a> {
    let encoding = match order {
        Utf16::Le => encoding_rs::UTF_16LE,
        Utf16::Be => encoding_rs::UTF_16BE,
    };
    Box::new(encoding_rs_io::DecodeReaderBytesBuilder::new().encoding(Some(encoding)).bom_override(true).build(reader))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16le(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
    }

    #[test]
    fn utf16_is_known_by_bom_or_nul_pattern() {
        let text = "AWS_ACCESS_KEY_ID=AKIA2OGYBAH6STMMNXNN\r\n";
        assert_eq!(utf16(&utf16le(text)), Some(Utf16::Le));
        let be: Vec<u8> = text.encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
        assert_eq!(utf16(&be), Some(Utf16::Be));
        assert_eq!(utf16(&[0xff, 0xfe, b'x']), Some(Utf16::Le));
        assert_eq!(utf16(text.as_bytes()), None);
        let elf: Vec<u8> = (0..4096u32).map(|i| if i % 3 == 0 { 0 } else { (i % 200) as u8 }).collect();
        assert_eq!(utf16(&elf), None, "NULs at both parities");
    }

    #[test]
    fn utf16_decodes_to_utf8() {
        let mut bytes = vec![0xff, 0xfe];
        bytes.extend(utf16le("clé=AKIA2OGYBAH6STMMNXNN\n"));
        let mut out = String::new();
        from_utf16(&bytes[..], Utf16::Le).read_to_string(&mut out).unwrap();
        assert_eq!(out, "clé=AKIA2OGYBAH6STMMNXNN\n");
    }

    #[test]
    fn gzip_is_decoded_within_its_bound() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&vec![b'a'; 1 << 20]).unwrap();
        let bytes = gz.finish().unwrap();
        assert!(is_gzip(&bytes));
        let cut = Arc::new(AtomicBool::new(false));
        let mut out = Vec::new();
        gunzip(&bytes[..], bytes.len() as u64, cut.clone()).read_to_end(&mut out).unwrap();
        assert_eq!(out.len(), 1 << 20, "small streams may grow to 64 MiB");
        assert!(!cut.load(Ordering::Relaxed));
        assert_eq!(gzip_limit(1 << 20), 64 << 20);
        assert_eq!(gzip_limit(100 << 20), 1 << 30);
        let mut out = Vec::new();
        Bounded::new(&vec![b'a'; 100][..], 10, cut.clone()).read_to_end(&mut out).unwrap();
        assert_eq!(out.len(), 10);
        assert!(cut.load(Ordering::Relaxed), "the bound says it cut");
    }
}
