//! Renders host-controlled strings (paths, command lines) safely: bytes that
//! are not UTF-8 become `\xNN`, and for terminals control characters are
//! escaped so that a hostile file name cannot drive the terminal.

use std::fmt::Write;
use std::path::Path;

/// A path as text: valid UTF-8 is kept, every other byte becomes `\xNN`.
pub fn path(p: &Path) -> String {
    bytes(p.as_os_str().as_encoded_bytes())
}

/// A path for a terminal or a log line: [`path`], then [`terminal`].
pub fn shown(p: &Path) -> String {
    terminal(&path(p))
}

/// Bytes as text: valid UTF-8 is kept, every other byte becomes `\xNN`.
pub fn bytes(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    for chunk in b.utf8_chunks() {
        out.push_str(chunk.valid());
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02X}");
        }
    }
    out
}

/// Text for a terminal: C0 and C1 controls, DEL and bidirectional overrides
/// are written as `\u{..}` escapes.
pub fn terminal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let bidi = matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}');
        if c.is_control() || bidi {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// `s` cut to at most `max` bytes on a character boundary, with `...` at
/// the end when something was cut (the dots count towards `max`).
pub fn cut(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if s.len() <= max {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut end = max.saturating_sub(3);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    std::borrow::Cow::Owned(format!("{}...", &s[..end]))
}

/// The first `n` characters of `s` (never cutting one in two).
pub fn prefix(s: &str, n: usize) -> &str {
    s.char_indices().nth(n).map_or(s, |(i, _)| &s[..i])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn invalid_utf8_is_escaped() {
        let p = Path::new(OsStr::from_bytes(b"/tmp/caf\xe9 dir/x"));
        assert_eq!(path(p), "/tmp/caf\\xE9 dir/x");
    }

    #[test]
    fn cuts_fall_on_character_boundaries() {
        let s = "é".repeat(600);
        assert_eq!(cut(&s, 1024).len(), 1023);
        assert!(cut(&s, 1024).ends_with("..."));
        assert_eq!(cut("short", 1024), "short");
        assert_eq!(prefix("ééé", 2), "éé");
        assert_eq!(prefix("ab", 12), "ab");
    }

    #[test]
    fn terminal_controls_are_escaped() {
        assert_eq!(terminal("a\x1b[31mb\n\u{202E}c"), "a\\u{1b}[31mb\\u{a}\\u{202e}c");
        assert_eq!(terminal("plain/ünïcode path"), "plain/ünïcode path");
    }
}
