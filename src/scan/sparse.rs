//! Reading a file by its data extents: a hole (`SEEK_DATA`/`SEEK_HOLE`)
//! holds only NUL bytes, so a long one is read as a few NULs and skipped,
//! and the offsets and columns of what follows are shifted back to the file's.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;

use nix::unistd::{Whence, lseek};

use crate::scan::LocatedMatch;

/// Holes shorter than this are read as they are.
const MIN_HOLE: u64 = 1024 * 1024;

/// A hole seen by [`DataExtents`]: from `at` in the stream the scanner saw,
/// the file's offsets are `skipped` bytes further on.
#[derive(Clone, Copy, Debug)]
struct Skip {
    at: u64,
    skipped: u64,
}

/// A reader of `file` from `start` to `end` that stands in for each hole of
/// at least [`MIN_HOLE`] bytes with `gap` NULs (enough that no match spans
/// it). Where the file system cannot say where data is, it reads everything.
pub struct DataExtents<'f> {
    file: &'f File,
    /// Next offset in the file.
    pos: u64,
    end: u64,
    /// Offset in the stream handed out.
    stream: u64,
    gap: u64,
    /// NULs still to hand out for the current hole.
    nuls: u64,
    /// Where the current data extent ends (a hole starts), if known.
    data_end: Option<u64>,
    skips: Vec<Skip>,
    extents_known: bool,
}

impl<'f> DataExtents<'f> {
    /// `start` is both the file offset and the stream offset the reader begins at.
    pub fn new(file: &'f File, start: u64, end: u64, gap: usize) -> DataExtents<'f> {
        DataExtents {
            file,
            pos: start,
            end,
            stream: start,
            gap: gap as u64,
            nuls: 0,
            data_end: None,
            skips: Vec::new(),
            // Too short to hold a hole worth skipping: read it as it is, no lseek.
            extents_known: end.saturating_sub(start) >= MIN_HOLE,
        }
    }

    /// How many bytes of holes were skipped.
    pub fn skipped(&self) -> u64 {
        self.skips.last().map_or(0, |s| s.skipped)
    }

    /// The file's offset for stream offset `at`.
    fn file_offset(&self, at: u64) -> u64 {
        let i = self.skips.partition_point(|s| s.at <= at);
        at + if i == 0 { 0 } else { self.skips[i - 1].skipped }
    }

    /// Moves matches found in the stream to the file's offsets and columns
    /// (holes hold no line separator, so lines are right already).
    pub fn place(&self, matches: &mut [LocatedMatch]) {
        if self.skips.is_empty() {
            return;
        }
        for m in matches {
            let line_start = m.offset - (m.column - 1);
            let real = self.file_offset(m.offset);
            m.column += (real - m.offset) - (self.file_offset(line_start) - line_start);
            m.offset = real;
        }
    }

    /// Where the next data is at or after `self.pos`, and where it ends.
    fn locate(&mut self) {
        if !self.extents_known || self.data_end.is_some_and(|e| e > self.pos) {
            return;
        }
        let file = self.file;
        let seek = |pos: u64, whence| lseek(file, pos as i64, whence).map(|o| o as u64);
        match seek(self.pos, Whence::SeekData) {
            Ok(data) if data >= self.pos + MIN_HOLE => self.skip_to(data.min(self.end)),
            Ok(_) => {}
            // No data after pos: the rest is a hole.
            Err(nix::errno::Errno::ENXIO) if self.end >= self.pos + MIN_HOLE => self.skip_to(self.end),
            Err(nix::errno::Errno::ENXIO) => {}
            Err(_) => {
                self.extents_known = false;
                return;
            }
        }
        self.data_end = match seek(self.pos, Whence::SeekHole) {
            Ok(hole) if hole > self.pos => Some(hole),
            Ok(_) | Err(_) => None,
        };
    }

    fn skip_to(&mut self, data: u64) {
        let hole = data - self.pos;
        let gap = self.gap.min(hole);
        let skipped = self.skipped() + (hole - gap);
        self.skips.push(Skip { at: self.stream + gap, skipped });
        self.nuls = gap;
        self.pos = data;
        self.data_end = None;
    }
}

impl Read for DataExtents<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.nuls > 0 {
            let n = (self.nuls as usize).min(buf.len());
            buf[..n].fill(0);
            self.nuls -= n as u64;
            self.stream += n as u64;
            return Ok(n);
        }
        if self.pos >= self.end {
            return Ok(0);
        }
        self.locate();
        if self.nuls > 0 {
            return self.read(buf);
        }
        let stop = self.data_end.unwrap_or(self.end).min(self.end).max(self.pos + 1);
        let want = ((stop - self.pos) as usize).min(buf.len());
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        self.pos += n as u64;
        self.stream += n as u64;
        if n == 0 {
            // The file ended before its size at open.
            self.end = self.pos;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sparse(parts: &[(u64, &[u8])], len: u64) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        f.as_file().set_len(len).unwrap();
        for (at, bytes) in parts {
            f.as_file().write_all_at(bytes, *at).unwrap();
        }
        f
    }

    #[test]
    fn holes_are_skipped_and_offsets_mapped_back() {
        let len = 64 << 20;
        let f = sparse(&[(0, b"head\n"), (40 << 20, b"middle"), (len - 4, b"tail")], len);
        let file = f.reopen().unwrap();
        let mut r = DataExtents::new(&file, 0, len, 16);
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        // Where the file system reports extents (ext4, xfs, tmpfs, btrfs) almost nothing of the holes is read.
        if r.skipped() > 0 {
            assert!(out.len() < (1 << 20) * 3, "{} bytes read", out.len());
            let at = memchr::memmem::find(&out, b"middle").unwrap() as u64;
            assert_eq!(r.file_offset(at), 40 << 20);
            let at = memchr::memmem::find(&out, b"tail").unwrap() as u64;
            assert_eq!(r.file_offset(at), len - 4);
        } else {
            assert_eq!(out.len() as u64, len);
        }
        assert!(out.starts_with(b"head\n") && out.ends_with(b"tail"));
    }
}
