//! The instance's user data, which IMDS serves to every local process:
//! matched like a file after decoding what cloud-init would decode (a gzip
//! stream; MIME multipart parts in base64, each maybe gzip), and located as
//! `imds:user-data`.

use std::io::Read;

use zeroize::Zeroizing;

use crate::coverage::{Coverage, GapReason};
use crate::location::Location;
use crate::matcher::Matcher;
use crate::scan::decode;
use crate::scan::pair::{self, Context, Sighting};
use crate::scan::{ChunkScanner, LocatedMatch, MAX_MATCHES_PER_INPUT, PAIR_LINES};

/// Decoded user data is read up to this size (IMDS serves at most 64 KiB).
const MAX_DECODED: u64 = 4 * 1024 * 1024;
/// MIME parts nest at most this deep.
const MAX_DEPTH: u32 = 3;
const MAX_PARTS: usize = 64;

/// Matches the user data and its parts.
pub fn scan(data: &[u8], matcher: &Matcher, chunk: usize, coverage: &mut Coverage) -> Vec<Sighting> {
    let mut parts: Vec<Zeroizing<Vec<u8>>> = Vec::new();
    collect(data, 0, &mut parts);
    let mut scanner = ChunkScanner::new(matcher, chunk);
    let mut matches: Vec<LocatedMatch> = Vec::new();
    let mut out = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        matches.clear();
        let stats = scanner.scan(&part[..], b'\n', &mut matches);
        coverage.bytes_scanned += stats.bytes;
        coverage.ignored.add(stats.ignored);
        if stats.dropped_matches > 0 {
            let detail = format!("{} matches past the first {MAX_MATCHES_PER_INPUT} not kept", stats.dropped_matches);
            coverage.gap("imds:user-data".into(), GapReason::TooManyMatches, detail);
        }
        let part = i as u32;
        let locate = |m: &LocatedMatch| Location::ImdsUserData { part, line: m.line, column: m.column };
        let (found, tokens) = pair::pair(&matches, PAIR_LINES, Context::Bytes(&parts[i]), &locate);
        coverage.ignored.unpaired_tokens += tokens;
        out.extend(found);
    }
    out
}

/// The whole (decoded) user data first, then each MIME part, decoded.
fn collect(data: &[u8], depth: u32, out: &mut Vec<Zeroizing<Vec<u8>>>) {
    if out.len() >= MAX_PARTS {
        return;
    }
    let data = if decode::is_gzip(data) { gunzip(data) } else { Zeroizing::new(data.to_vec()) };
    let boundary = (depth < MAX_DEPTH).then(|| multipart_boundary(&data)).flatten();
    out.push(data.clone());
    let Some(boundary) = boundary else { return };
    let delimiter = format!("--{boundary}");
    let text = &data[..];
    let mut pieces = split(text, delimiter.as_bytes());
    // Before the first delimiter: the preamble (the whole document's headers).
    pieces.remove(0);
    for piece in pieces {
        if piece.starts_with(b"--") {
            break;
        }
        let (headers, body) = split_headers(piece);
        let headers = String::from_utf8_lossy(headers).to_ascii_lowercase();
        let body = if headers.contains("content-transfer-encoding: base64") {
            let clean: Vec<u8> = body.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
            match data_encoding::BASE64.decode(&clean) {
                Ok(decoded) => Zeroizing::new(decoded),
                Err(_) => Zeroizing::new(body.to_vec()),
            }
        } else {
            Zeroizing::new(body.to_vec())
        };
        collect(&body, depth + 1, out);
    }
}

/// `boundary=...` of a `Content-Type: multipart/...` header in the first lines.
fn multipart_boundary(data: &[u8]) -> Option<String> {
    let head = String::from_utf8_lossy(&data[..data.len().min(4096)]);
    let (headers, _) = head.split_once("\n\n").or_else(|| head.split_once("\r\n\r\n"))?;
    let lower = headers.to_ascii_lowercase();
    let at = lower.find("content-type:")?;
    if !lower[at..].trim_start_matches("content-type:").trim_start().starts_with("multipart/") {
        return None;
    }
    let b = lower[at..].find("boundary=")? + at + "boundary=".len();
    let value = &headers[b..];
    let value = value.strip_prefix('"').map_or_else(
        || value.split(|c: char| c.is_whitespace() || c == ';').next().unwrap_or(""),
        |v| v.split('"').next().unwrap_or(""),
    );
    (!value.is_empty()).then(|| value.to_string())
}

fn split<'a>(data: &'a [u8], delimiter: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(i) = memchr::memmem::find(rest, delimiter) {
        out.push(&rest[..i]);
        rest = &rest[i + delimiter.len()..];
    }
    out.push(rest);
    out
}

/// A MIME part's headers and body, split at the first empty line.
fn split_headers(part: &[u8]) -> (&[u8], &[u8]) {
    let part = part.strip_prefix(b"\r\n").or_else(|| part.strip_prefix(b"\n")).unwrap_or(part);
    for sep in [&b"\r\n\r\n"[..], &b"\n\n"[..]] {
        if let Some(i) = memchr::memmem::find(part, sep) {
            return (&part[..i], &part[i + sep.len()..]);
        }
    }
    (&[], part)
}

fn gunzip(data: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::new());
    let cut = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = decode::gunzip(data, MAX_DECODED / decode::MAX_GZIP_RATIO, cut);
    if reader.take(MAX_DECODED).read_to_end(&mut out).is_err() && out.is_empty() {
        return Zeroizing::new(data.to_vec());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_parts_are_decoded() {
        let script = b"#!/bin/sh\nexport AWS_ACCESS_KEY_ID=AKIA2OGYBAH6STMMNXNN\n";
        let b64 = data_encoding::BASE64.encode(script);
        let doc = format!(
            "Content-Type: multipart/mixed; boundary=\"==BOUNDARY==\"\nMIME-Version: 1.0\n\n--==BOUNDARY==\n\
             Content-Type: text/cloud-config\n\n#cloud-config\nruncmd: []\n--==BOUNDARY==\nContent-Type: text/x-shellscript\n\
             Content-Transfer-Encoding: base64\n\n{b64}\n--==BOUNDARY==--\n"
        );
        let mut parts = Vec::new();
        collect(doc.as_bytes(), 0, &mut parts);
        assert_eq!(parts.len(), 3);
        assert!(parts[1].starts_with(b"#cloud-config"));
        assert_eq!(&parts[2][..], script);
    }
}
